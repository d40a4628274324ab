"""The one clock of regwatch. Nothing reads the system clock except through a Clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """Behaves as if the process started at ``start`` and time flows on from there."""

    def __init__(self, start: datetime) -> None:
        self._start = start.astimezone(UTC)
        self._started_monotonic = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._started_monotonic)


def clock_from(regwatch_now: datetime | None) -> Clock:
    """``REGWATCH_NOW`` set: a shifted clock starting there; otherwise the system clock."""
    return ShiftedClock(regwatch_now) if regwatch_now is not None else SystemClock()
