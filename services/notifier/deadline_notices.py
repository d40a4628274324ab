"""The emails of the scheduler's ``deadline.*`` and ``registration.expired`` events (pure).

One small function per event type, looked up in ``DEADLINE_NOTICES``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from services.notifier.i18n import N_, Days, Term, Text, lazy
from services.notifier.notices import (
    ANY_EXPORTER,
    MISSING_WHEN_EXPIRED,
    MISSING_WHEN_WINDOW_CLOSED,
    NOTHING_TO_SEND,
    WINDOW_TITLES,
    WINDOWS,
    Notice,
    RegimeEnded,
    exporter,
    plain_day,
    required,
    unique,
)
from shared.domain.deadlines import WINDOW_NAMES, last_day
from shared.domain.events import DeadlineEvent

# Told to ops, not to the exporter: the authority is late, not the exporter.
OPS_EVENTS = frozenset({"deadline.processing_overdue"})


def _exporter(d: DeadlineEvent) -> str | Term:
    return exporter(d.exporter_name)


def _number(d: DeadlineEvent) -> str:
    """The registration number (the subject of renewal and expiry deadlines)."""
    return d.registration_number or d.subject


def _application(d: DeadlineEvent) -> str:
    return d.application_id or d.subject


def _due_on(d: DeadlineEvent) -> date:
    return d.due_on or last_day(d.due_at)


def _valid_until(d: DeadlineEvent) -> date | None:
    return plain_day(d.valid_until, d.expires_at)


def _notice(d: DeadlineEvent, template: str, subject: Text, **fields: Any) -> Notice:
    common: dict[str, Any] = {
        "exporter_name": d.exporter_name or ANY_EXPORTER,
        "product": d.product,
        "application_id": d.application_id,
        "registration_number": d.registration_number,
        "window": WINDOW_NAMES.get(d.kind, d.kind),
        "due_on": _due_on(d),
        "days_left": d.days_left,
        "valid_until": _valid_until(d),
        "missing": d.missing,
        "new_status": d.application_status,
        "recipients": unique(d.contact_emails),
    }
    return Notice(template=template, subject=subject, **(common | fields))


def renewal_window_opens(d: DeadlineEvent) -> Notice:
    opens_on = required(d.opens_on, "opens_on", "deadline.renewal_window_opens")
    subject = lazy(
        "Renewal window opens on {day}: {exporter}, registration {number}",
        day=opens_on,
        exporter=_exporter(d),
        number=_number(d),
    )
    # Nothing can be filed yet: no countdown, no "still missing, send it" list.
    return _notice(
        d,
        "renewal_window_opens",
        subject,
        registration_number=_number(d),
        opens_on=opens_on,
        days_left=None,
        documents=d.renewal_documents,
        missing=[],
    )


def renewal_due(d: DeadlineEvent) -> Notice:
    subject = lazy(
        "Renewal due in {days}: {exporter}, registration {number} (by {day})",
        days=Days(n=d.days_left),
        exporter=_exporter(d),
        number=_number(d),
        day=_due_on(d),
    )
    return _notice(d, "renewal_due", subject, registration_number=_number(d))


def expiry_due(d: DeadlineEvent) -> Notice:
    valid_until = _valid_until(d) or _due_on(d)  # the expiry watch ends with the term
    message = (
        N_("Registration expires in {days}: {exporter}, registration {number} (on {day})")
        if d.renewable
        else N_(
            "Registration expires in {days} and cannot be renewed: {exporter},"
            " registration {number} (on {day})"
        )
    )
    subject = lazy(
        message,
        days=Days(n=d.days_left),
        exporter=_exporter(d),
        number=_number(d),
        day=valid_until,
    )
    return _notice(
        d,
        "expiry_due",
        subject,
        registration_number=_number(d),
        due_on=None,
        valid_until=valid_until,
        reason=None if d.renewable else d.not_renewable_reason,
        not_renewable_from=None if d.renewable else d.not_renewable_from,
    )


def window_due(d: DeadlineEvent) -> Notice:
    subject = lazy(
        "{window} due in {days}: {exporter}, application {application} (by {day})",
        window=Term(message=WINDOW_TITLES.get(d.kind, d.kind)),
        days=Days(n=d.days_left),
        exporter=_exporter(d),
        application=_application(d),
        day=_due_on(d),
    )
    return _notice(d, "window_due", subject, application_id=_application(d))


def window_due_after_regime_ended(d: DeadlineEvent) -> Notice:
    """The reminder of a window left open when the category's regime ended for good: no
    registration can come of the application any more, so it asks for nothing."""
    subject = lazy(NOTHING_TO_SEND, application=_application(d), exporter=_exporter(d))
    # No countdown: nothing is to be done by the window's last day.
    return _notice(d, "window_due", subject, application_id=_application(d), days_left=None)


def missed(d: DeadlineEvent) -> Notice:
    if d.kind == "renewal":
        subject = lazy(
            "Deadline missed: the renewal window for registration {number} closed on {day}",
            number=_number(d),
            day=_due_on(d),
        )
        return _notice(
            d,
            "renewal_missed",
            subject,
            registration_number=_number(d),
            missing_at_close=MISSING_WHEN_WINDOW_CLOSED,
        )
    subject = lazy(
        "Deadline missed: the {window} window for application {application} closed on {day}",
        window=Term(message=WINDOWS.get(d.kind, d.kind)),
        application=_application(d),
        day=_due_on(d),
    )
    return _notice(
        d,
        "missed",
        subject,
        application_id=_application(d),
        missing_at_close=MISSING_WHEN_WINDOW_CLOSED,
    )


def expired(d: DeadlineEvent) -> Notice:
    valid_until = _valid_until(d) or _due_on(d)  # the expiry watch ends with the term
    subject = lazy(
        "Registration expired: {exporter}, registration {number} (on {day})",
        exporter=_exporter(d),
        number=_number(d),
        day=valid_until,
    )
    return _notice(
        d,
        "expired",
        subject,
        registration_number=_number(d),
        due_on=None,
        valid_until=valid_until,
        missing_at_close=MISSING_WHEN_EXPIRED,
    )


def processing_overdue(d: DeadlineEvent) -> Notice:
    message = (
        N_(
            "Processing overdue: registration {reference} of {exporter} has had no decision since {day}"
        )
        if d.registration_number
        else N_(
            "Processing overdue: application {reference} of {exporter} has had no decision since {day}"
        )
    )
    subject = lazy(
        message,
        reference=d.registration_number or _application(d),
        exporter=_exporter(d),
        day=_due_on(d),
    )
    return _notice(d, "processing_overdue", subject)


DEADLINE_NOTICES: dict[str, Callable[[DeadlineEvent], Notice]] = {
    "deadline.renewal_window_opens": renewal_window_opens,
    "deadline.renewal_due": renewal_due,
    "deadline.expiry_due": expiry_due,
    "deadline.additional_materials_due": window_due,
    "deadline.rectification_due": window_due,
    "deadline.missed": missed,
    "registration.expired": expired,
    "deadline.processing_overdue": processing_overdue,
}
# Where the email differs once the category's regime has ended for good (scrap after the
# solid-waste ban): what asked the exporter for something asks for nothing.
AFTER_REGIME_ENDED: dict[str, Callable[[DeadlineEvent], Notice]] = {
    "deadline.additional_materials_due": window_due_after_regime_ended,
    "deadline.rectification_due": window_due_after_regime_ended,
}


def deadline_notice(
    event_type: str, d: DeadlineEvent, ops_email: str, ended: RegimeEnded | None = None
) -> Notice:
    """The email of a ``deadline.*`` or ``registration.expired`` event; ``ended``: the
    category's regime ended for good before the day the email is made."""
    build = DEADLINE_NOTICES[event_type]
    if ended is not None:
        build = AFTER_REGIME_ENDED.get(event_type, build)
    notice = build(d)
    notice.regime_ended = ended
    if event_type in OPS_EVENTS:
        notice.recipients = [ops_email]
    return notice
