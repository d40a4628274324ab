"""The lifecycle state machine: every legal transition, and illegal ones refused by name."""

from __future__ import annotations

import pytest

from shared.domain.lifecycle import (
    DECISION_KINDS,
    STATES,
    SYSTEM_TRIGGERS,
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    UnknownTrigger,
    allowed_triggers,
    missed_trigger,
    transition,
    trigger_for,
)

LEGAL = [
    ("submitted", "documents_complete", "under_examination", None, "processing"),
    ("submitted", "catalog_refused", "refused", None, None),
    (
        "submitted",
        "additional_materials_requested",
        "additional_materials_requested",
        None,
        "additional_materials",
    ),
    (
        "under_examination",
        "additional_materials_requested",
        "additional_materials_requested",
        "processing",
        "additional_materials",
    ),
    ("under_examination", "acceptance_notice", "accepted", "processing", None),
    ("under_examination", "non_acceptance_notice", "not_accepted", "processing", None),
    (
        "additional_materials_requested",
        "documents_complete",
        "under_examination",
        "additional_materials",
        "processing",
    ),
    (
        "additional_materials_requested",
        "additional_materials_missed",
        "not_accepted",
        "additional_materials",
        None,
    ),
    (
        "additional_materials_requested",
        "acceptance_notice",
        "accepted",
        "additional_materials",
        None,
    ),
    ("accepted", "rectification_requested", "rectification_requested", None, "rectification"),
    ("accepted", "onsite_assessment_scheduled", "onsite_assessment_scheduled", None, None),
    ("accepted", "certificate_issued", "registered", None, None),
    ("accepted", "failure_notice", "failed", None, None),
    ("rectification_requested", "documents_complete", "accepted", "rectification", None),
    ("rectification_requested", "rectification_missed", "failed", "rectification", None),
    (
        "rectification_requested",
        "onsite_assessment_scheduled",
        "onsite_assessment_scheduled",
        "rectification",
        None,
    ),
    ("rectification_requested", "certificate_issued", "registered", "rectification", None),
    ("onsite_assessment_scheduled", "certificate_issued", "registered", None, None),
    ("onsite_assessment_scheduled", "failure_notice", "failed", None, None),
    (
        "onsite_assessment_scheduled",
        "rectification_requested",
        "rectification_requested",
        None,
        "rectification",
    ),
    ("under_examination", "renewal_granted", "renewed", "processing", None),
    ("accepted", "renewal_granted", "renewed", None, None),
]


@pytest.mark.parametrize(("status", "trigger", "target", "closes", "opens"), LEGAL)
def test_legal_transitions_and_the_windows_they_open_and_close(
    status, trigger, target, closes, opens
) -> None:
    result = transition(status, trigger)
    assert (result.to_status, result.closes_window, result.opens_window) == (target, closes, opens)


def test_the_table_covers_only_known_states_and_triggers() -> None:
    for (status, trigger), target in TRANSITIONS.items():
        assert status in STATES
        assert target in STATES
        assert trigger in DECISION_KINDS or trigger in SYSTEM_TRIGGERS
        assert status not in TERMINAL


@pytest.mark.parametrize("status", sorted(TERMINAL))
@pytest.mark.parametrize("trigger", [*DECISION_KINDS, *SYSTEM_TRIGGERS])
def test_terminal_states_accept_nothing(status: str, trigger: str) -> None:
    with pytest.raises(IllegalTransition):
        transition(status, trigger)


@pytest.mark.parametrize(
    ("status", "trigger", "message"),
    [
        (
            "submitted",
            "certificate_issued",
            "'certificate_issued' cannot be applied to an application in status 'submitted'; "
            "it is allowed only in: accepted, onsite_assessment_scheduled, rectification_requested",
        ),
        ("registered", "acceptance_notice", "in status 'registered'"),
        (
            "accepted",
            "additional_materials_requested",
            "allowed only in: submitted, under_examination",
        ),
        ("under_examination", "rectification_missed", "allowed only in: rectification_requested"),
    ],
)
def test_illegal_transitions_are_refused_by_name(status: str, trigger: str, message: str) -> None:
    with pytest.raises(
        IllegalTransition, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as raised:
        transition(status, trigger)
    assert (raised.value.status, raised.value.trigger) == (status, trigger)


def test_unknown_triggers_are_refused() -> None:
    with pytest.raises(UnknownTrigger):
        transition("submitted", "bribe")
    with pytest.raises(UnknownTrigger):
        trigger_for("bribe", "new")


@pytest.mark.parametrize(
    ("decision", "kind", "trigger"),
    [
        ("certificate_issued", "new", "certificate_issued"),
        ("certificate_issued", "renewal", "renewal_granted"),
        ("failure_notice", "renewal", "failure_notice"),
    ],
)
def test_a_certificate_on_a_renewal_grants_the_renewal(
    decision: str, kind: str, trigger: str
) -> None:
    assert trigger_for(decision, kind) == trigger


def test_missed_windows_have_triggers_and_others_do_not() -> None:
    assert missed_trigger("rectification") == "rectification_missed"
    assert missed_trigger("additional_materials") == "additional_materials_missed"
    with pytest.raises(UnknownTrigger):
        missed_trigger("renewal")


def test_allowed_triggers_lists_what_ops_may_do_next() -> None:
    assert allowed_triggers("accepted") == [
        "certificate_issued", "failure_notice", "onsite_assessment_scheduled", "rectification_requested", "renewal_granted",
    ]  # fmt: skip
