"""The registration as an aggregate: its terms and its own lifecycle, as one transition table.

active -> renewal_open (the window opened, nothing filed) -> renewal_filed (a renewal
application is with the authority) -> renewed (a new term started) | expired; suspended
and cancelled by ops. A new term starts its own cycle: renewed -> renewal_open -> ...
Expiry, suspension and cancellation stop every reminder of the registration.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RegistrationStatus = Literal[
    "active", "renewal_open", "renewal_filed", "renewed", "expired", "suspended", "cancelled"
]
REGISTRATION_STATES: tuple[str, ...] = RegistrationStatus.__args__  # type: ignore[attr-defined]

# Ops decisions on a registration (HTTP, CLI); the other triggers are the system's.
RegistrationDecisionKind = Literal["suspended", "cancelled", "reinstated"]
REGISTRATION_DECISIONS: tuple[str, ...] = RegistrationDecisionKind.__args__  # type: ignore[attr-defined]

_IN_TERM = ("active", "renewal_open", "renewal_filed", "renewed")

# (from status, trigger) -> to status. Anything not listed is illegal.
REGISTRATION_TRANSITIONS: dict[tuple[str, str], str] = {
    **{(s, "window_opened"): "renewal_open" for s in ("active", "renewed")},
    **{(s, "renewal_filed"): "renewal_filed" for s in ("active", "renewal_open", "renewed")},
    # The filed renewal ended not_accepted/failed/refused: back to the open window, or,
    # once the window has closed, on towards expiry.
    ("renewal_open", "window_closed"): "active",  # closed unfiled: on towards expiry
    ("renewal_filed", "renewal_rejected"): "renewal_open",
    ("renewal_filed", "renewal_rejected_late"): "active",
    **{(s, "renewal_granted"): "renewed" for s in (*_IN_TERM, "expired")},
    **{(s, "term_ended"): "expired" for s in _IN_TERM},
    **{(s, "suspended"): "suspended" for s in _IN_TERM},
    ("suspended", "reinstated"): "active",
    **{(s, "cancelled"): "cancelled" for s in (*_IN_TERM, "expired", "suspended")},
}
REGISTRATION_TRIGGERS: frozenset[str] = frozenset(t for (_, t) in REGISTRATION_TRANSITIONS)

# States in which reminders of the registration run.
REMINDED: frozenset[str] = frozenset({"active", "renewal_open", "renewed"})


class IllegalRegistrationMove(ValueError):
    """The trigger is not allowed in the registration's status; the message says why."""

    def __init__(self, number: str, status: str, trigger: str) -> None:
        allowed = sorted(s for (s, t) in REGISTRATION_TRANSITIONS if t == trigger)
        where = ", ".join(allowed) if allowed else "no status"
        super().__init__(
            f"'{trigger}' cannot be applied to registration {number} in status '{status}'; "
            f"it is allowed only in: {where}"
        )
        self.status = status
        self.trigger = trigger


class RegistrationChange(BaseModel):
    """One line of a registration's history."""

    from_status: str | None
    to_status: str
    trigger: str
    actor: str
    reason: str | None = None
    at: datetime
    application_id: str | None = None


class Term(BaseModel):
    """One validity of a registration: from a certificate, a renewal or an import."""

    issued_on: date
    valid_until: date
    application_id: str | None = None
    started_at: datetime


class Registration(BaseModel):
    """A registration number and its terms; ``move`` is the only way its status changes."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    number: str
    category: str
    product: str | None = None
    exporter_name: str | None = None
    country: str | None = None
    contact_emails: list[str] = Field(default_factory=list)
    status: RegistrationStatus = "active"
    terms: list[Term] = Field(min_length=1)
    renewal_application_id: str | None = None
    history: list[RegistrationChange] = Field(default_factory=list)

    @property
    def term(self) -> Term:
        """The current (latest) term."""
        return self.terms[-1]

    def move(
        self,
        trigger: str,
        *,
        actor: str,
        at: datetime,
        reason: str | None = None,
        application_id: str | None = None,
    ) -> RegistrationChange:
        """Apply ``trigger`` (raises ``IllegalRegistrationMove``) and record the history line."""
        target = REGISTRATION_TRANSITIONS.get((self.status, trigger))
        if target is None:
            raise IllegalRegistrationMove(self.number, self.status, trigger)
        change = RegistrationChange(
            from_status=self.status,
            to_status=target,
            trigger=trigger,
            actor=actor,
            reason=reason,
            at=at,
            application_id=application_id,
        )
        self.status = target  # type: ignore[assignment]
        self.history.append(change)
        return change

    def can(self, trigger: str) -> bool:
        return (self.status, trigger) in REGISTRATION_TRANSITIONS


def registration_move(status: str, trigger: str) -> str:
    """The status ``trigger`` leads to from ``status`` (raises ``IllegalRegistrationMove``)."""
    target = REGISTRATION_TRANSITIONS.get((status, trigger))
    if target is None:
        raise IllegalRegistrationMove("?", status, trigger)
    return target
