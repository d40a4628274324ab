"""The emails of ``application.status_changed`` (pure), looked up by the status reached.

New applications and renewals have tables of their own: a renewal that ends
``not_accepted`` or ``failed`` is told by the registration's ``renewal_rejected*`` email,
and one waiting for its window or under examination needs nothing from the exporter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.notifier.i18n import Term, Text, lazy
from services.notifier.notices import (
    ANY_EXPORTER,
    MISSING_WHEN_REFUSED,
    NOTHING_TO_SEND,
    WINDOW_TITLES,
    WINDOWS,
    Notice,
    RegimeEnded,
    exporter,
    unique,
)
from shared.domain.deadlines import last_day
from shared.domain.events import ApplicationStatusChanged
from shared.domain.models import Application

# The scheduler's own transitions (a missed window) are told by its deadline.missed notice.
QUIET_ACTORS = frozenset({"scheduler"})


@dataclass(frozen=True)
class ApplicationChange:
    """One status change with what the notifier knows around it."""

    change: ApplicationStatusChanged
    application: Application
    missing: list[str]  # from the latest check of the documents
    due_at: datetime | None  # the end of the window the status opened, if any
    days_left: int | None

    @property
    def exporter(self) -> str | Term:
        return exporter(self.application.exporter.name)

    @property
    def registration_number(self) -> str | None:
        return self.change.registration_number or self.application.registration_number

    @property
    def valid_until(self) -> date | None:
        return self.change.valid_until or self.application.registration_valid_until


def _notice(s: ApplicationChange, template: str, subject: Text, **fields: Any) -> Notice:
    common: dict[str, Any] = {
        "exporter_name": s.application.exporter.name or ANY_EXPORTER,
        "category": s.application.category,
        "product": s.application.product,
        "application_id": s.change.application_id,
        "registration_number": s.registration_number,
        "valid_until": s.valid_until,
        "missing": s.change.items or s.missing,
        "new_status": s.change.to_status,
        "reason": s.change.reason,
        "recipients": unique([str(e) for e in s.application.exporter.contact_emails]),
    }
    return Notice(template=template, subject=subject, **(common | fields))


def _window_kind(s: ApplicationChange) -> str:
    return s.change.to_status.removesuffix("_requested")


def _window_opened(s: ApplicationChange, subject: Text, days_left: int | None) -> Notice:
    return _notice(
        s,
        "window_opened",
        subject,
        window=WINDOWS[_window_kind(s)],
        due_on=last_day(s.due_at) if s.due_at else None,  # the Beijing last day, not UTC's
        days_left=days_left,
    )


def window_requested(s: ApplicationChange) -> Notice:
    subject = lazy(
        "{window} requested for application {application} ({exporter})",
        window=Term(message=WINDOW_TITLES[_window_kind(s)]),
        application=s.change.application_id,
        exporter=s.exporter,
    )
    return _window_opened(s, subject, s.days_left)


def window_requested_after_regime_ended(s: ApplicationChange) -> Notice:
    """The authority's request for a window on an application whose category's regime ended
    for good: no registration can come of the application any more, so it asks for nothing."""
    subject = lazy(NOTHING_TO_SEND, application=s.change.application_id, exporter=s.exporter)
    # No countdown: nothing is to be done by the window's last day.
    return _window_opened(s, subject, None)


def certificate_issued(s: ApplicationChange) -> Notice:
    subject = (
        lazy(
            "Certificate issued: {exporter}, registration {number}",
            exporter=s.exporter,
            number=s.registration_number,
        )
        if s.registration_number
        else lazy(
            "Certificate issued: {exporter}, registration number to follow", exporter=s.exporter
        )
    )
    # Granted: whatever a check still found missing is asked for no more.
    return _notice(s, "certificate_issued", subject, missing=[])


def failure_notice(s: ApplicationChange) -> Notice:
    subject = lazy(
        "Registration refused: application {application} ({exporter})",
        application=s.change.application_id,
        exporter=s.exporter,
    )
    return _notice(s, "failure_notice", subject, missing_at_close=MISSING_WHEN_REFUSED)


def renewal_refused(s: ApplicationChange) -> Notice:
    subject = lazy(
        "Renewal refused: application {application} ({exporter})",
        application=s.change.application_id,
        exporter=s.exporter,
    )
    return _notice(s, "renewal_refused", subject, missing=[])


StatusNotice = Callable[[ApplicationChange], Notice]
_WINDOWS: dict[str, StatusNotice] = {
    "additional_materials_requested": window_requested,
    "rectification_requested": window_requested,
}
NEW_APPLICATION_NOTICES: dict[str, StatusNotice] = {
    **_WINDOWS,
    "registered": certificate_issued,
    "failed": failure_notice,
    "not_accepted": failure_notice,
    "refused": failure_notice,
}
RENEWAL_NOTICES: dict[str, StatusNotice] = {
    **_WINDOWS,  # the authority asks the exporter for something: told as for a new one
    "renewed": certificate_issued,
    "refused": renewal_refused,
}


# Where the email differs once the category's regime has ended for good (scrap after the
# solid-waste ban): what asked the exporter for something asks for nothing.
AFTER_REGIME_ENDED: dict[str, StatusNotice] = {
    "additional_materials_requested": window_requested_after_regime_ended,
    "rectification_requested": window_requested_after_regime_ended,
}


def status_notice(s: ApplicationChange, ended: RegimeEnded | None = None) -> Notice | None:
    """The email of an ``application.status_changed`` the exporter must hear, if any;
    ``ended``: the category's regime ended for good before the day the email is made."""
    if s.change.actor in QUIET_ACTORS:
        return None
    table = RENEWAL_NOTICES if s.application.kind == "renewal" else NEW_APPLICATION_NOTICES
    build = table.get(s.change.to_status)
    if build is None:
        return None
    if ended is not None:
        build = AFTER_REGIME_ENDED.get(s.change.to_status, build)
    notice = build(s)
    notice.regime_ended = ended
    return notice
