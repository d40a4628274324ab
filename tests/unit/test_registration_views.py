"""The registrations read models' pure parts: plain days, the next reminder, the filters,
and how times and spans are written for ops. No server needed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import typer

from services.cli.registrations import parse_within
from shared.app.registration_views import (
    NextReminder,
    UnknownRegistrationStatus,
    beijing_time,
    list_query,
    reminder_text,
    summary_of,
)
from shared.domain.calendar import end_of_day, start_of_day, stored_day

NOW = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)  # already 1 March in Beijing


def test_fire_times_are_written_in_beijing_time_with_the_zone_named() -> None:
    evening_utc = datetime(2026, 2, 28, 16, 30, tzinfo=UTC)
    assert beijing_time(evening_utc) == "2026-03-01 00:30 Beijing time"
    reminder = NextReminder(
        point="T-30d",
        event_type="deadline.renewal_due",
        fire_at=evening_utc,
        deadline_kind="renewal",
    )
    assert reminder_text(reminder) == "T-30d deadline.renewal_due on 2026-03-01 00:30 Beijing time"
    assert reminder_text(None) == "none"


def test_an_old_record_takes_its_window_from_the_renewal_deadline_and_reads_as_active() -> None:
    record = {
        "_id": "reg_1",
        "number": "CHN1",
        "category": "food.dairy",
        "exporter": {"name": "Old Farm Ltd"},
        "valid_until": stored_day(date(2026, 8, 31)),
    }
    renewal = {
        "_id": "dl_r",
        "kind": "renewal",
        "status": "open",
        "opens_at": start_of_day(date(2026, 2, 28)),
        "due_at": end_of_day(date(2026, 5, 31)),
    }
    row = summary_of(record, [renewal], [])
    assert (row.status, row.window_opens_on, row.window_closes_on) == (
        "active",
        date(2026, 2, 28),
        date(2026, 5, 31),
    )
    assert row.valid_until == date(2026, 8, 31)
    assert row.next_reminder is None


def test_the_next_reminder_is_the_earliest_pending_one_of_an_open_deadline() -> None:
    record = {"_id": "reg_1", "number": "CHN1", "valid_until": stored_day(date(2027, 1, 1))}
    deadlines = [
        {"_id": "dl_r", "kind": "renewal", "status": "met", "due_at": NOW},
        {"_id": "dl_e", "kind": "expiry", "status": "open", "due_at": NOW},
    ]

    def reminder(
        deadline_id: str, point: str, day: int, status: str = "pending"
    ) -> dict[str, object]:
        fire_at = datetime(2026, 3, day, 1, tzinfo=UTC)
        return {
            "deadline_id": deadline_id,
            "point": point,
            "event_type": "x",
            "fire_at": fire_at,
            "status": status,
        }

    reminders = [
        reminder("dl_r", "T-7d", 1),  # its deadline is met: never sent
        reminder("dl_e", "T-90d", 2, status="emitted"),
        reminder("dl_e", "T-30d", 5),
        reminder("dl_e", "T-7d", 9),
    ]
    found = summary_of(record, deadlines, reminders).next_reminder
    assert found is not None
    assert (found.point, found.deadline_kind) == ("T-30d", "expiry")


def test_within_counts_the_authoritys_days_from_today_in_beijing() -> None:
    query = list_query(status=None, within_days=30, now=NOW)
    [within] = query["$and"]
    span = within["$or"][0]["window_closes_on"]
    assert span == {"$gte": stored_day(date(2026, 3, 1)), "$lte": stored_day(date(2026, 3, 31))}


def test_an_unknown_status_filter_names_the_statuses_there_are() -> None:
    with pytest.raises(UnknownRegistrationStatus, match="renewal_open, renewal_filed"):
        list_query(status="lapsed", within_days=None, now=NOW)
    assert list_query(status=None, within_days=None, now=NOW) == {}


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("12w", 84), ("7", 7), (" 30D ", 30)])
def test_cli_spans_are_days_or_weeks(text: str, days: int) -> None:
    assert parse_within(text) == days


def test_a_cli_span_that_is_not_one_is_refused() -> None:
    with pytest.raises(typer.BadParameter, match="90d"):
        parse_within("soon")
