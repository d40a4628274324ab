"""Calendar feeds: all-day events on the authority's days, stable UIDs, an alarm each, and
what is due and missing in the description (parsed back with icalendar)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar

from services.notifier.notices import Notice
from services.notifier.render import render
from shared.app.calendar_feed import FeedDeadline, build_calendar
from shared.domain.calendar import end_of_day, start_of_day
from shared.domain.deadlines import Deadline

NOW = datetime(2030, 1, 10, 3, 0, tzinfo=UTC)


def renewal() -> Deadline:
    return Deadline(
        _id="dl_renewal_CHN-1_20311119",
        kind="renewal",
        subject="CHN-1",
        registration_id="reg_1",
        registration_number="CHN-1",
        exporter_name="Fjord Dairy AS",
        due_at=end_of_day(date(2031, 8, 19)),
        opens_at=start_of_day(date(2031, 5, 19)),
        opened_at=NOW,
        renewal_documents=["renewal application form", "declaration of continued compliance"],
    )


def materials() -> Deadline:
    # 24:00 Beijing on 9 February is 16:00 UTC: the day is the 9th, not the 10th.
    return Deadline(
        _id="dl_am_app_1",
        kind="additional_materials",
        subject="app_1",
        application_id="app_1",
        due_at=datetime(2030, 2, 9, 16, 0, tzinfo=UTC),
        opened_at=NOW,
    )


def parse(entries: list[FeedDeadline]) -> list:
    feed = Calendar.from_ical(build_calendar(entries, name="test", now=NOW))
    return list(feed.walk("VEVENT"))


def test_each_deadline_day_is_an_all_day_event_on_its_beijing_day_with_an_alarm() -> None:
    events = parse(
        [
            FeedDeadline(renewal(), due=renewal().renewal_documents),
            FeedDeadline(materials(), missing=["business_licence"], due=["a recent licence"]),
        ]
    )
    days = {str(e["SUMMARY"]).split(":")[0]: e.decoded("DTSTART") for e in events}
    assert days == {
        "Additional materials due": date(2030, 2, 9),
        "Renewal window opens": date(2031, 5, 19),
        "Renewal window closes": date(2031, 8, 19),
    }
    for event in events:
        start = event.decoded("DTSTART")
        assert type(start) is date
        assert event.decoded("DTEND") == start + timedelta(days=1)
        alarms = list(event.walk("VALARM"))
        assert len(alarms) == 1
        assert alarms[0].decoded("TRIGGER") == -timedelta(days=7)
    closes = next(e for e in events if "closes" in str(e["SUMMARY"]))
    assert "CHN-1" in str(closes["DESCRIPTION"])
    assert "declaration of continued compliance" in str(closes["DESCRIPTION"])
    materials_event = next(e for e in events if "materials" in str(e["SUMMARY"]))
    assert "Still missing:\n- business_licence" in str(materials_event["DESCRIPTION"])
    assert "a recent licence" in str(materials_event["DESCRIPTION"])


def test_uids_are_stable_from_one_fetch_to_the_next() -> None:
    first = [str(e["UID"]) for e in parse([FeedDeadline(renewal())])]
    again = [str(e["UID"]) for e in parse([FeedDeadline(renewal())])]
    assert (
        first
        == again
        == [
            "dl_renewal_CHN-1_20311119-opens@regwatch",
            "dl_renewal_CHN-1_20311119-closes@regwatch",
        ]
    )


def test_the_authoritys_own_processing_deadline_is_not_in_the_feed() -> None:
    processing = materials().model_copy(update={"kind": "processing"})
    assert parse([FeedDeadline(processing)]) == []


def test_an_email_footer_carries_the_contacts_calendar_link() -> None:
    notice = Notice(template="window_due", subject="s", exporter_name="Fjord Dairy AS")
    url = "https://regwatch.example/calendar/cal_secret.ics"
    text, html = render(notice, url)
    assert url in text
    assert f'href="{url}"' in html
    assert "calendar" not in render(notice)[0].split("Please do not reply")[-1]
