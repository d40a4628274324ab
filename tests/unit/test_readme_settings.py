"""Every setting a service reads is documented in the README's configuration table."""

from __future__ import annotations

from pathlib import Path

from shared.infra.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text()
    names = [(field.alias or name).upper() for name, field in Settings.model_fields.items()]
    missing = [name for name in names if name not in text]
    assert missing == []
