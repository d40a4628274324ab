"""What one email says, and the wording every notice shares (pure: no server, no I/O).

Dates shown to people are the authority's plain days (Asia/Shanghai): a window or a term
that ends on a day ends at 24:00 Beijing time on it, so a UTC instant is never formatted
as a date here (late evening UTC is already the next day in Beijing).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from services.notifier.i18n import N_, Term, Text
from shared.domain.catalog import Catalog
from shared.domain.deadlines import last_day
from shared.domain.models import DEFAULT_LANGUAGE

# Message ids: the templates and subjects translate them in the recipient's language.
WINDOWS = {
    "additional_materials": N_("additional materials"),
    "rectification": N_("rectification"),
    "renewal": N_("renewal"),
    "processing": N_("processing"),
}
WINDOW_TITLES = {
    "additional_materials": N_("Additional materials"),
    "rectification": N_("Rectification"),
    "renewal": N_("Renewal"),
    "processing": N_("Processing"),
}
ANY_EXPORTER = N_("your company")
# The statuses a notice names in its text ("now recorded as ..."), spaced as shown.
STATUSES = (N_("failed"), N_("not accepted"), N_("refused"))


# The heading of the missing list of an email sent once its window, application or
# registration has closed: what was missing then, and no way to send it (nothing sent helps).
MISSING_WHEN_WINDOW_CLOSED = N_("Missing when the window closed:")
MISSING_WHEN_REFUSED = N_("Missing when the application was refused:")
MISSING_WHEN_EXPIRED = N_("Missing when the registration expired:")


# The subject of an email about an application's window once the category's regime ended for
# good (the authority's request, its reminders): no registration can come of it any more.
NOTHING_TO_SEND = N_(
    "Nothing to send for application {application} ({exporter}):"
    " the registration regime of its category has ended"
)


# Emails that ask the exporter to act on an application: the advice of its latest check
# (read when the email is made, so it is true when sent) goes with them.
ADVISED_TEMPLATES = frozenset({"window_opened", "window_due", "renewal_due"})


class IncompleteEvent(ValueError):
    """The event lacks what its email must state; sending it vaguer would mislead."""


class RegimeEnded(BaseModel):
    """The registration regime of a notice's category ended for good before the day the
    notice is made (scrap after the solid-waste ban): nothing can be applied for or renewed
    in it, so no notice may send the exporter to apply again."""

    last_day: date  # the regime's last day in force
    reason: str | None = None  # the catalog's ``closed_reason``, as the catalog words it


def regime_ended(catalog: Catalog, category: str | None, today: date) -> RegimeEnded | None:
    """What the catalog says of ``category``'s ended regime on ``today`` (a Beijing day)."""
    closed = catalog.closed_regime_for(category, today) if category else None
    if closed is None or closed.in_force_until is None:
        return None
    reason = closed.closed_reason.strip() if closed.closed_reason else None
    return RegimeEnded(last_day=closed.in_force_until, reason=reason)


class RegimeEnding(BaseModel):
    """The end for good of a notice's category's regime was announced and has not come yet
    on the day the notice is made (scrap between the solid-waste ban's announcement and the
    ban): no registration, new or renewed, carries exports beyond its last day, so no notice
    may promise exports after it nor send the exporter to apply for them."""

    last_day: date  # the regime's last day in force
    notice: str | None = None  # the catalog's ``closure.notice``, as the catalog words it


def regime_ending(catalog: Catalog, category: str | None, today: date) -> RegimeEnding | None:
    """What the catalog announced of ``category``'s regime's end, on ``today`` (Beijing) from
    the announcement to the regime's last day."""
    closing = catalog.closing_regime_for(category, today) if category else None
    if closing is None or closing.closure is None or closing.in_force_until is None:
        return None
    return RegimeEnding(last_day=closing.in_force_until, notice=closing.closure.notice.strip())


class Notice(BaseModel):
    """Everything one email says; the templates only lay it out."""

    template: str
    subject: Text  # worded in each recipient's language when the email is composed
    exporter_name: str
    category: str | None = None  # the catalog's category id
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
    # Set by the notices sent once their window, application or registration has closed:
    # the heading of ``missing``, then a record of what was missing, with no way to send it.
    missing_at_close: str | None = None
    # The latest check's warnings (advisory content rules): advice, never blocking.
    advice: list[str] = Field(default_factory=list)
    new_status: str | None = None
    reason: str | None = None
    not_renewable_from: date | None = None
    # Set when the notice is made: the category's regime has ended for good by that day.
    regime_ended: RegimeEnded | None = None
    # Set when the notice is made: the category's regime will end for good, as announced.
    regime_ending: RegimeEnding | None = None
    recipients: list[str] = Field(default_factory=list)
    languages: dict[str, str] = Field(default_factory=dict)  # recipient -> language, else English

    @field_validator("subject", mode="before")
    @classmethod
    def _plain_subject(cls, value: Any) -> Any:
        return Text(message=value) if isinstance(value, str) else value

    def language_for(self, recipient: str) -> str:
        return self.languages.get(recipient, DEFAULT_LANGUAGE)


def exporter(name: str | None) -> str | Term:
    """The exporter as named, else "your company" in the recipient's language."""
    return name or Term(message=ANY_EXPORTER)


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
