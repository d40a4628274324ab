"""The deadline contract's pure arithmetic: the authority's days, windows with two ends,
reminder points, days left, the processing watch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain.calendar import (
    at_local_time,
    authority_date,
    end_of_day,
    months_before,
    start_of_day,
)
from shared.domain.catalog import cached_catalog
from shared.domain.deadlines import (
    DEFAULT_OFFSETS_DAYS,
    Deadline,
    days_left,
    last_day,
    processing_deadline,
    reminder_documents,
    reminder_points,
)
from shared.domain.renewal import plan_renewal

NOW = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


def test_a_day_ends_at_midnight_in_beijing() -> None:
    assert end_of_day(date(2027, 5, 31)) == datetime(2027, 5, 31, 16, 0, tzinfo=UTC)
    assert start_of_day(date(2027, 5, 31)) == datetime(2027, 5, 30, 16, 0, tzinfo=UTC)
    assert at_local_time(date(2027, 5, 31)) == datetime(2027, 5, 31, 1, 0, tzinfo=UTC)


def test_an_evening_utc_instant_is_already_the_next_day_in_beijing() -> None:
    assert authority_date(datetime(2027, 2, 28, 17, 30, tzinfo=UTC)) == date(2027, 3, 1)
    assert authority_date(datetime(2027, 2, 28, 15, 59, tzinfo=UTC)) == date(2027, 2, 28)
    assert last_day(end_of_day(date(2028, 2, 29))) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 8, 31), 6, date(2027, 2, 28)),  # a month end into a short February
        (date(2028, 8, 31), 6, date(2028, 2, 29)),  # ... and into a leap day
        (date(2028, 2, 29), 12, date(2027, 2, 28)),  # a leap day a year back
        (date(2027, 5, 31), 3, date(2027, 2, 28)),
        (date(2027, 3, 15), 3, date(2026, 12, 15)),  # across the year
    ],
)
def test_months_before_keeps_the_day_or_takes_the_months_last(
    day: date, months: int, expected: date
) -> None:
    assert months_before(day, months) == expected


def renewal(opens: date | None = date(2031, 3, 31), closes: date = date(2031, 6, 30)) -> Deadline:
    return Deadline(
        _id="dl_r",
        kind="renewal",
        subject="REG-1",
        due_at=end_of_day(closes),
        opens_at=start_of_day(opens) if opens else None,
        opening_notice_days=30 if opens else None,
        expires_at=end_of_day(date(2031, 9, 30)),
        opened_at=NOW,
        reminder_offsets_days=DEFAULT_OFFSETS_DAYS["renewal"],
    )


def test_renewal_reminders_count_to_the_close_but_none_fires_before_the_window_opens() -> None:
    points = reminder_points(renewal())
    assert [p.point for p in points] == [
        "opens-notice", "opens", "T-90d", "T-60d", "T-30d", "T-14d", "T-7d", "T-1d", "due",
    ]  # fmt: skip
    notice, opens, first = points[0], points[1], points[2]
    assert (notice.event_type, notice.fire_at) == (
        "deadline.renewal_window_opens",
        at_local_time(date(2031, 3, 1)),
    )
    assert opens.fire_at == start_of_day(date(2031, 3, 31))
    assert first.fire_at == at_local_time(date(2031, 4, 1))  # 90 days before 30 June, at 09:00
    assert all(p.fire_at >= opens.fire_at for p in points[1:])
    assert points[-1].event_type == "deadline.missed"
    assert points[-1].fire_at == end_of_day(date(2031, 6, 30))


def test_a_window_without_an_opening_day_reminds_at_every_offset_and_has_no_opens_notice() -> None:
    points = reminder_points(renewal(opens=None))
    assert [p.point for p in points][:2] == ["T-180d", "T-120d"]
    assert "opens-notice" not in [p.point for p in points]


def test_the_expiry_deadline_ends_with_the_expired_point() -> None:
    expiry = Deadline(
        _id="dl_e",
        kind="expiry",
        subject="REG-1",
        due_at=end_of_day(date(2031, 9, 30)),
        opened_at=NOW,
        reminder_offsets_days=[30],
        renewable=False,
    )
    assert [(p.point, p.event_type) for p in reminder_points(expiry)] == [
        ("T-30d", "deadline.expiry_due"),
        ("expired", "registration.expired"),
    ]


def test_rectification_points_are_14_7_3_1_days_then_missed() -> None:
    deadline = Deadline(
        _id="dl_x",
        kind="rectification",
        subject="app_1",
        application_id="app_1",
        due_at=end_of_day(date(2031, 3, 31)),
        opened_at=NOW,
        reminder_offsets_days=[1, 14, 3, 7, 7],
    )
    points = reminder_points(deadline)
    assert [p.point for p in points] == ["T-14d", "T-7d", "T-3d", "T-1d", "due"]
    assert points[0].event_type == "deadline.rectification_due"
    assert points[-1].event_type == "deadline.missed"


def test_additional_materials_have_their_own_reminder_event() -> None:
    deadline = Deadline(
        _id="dl_a",
        kind="additional_materials",
        subject="app_1",
        due_at=end_of_day(date(2031, 3, 31)),
        opened_at=NOW,
        reminder_offsets_days=[7],
    )
    assert reminder_points(deadline)[0].event_type == "deadline.additional_materials_due"


def test_reminder_documents_have_one_unique_id_per_point() -> None:
    documents = reminder_documents(renewal())
    ids = [d["_id"] for d in documents]
    assert len(ids) == len(set(ids)) == 9
    assert ids[0] == "dl_r:opens-notice"
    assert all(d["status"] == "pending" and d["kind"] == "renewal" for d in documents)


def test_days_left_counts_beijing_days_to_the_last_day() -> None:
    due = end_of_day(date(2031, 3, 15))
    assert days_left(due, at_local_time(date(2031, 3, 1))) == 14
    assert days_left(due, at_local_time(date(2031, 3, 1)) + timedelta(minutes=5)) == 14
    assert days_left(due, datetime(2031, 3, 14, 17, 0, tzinfo=UTC)) == 0  # 01:00 on the day
    assert days_left(due, due) == 0
    assert days_left(due, due + timedelta(days=3)) == 0


def test_the_regime_of_the_filing_date_sets_the_window() -> None:
    catalog = cached_catalog()
    # Seen in 2025 under Decree 248, a 2026-09-30 expiry opens on 2026-03-30 (still 248).
    early = plan_renewal(catalog, "food.dairy", date(2026, 9, 30), date(2025, 10, 1))
    assert early.regime
    assert early.regime.id == "gacc_decree_248"
    assert (early.opens_on, early.closes_on) == (date(2026, 3, 30), date(2026, 6, 30))
    # A window opening after 2026-06-01 is judged by Decree 280.
    later = plan_renewal(catalog, "food.dairy", date(2027, 1, 31), date(2026, 5, 1))
    assert later.regime
    assert later.regime.id == "gacc_decree_280"
    assert later.opens_on == date(2026, 7, 31)


def test_a_scrap_window_ends_with_the_solid_waste_ban() -> None:
    catalog = cached_catalog()
    plan = plan_renewal(catalog, "scrap.metal", date(2021, 9, 1), date(2020, 6, 1))
    assert plan.renewable
    assert plan.closes_on == date(2020, 12, 31)
    after = plan_renewal(catalog, "scrap.metal", date(2021, 9, 1), date(2021, 1, 1))
    assert not after.renewable
    assert after.not_renewable_from == date(2021, 1, 1)


def test_processing_deadline_is_one_per_application_and_due_after_processing_time() -> None:
    submitted = NOW - timedelta(days=40)
    first = processing_deadline(application_id="app_9", submitted_at=submitted, opened_at=NOW)
    again = processing_deadline(application_id="app_9", submitted_at=submitted, opened_at=NOW)
    assert first.id == again.id == "dl_processing_app_9"
    assert first.due_at == submitted + timedelta(days=30)
    assert [(p.point, p.event_type) for p in reminder_points(first)] == [
        ("due", "deadline.processing_overdue")
    ]


def test_reminders_fire_at_the_configured_time_of_day_in_beijing() -> None:
    deadline = renewal().model_copy(update={"reminder_time": "15:30"})
    t90 = next(p for p in reminder_points(deadline) if p.point == "T-90d")
    assert t90.fire_at == datetime(2031, 4, 1, 7, 30, tzinfo=UTC)  # 15:30 in Beijing


def test_a_deadline_stores_its_calendar_days_as_bson_can() -> None:
    deadline = renewal().model_copy(update={"not_renewable_from": date(2021, 1, 1)})
    stored = deadline.to_mongo()
    assert stored["not_renewable_from"] == datetime(2021, 1, 1, tzinfo=UTC)
    assert Deadline.model_validate(stored).not_renewable_from == date(2021, 1, 1)
