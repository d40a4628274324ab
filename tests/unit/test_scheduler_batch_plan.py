"""A batch of reminders is decided one reminder at a time, on facts read for the whole batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.scheduler.facts import BatchFacts
from services.scheduler.settle import plan_round
from shared.domain.deadlines import Deadline

NOW = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


def deadline(deadline_id: str, kind: str, registration: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "_id": deadline_id,
        "kind": kind,
        "subject": registration,
        "registration_id": f"reg_{registration}",
        "due_at": NOW + timedelta(days=30),
        "expires_at": NOW + timedelta(days=120),
        "opened_at": NOW - timedelta(days=200),
        "contact_emails": [f"export@{registration.lower()}.example"],
    }
    values.update(fields)
    return Deadline(**values).to_mongo()


def reminder(deadline_id: str, point: str, minutes_ago: int) -> dict[str, Any]:
    return {
        "_id": f"{deadline_id}:{point}",
        "deadline_id": deadline_id,
        "point": point,
        "event_type": "deadline.renewal_due",
        "fire_at": NOW - timedelta(minutes=minutes_ago),
        "status": "claimed",
    }


def registration(number: str, status: str = "active") -> dict[str, Any]:
    return {"_id": f"reg_{number}", "number": number, "status": status}


def facts_of(
    deadlines: list[dict[str, Any]],
    registrations: list[dict[str, Any]],
    reminders: list[dict[str, Any]],
) -> BatchFacts:
    facts = BatchFacts(NOW)
    facts.deadlines = {d["_id"]: d for d in deadlines}
    facts.registrations_by_id = {r["_id"]: r for r in registrations}
    for r in reminders:
        facts.due_points.setdefault(r["deadline_id"], []).append((r["fire_at"], r["point"]))
    return facts


def test_each_reminder_of_a_batch_gets_its_own_decision() -> None:
    deadlines = [
        deadline("dl_a", "renewal", "A"),
        deadline("dl_b", "renewal", "B"),
        deadline("dl_c", "renewal", "C", status="closed"),
    ]
    reminders = [
        reminder("dl_a", "T-14d", 60),
        reminder("dl_a", "T-7d", 30),  # also due: the older one of the same deadline is skipped
        reminder("dl_b", "T-7d", 20),  # its registration is no longer reminded
        reminder("dl_c", "T-7d", 10),  # its deadline was closed
        reminder("dl_gone", "T-7d", 5),
    ]
    facts = facts_of(deadlines, [registration("A"), registration("B", "expired")], reminders)

    settled, deferred = plan_round(reminders, facts, NOW)

    assert deferred == []
    decided = {s.reminder["_id"]: s for s in settled}
    assert {i: s.outcome for i, s in decided.items()} == {
        "dl_a:T-14d": "skipped",
        "dl_a:T-7d": "emitted",
        "dl_b:T-7d": "skipped",
        "dl_c:T-7d": "cancelled",
        "dl_gone:T-7d": "cancelled",
    }
    assert decided["dl_a:T-14d"].fields["skipped_reason"].startswith("superseded by T-7d")
    assert decided["dl_b:T-7d"].fields["skipped_reason"] == "the registration is expired"
    assert decided["dl_c:T-7d"].fields["cancelled_reason"] == "deadline closed"
    assert decided["dl_gone:T-7d"].fields["cancelled_reason"] == "deadline not found"
    emitted = decided["dl_a:T-7d"]
    assert emitted.fields["event_id"] == "reminder:dl_a:T-7d"
    assert emitted.subject is not None
    assert emitted.subject.contact_emails == ["export@a.example"]


def test_a_reminder_after_a_move_of_its_registration_waits_for_the_next_round() -> None:
    deadlines = [
        deadline("dl_exp", "expiry", "A", due_at=NOW - timedelta(hours=2)),
        deadline("dl_ren", "renewal", "A"),
        deadline("dl_other", "renewal", "B"),
    ]
    reminders = [
        reminder("dl_ren", "T-7d", 30),  # later than the term's end: decided after it moves
        reminder("dl_exp", "expired", 60),  # ends the term: moves registration A
        reminder("dl_other", "T-7d", 20),  # another registration: not held up
    ]
    facts = facts_of(deadlines, [registration("A"), registration("B")], reminders)

    settled, deferred = plan_round(reminders, facts, NOW)

    assert [s.reminder["_id"] for s in settled] == ["dl_exp:expired", "dl_other:T-7d"]
    assert [s.outcome for s in settled] == ["emitted", "emitted"]
    assert settled[0].moves
    assert not settled[1].moves
    assert [r["_id"] for r in deferred] == ["dl_ren:T-7d"]


def test_a_reminder_before_a_move_of_its_registration_is_decided_in_the_same_round() -> None:
    deadlines = [
        deadline("dl_exp", "expiry", "A", due_at=NOW - timedelta(hours=2)),
        deadline("dl_ren", "renewal", "A"),
    ]
    reminders = [reminder("dl_ren", "T-7d", 90), reminder("dl_exp", "expired", 60)]
    facts = facts_of(deadlines, [registration("A")], reminders)

    settled, deferred = plan_round(reminders, facts, NOW)

    assert [(s.reminder["_id"], s.outcome) for s in settled] == [
        ("dl_ren:T-7d", "emitted"),
        ("dl_exp:expired", "emitted"),
    ]
    assert deferred == []
