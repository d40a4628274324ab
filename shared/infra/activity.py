"""What a process did in the last minute, as one log line: documents, evaluations,
reminders, emails, errors.

The outbox relay bumps a kind per event it publishes and a logging handler counts error
records; ``report_activity`` logs and resets the counts once a period.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

log = logging.getLogger("regwatch.activity")

# Published event types -> what a person calls them in the summary line.
KIND_OF_EVENT: dict[str, str] = {
    "document.received": "documents",
    "document.rejected": "documents refused",
    "application.validated": "evaluations",
    "notification.sent": "emails",
    "notification.failed": "emails failed",
}
ORDER = ("documents", "documents refused", "evaluations", "reminders", "emails", "emails failed")


def kind_of(event_type: str) -> str:
    """The summary's word for a published event type."""
    if event_type.startswith("deadline."):
        return "reminders"
    return KIND_OF_EVENT.get(event_type, "other events")


class Activity:
    """Counts of what this process handled since the last summary."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def bump(self, kind: str, n: int = 1) -> None:
        self._counts[kind] += n

    def event_published(self, event_type: str) -> None:
        self.bump(kind_of(event_type))

    def take(self) -> Counter[str]:
        """The counts so far, resetting them."""
        counts, self._counts = self._counts, Counter()
        return counts


def summary(counts: Counter[str], minutes: float = 1.0) -> str:
    """One plain line: ``last minute: 3 documents, 3 evaluations, 0 errors``."""
    period = "last minute" if minutes == 1 else f"last {minutes:g} minutes"
    kinds = sorted(counts, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))
    parts = [f"{counts[k]} {k}" for k in kinds if k != "errors" and counts[k]]
    parts.append(f"{counts['errors']} errors")
    return f"{period}: " + ", ".join(parts)


class ErrorCounter(logging.Handler):
    """Counts every ERROR (and worse) record into ``activity``."""

    def __init__(self, activity: Activity) -> None:
        super().__init__(level=logging.ERROR)
        self._activity = activity

    def emit(self, record: logging.LogRecord) -> None:
        self._activity.bump("errors")


ACTIVITY = Activity()


async def report_activity(every: float = 60.0, activity: Activity = ACTIVITY) -> None:
    """Log one summary line every ``every`` seconds until cancelled."""
    while True:
        await asyncio.sleep(every)
        log.info(summary(activity.take(), every / 60))
