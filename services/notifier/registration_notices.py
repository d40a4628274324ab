"""The emails of ``registration.status_changed`` (pure), looked up by the move's trigger.

Only the moves an exporter must act on or must know are told. The others say nothing new:
``window_opened`` (the opening notice and the reminders say it), ``renewal_filed`` (the
exporter filed it), ``renewal_granted`` (the renewal's certificate email says it) and
``term_ended`` (``registration.expired`` says it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.notifier.i18n import N_, Term, Text, lazy
from services.notifier.notices import ANY_EXPORTER, Notice, exporter, required, unique
from shared.domain.events import RegistrationStatusChanged

EVENT = "registration.status_changed"


def _exporter(c: RegistrationStatusChanged) -> str | Term:
    return exporter(c.exporter_name)


def _notice(c: RegistrationStatusChanged, template: str, subject: Text, **fields: Any) -> Notice:
    common: dict[str, Any] = {
        "exporter_name": c.exporter_name or ANY_EXPORTER,
        "category": c.category,
        "product": c.product,
        "application_id": c.application_id,
        "registration_number": c.registration_number,
        "valid_until": c.valid_until,
        "reason": c.reason,
        "new_status": c.to_status,
        "recipients": unique(c.contact_emails),
    }
    return Notice(template=template, subject=subject, **(common | fields))


def renewal_rejected(c: RegistrationStatusChanged) -> Notice:
    closes_on = required(c.window_closes_on, "window_closes_on", f"{EVENT} ({c.trigger})")
    subject = lazy(
        "Renewal not accepted, the window is open until {day}: {exporter}, registration {number}",
        day=closes_on,
        exporter=_exporter(c),
        number=c.registration_number,
    )
    return _notice(c, "renewal_rejected", subject, window="renewal", due_on=closes_on)


def renewal_rejected_late(c: RegistrationStatusChanged) -> Notice:
    subject = lazy(
        "Renewal not accepted, registration {number} expires on {day}: {exporter}",
        number=c.registration_number,
        day=c.valid_until,
        exporter=_exporter(c),
    )
    return _notice(c, "renewal_rejected_late", subject, window="renewal", due_on=c.window_closes_on)


def _simple(template: str, headline: str) -> Callable[[RegistrationStatusChanged], Notice]:
    def notice(c: RegistrationStatusChanged) -> Notice:
        subject = lazy(headline, exporter=_exporter(c), number=c.registration_number)
        return _notice(c, template, subject)

    return notice


REGISTRATION_NOTICES: dict[str, Callable[[RegistrationStatusChanged], Notice]] = {
    "renewal_rejected": renewal_rejected,
    "renewal_rejected_late": renewal_rejected_late,
    "suspended": _simple(
        "registration_suspended", N_("Registration suspended: {exporter}, registration {number}")
    ),
    "cancelled": _simple(
        "registration_cancelled", N_("Registration cancelled: {exporter}, registration {number}")
    ),
    "reinstated": _simple(
        "registration_reinstated",
        N_("Registration reinstated: {exporter}, registration {number}"),
    ),
}


def registration_notice(change: RegistrationStatusChanged) -> Notice | None:
    """The email of a registration's move, or None when the move is told elsewhere."""
    notice = REGISTRATION_NOTICES.get(change.trigger)
    return notice(change) if notice is not None else None
