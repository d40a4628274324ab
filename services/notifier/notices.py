"""What one email says, and the wording every notice shares (pure: no server, no I/O).

Dates shown to people are the authority's plain days (Asia/Shanghai): a window or a term
that ends on a day ends at 24:00 Beijing time on it, so a UTC instant is never formatted
as a date here (late evening UTC is already the next day in Beijing).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.domain.deadlines import last_day

ANY_EXPORTER = "your company"


class IncompleteEvent(ValueError):
    """The event lacks what its email must state; sending it vaguer would mislead."""


class Notice(BaseModel):
    """Everything one email says; the templates only lay it out."""

    template: str
    subject: str
    exporter_name: str
    product: str | None = None
    application_id: str | None = None
    registration_number: str | None = None
    window: str | None = None
    opens_on: date | None = None  # renewals: the window's first day
    due_on: date | None = None  # the window's last day
    days_left: int | None = None
    valid_until: date | None = None  # the registration's last valid day
    documents: list[str] = Field(default_factory=list)  # what a renewal will need
    missing: list[str] = Field(default_factory=list)  # what the latest check found missing
    new_status: str | None = None
    reason: str | None = None
    not_renewable_from: date | None = None
    recipients: list[str] = Field(default_factory=list)


def day(value: date | None) -> str:
    """A plain date as people read it: ``31 May 2027``."""
    return f"{value:%d %B %Y}" if value else ""


def days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def plain_day(given: date | None, instant: datetime | None) -> date | None:
    """The payload's plain day, else the Beijing day a window ending at ``instant`` ends on."""
    if given is not None:
        return given
    return last_day(instant) if instant is not None else None


def required(value: date | None, what: str, event: str) -> date:
    """``value``, which the email cannot do without."""
    if value is None:
        raise IncompleteEvent(f"{event} carries no {what}; the email would have to guess it")
    return value


def unique(emails: list[str]) -> list[str]:
    return list(dict.fromkeys(emails))
