"""The registration lifecycle as a pure state machine: a transition table with guards.

submitted -> under_examination -> [additional_materials_requested] -> accepted | not_accepted
-> [rectification_requested] -> (onsite_assessment_scheduled) -> registered | failed;
renewal applications end in ``renewed``. A renewal filed before its window opens is
``waiting_for_window`` and moves on by itself on the opening day. A scrap application after
the solid-waste import ban, or a renewal after its window closed, is ``refused``. Windows (additional materials,
rectification, processing) belong to the state that opens them: leaving it closes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

STATES: tuple[str, ...] = (
    "submitted",
    "waiting_for_window",
    "under_examination",
    "additional_materials_requested",
    "accepted",
    "not_accepted",
    "rectification_requested",
    "onsite_assessment_scheduled",
    "registered",
    "renewed",
    "failed",
    "refused",
)
TERMINAL: frozenset[str] = frozenset({"not_accepted", "registered", "renewed", "failed", "refused"})

DecisionKind = Literal[
    "acceptance_notice",
    "non_acceptance_notice",
    "additional_materials_requested",
    "rectification_requested",
    "onsite_assessment_scheduled",
    "certificate_issued",
    "failure_notice",
]
DECISION_KINDS: tuple[str, ...] = DecisionKind.__args__  # type: ignore[attr-defined]

# Triggers besides ops decisions: what the validator and the scheduler observe.
SYSTEM_TRIGGERS: tuple[str, ...] = (
    "documents_complete",  # every rule passes (again) after new documents arrived
    "catalog_refused",  # e.g. scrap after the 2021 ban, or a renewal after its window
    "window_not_open",  # a renewal filed before its window opens: it waits
    "window_opened",  # the opening day came and the waiting renewal still lacks documents
    "additional_materials_missed",
    "rectification_missed",
    "renewal_granted",  # certificate_issued on a renewal application
)

_BEFORE_ACCEPTANCE = ("submitted", "under_examination", "additional_materials_requested")
_DETAILED_EVALUATION = ("accepted", "rectification_requested", "onsite_assessment_scheduled")

# (from status, trigger) -> to status. Anything not listed is illegal.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("submitted", "documents_complete"): "under_examination",
    ("submitted", "catalog_refused"): "refused",
    ("submitted", "window_not_open"): "waiting_for_window",
    ("waiting_for_window", "documents_complete"): "under_examination",
    ("waiting_for_window", "window_opened"): "submitted",
    ("waiting_for_window", "catalog_refused"): "refused",
    ("additional_materials_requested", "documents_complete"): "under_examination",
    ("additional_materials_requested", "additional_materials_missed"): "not_accepted",
    ("rectification_requested", "documents_complete"): "accepted",
    ("rectification_requested", "rectification_missed"): "failed",
    **{(s, "acceptance_notice"): "accepted" for s in _BEFORE_ACCEPTANCE},
    **{(s, "non_acceptance_notice"): "not_accepted" for s in _BEFORE_ACCEPTANCE},
    **{
        (s, "additional_materials_requested"): "additional_materials_requested"
        for s in ("submitted", "under_examination")
    },
    **{(s, "rectification_requested"): "rectification_requested" for s in _DETAILED_EVALUATION},
    **{
        (s, "onsite_assessment_scheduled"): "onsite_assessment_scheduled"
        for s in ("accepted", "rectification_requested")
    },
    **{(s, "certificate_issued"): "registered" for s in _DETAILED_EVALUATION},
    **{(s, "failure_notice"): "failed" for s in _DETAILED_EVALUATION},
    # Renewals: the authority may renew straight after examining the renewal documents.
    **{(s, "renewal_granted"): "renewed" for s in ("under_examination", *_DETAILED_EVALUATION)},
}

ApplicationWindow = Literal["additional_materials", "rectification", "processing"]

# The windows whose passing unmet moves the application (by ``<window>_missed``).
MISSABLE_WINDOWS: tuple[ApplicationWindow, ...] = ("additional_materials", "rectification")

# The window a state opens; leaving the state closes it.
WINDOW_OF_STATE: dict[str, ApplicationWindow] = {
    "under_examination": "processing",
    "additional_materials_requested": "additional_materials",
    "rectification_requested": "rectification",
}


class IllegalTransition(ValueError):
    """The trigger is not allowed in the application's status; the message says why."""

    def __init__(self, status: str, trigger: str) -> None:
        allowed = sorted(s for (s, t) in TRANSITIONS if t == trigger)
        where = ", ".join(allowed) if allowed else "no status"
        super().__init__(
            f"'{trigger}' cannot be applied to an application in status '{status}'; "
            f"it is allowed only in: {where}"
        )
        self.status = status
        self.trigger = trigger


class UnknownTrigger(ValueError):
    pass


class StatusChange(BaseModel):
    """One line of an application's history."""

    from_status: str | None
    to_status: str
    actor: str
    reason: str | None = None
    at: datetime
    trigger: str | None = None
    channel: str | None = None  # creation only: how the application came in (http, ...)


@dataclass(frozen=True)
class Transition:
    from_status: str
    to_status: str
    trigger: str
    closes_window: ApplicationWindow | None
    opens_window: ApplicationWindow | None


def trigger_for(decision_kind: str, application_kind: str) -> str:
    """The trigger a decision makes: a certificate on a renewal grants the renewal."""
    if decision_kind not in DECISION_KINDS:
        raise UnknownTrigger(
            f"unknown decision {decision_kind!r}; known: {', '.join(DECISION_KINDS)}"
        )
    if decision_kind == "certificate_issued" and application_kind == "renewal":
        return "renewal_granted"
    return decision_kind


def transition(status: str, trigger: str) -> Transition:
    """The transition ``trigger`` makes from ``status``; raises ``IllegalTransition``."""
    if trigger not in DECISION_KINDS and trigger not in SYSTEM_TRIGGERS:
        raise UnknownTrigger(f"unknown trigger {trigger!r}")
    target = TRANSITIONS.get((status, trigger))
    if target is None:
        raise IllegalTransition(status, trigger)
    return Transition(
        from_status=status,
        to_status=target,
        trigger=trigger,
        closes_window=WINDOW_OF_STATE.get(status),
        opens_window=WINDOW_OF_STATE.get(target),
    )


def allowed_triggers(status: str) -> list[str]:
    """Every trigger allowed in ``status`` (for messages and the dashboard)."""
    return sorted(t for (s, t) in TRANSITIONS if s == status)


def missed_trigger(window: str) -> str:
    """The trigger the scheduler applies when ``window`` passes unmet."""
    if window not in MISSABLE_WINDOWS:
        raise UnknownTrigger(f"a missed {window!r} window moves no application")
    return f"{window}_missed"
