"""`make run` starts every service: the Procfile names each one that has an entry point."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_procfile_starts_every_service() -> None:
    services = {
        p.parent.name for p in (ROOT / "services").glob("*/__main__.py") if p.parent.name != "cli"
    }
    commands = {
        line.split(":", 1)[0]: line.split(":", 1)[1].strip()
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip()
    }
    assert set(commands) == services
    for name, command in commands.items():
        # exec: the service itself gets the stop signal and its exit status (0) is reported.
        assert command == f"exec python -m services.{name}"
