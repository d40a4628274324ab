"""The deadline contract's pure arithmetic: reminder points, days left, processing watch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.deadlines import (
    DEFAULT_OFFSETS_DAYS,
    Deadline,
    days_left,
    processing_deadline,
    reminder_documents,
    reminder_points,
)

NOW = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


def renewal(expires_in_days: int = 200) -> Deadline:
    expires = NOW + timedelta(days=expires_in_days)
    return Deadline(
        _id="dl_r",
        kind="renewal",
        subject="REG-1",
        due_at=expires - timedelta(days=90),
        expires_at=expires,
        opened_at=NOW,
        reminder_offsets_days=DEFAULT_OFFSETS_DAYS["renewal"],
    )


def test_renewal_has_every_offset_then_window_close_then_expiry() -> None:
    deadline = renewal()
    points = reminder_points(deadline)
    assert [p.point for p in points] == [
        "T-180d", "T-120d", "T-90d", "T-60d", "T-30d", "T-14d", "T-7d", "T-1d", "due", "expired",
    ]  # fmt: skip
    assert points[0].fire_at == deadline.due_at - timedelta(days=180)
    assert {p.event_type for p in points[:8]} == {"deadline.renewal_due"}
    assert points[8].event_type == "deadline.missed"
    assert points[8].fire_at == deadline.due_at
    assert (points[9].event_type, points[9].fire_at) == (
        "registration.expired",
        deadline.expires_at,
    )


def test_rectification_points_are_14_7_3_1_days_then_missed() -> None:
    deadline = Deadline(
        _id="dl_x",
        kind="rectification",
        subject="app_1",
        application_id="app_1",
        due_at=NOW + timedelta(days=30),
        opened_at=NOW,
        reminder_offsets_days=[1, 14, 3, 7, 7],
        on_missed="failed",
    )
    points = reminder_points(deadline)
    assert [p.point for p in points] == ["T-14d", "T-7d", "T-3d", "T-1d", "due"]
    assert points[0].event_type == "deadline.rectification_due"
    assert points[-1].event_type == "deadline.missed"


def test_reminder_documents_have_one_unique_id_per_point() -> None:
    documents = reminder_documents(renewal())
    ids = [d["_id"] for d in documents]
    assert len(ids) == len(set(ids)) == 10
    assert ids[0] == "dl_r:T-180d"
    assert all(d["status"] == "pending" and d["kind"] == "renewal" for d in documents)


def test_days_left_rounds_up_and_never_goes_negative() -> None:
    due = NOW + timedelta(days=14)
    assert days_left(due, NOW) == 14
    assert days_left(due, NOW + timedelta(seconds=30)) == 14  # a tick a little late
    assert days_left(due, due - timedelta(hours=1)) == 1
    assert days_left(due, due) == 0
    assert days_left(due, due + timedelta(days=3)) == 0


def test_processing_deadline_is_one_per_application_and_due_after_processing_time() -> None:
    submitted = NOW - timedelta(days=40)
    first = processing_deadline(application_id="app_9", submitted_at=submitted, opened_at=NOW)
    again = processing_deadline(application_id="app_9", submitted_at=submitted, opened_at=NOW)
    assert first.id == again.id == "dl_processing_app_9"
    assert first.due_at == submitted + timedelta(days=30)
    assert [(p.point, p.event_type) for p in reminder_points(first)] == [
        ("due", "deadline.processing_overdue")
    ]
