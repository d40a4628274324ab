from __future__ import annotations


def status() -> None:
    """Not built yet."""
    raise SystemExit("regwatch status: not built yet")
