from __future__ import annotations


def demo() -> None:
    """Not built yet."""
    raise SystemExit("regwatch demo: not built yet")
