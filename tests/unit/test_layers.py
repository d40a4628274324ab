"""The layers hold: the domain is pure, the application layer serves every entry point, and
no entry point (a service, the CLI) imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_LIBRARIES = ("pymongo", "aio_pika", "faststream", "httpx", "aiosmtplib", "fastapi", "uvicorn")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("shared/domain"), ids=lambda p: p.name)
def test_the_domain_imports_no_io_library_and_no_settings(path: Path) -> None:
    for name in imports_of(path):
        assert not name.startswith(IO_LIBRARIES), f"{path.relative_to(ROOT)} imports {name}"
        assert not name.startswith(("shared.infra", "shared.app", "services")), (
            f"{path.relative_to(ROOT)} imports {name}: the domain depends on nothing above it"
        )


@pytest.mark.parametrize(
    "path", modules("shared/infra") + modules("shared/app"), ids=lambda p: p.name
)
def test_shared_never_imports_a_service(path: Path) -> None:
    for name in imports_of(path):
        assert not name.startswith("services"), f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("path", modules("services"), ids=lambda p: str(p.relative_to(ROOT)))
def test_an_entry_point_never_imports_another_service(path: Path) -> None:
    """The CLI and every service reach what others do through ``shared/`` only."""
    parts = path.relative_to(ROOT / "services").parts
    own = f"services.{parts[0]}" if len(parts) > 1 else "services"
    for name in imports_of(path):
        if name.startswith("services."):
            assert name == own or name.startswith(own + "."), (
                f"{path.relative_to(ROOT)} imports {name}: what both need belongs in shared/"
            )
