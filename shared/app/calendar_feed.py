"""Open deadlines as an iCalendar (RFC 5545) feed: one all-day event per day that matters.

Pure: the deadlines and what they name in, the feed's bytes out. Days are the authority's
days (China Standard Time), written as floating all-day dates so every calendar shows the
day GACC counts, wherever its owner lives. Each event's UID is derived from its deadline,
so a calendar that fetches the feed again updates the event instead of adding a copy; a
deadline that is met or closed is no longer in the feed, and the calendar drops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from shared.domain.calendar import authority_date
from shared.domain.deadlines import Deadline

PRODID = "-//regwatch//deadlines//EN"
UID_DOMAIN = "regwatch"
# Calendars ring this long before the day: time enough to gather documents.
ALARM_BEFORE = timedelta(days=7)
FEED_KINDS = ("renewal", "expiry", "additional_materials", "rectification")


@dataclass(frozen=True)
class FeedDeadline:
    """An open deadline with what its events say about it."""

    deadline: Deadline
    registration_number: str | None = None
    exporter_name: str | None = None
    product: str | None = None
    due: list[str] = field(default_factory=list)  # what is to be filed
    missing: list[str] = field(default_factory=list)  # what the latest check found missing


@dataclass(frozen=True)
class CalendarDay:
    """One all-day event of a deadline."""

    uid: str
    day: date
    summary: str
    description: str


def _what(entry: FeedDeadline) -> str:
    deadline = entry.deadline
    number = entry.registration_number or deadline.registration_number
    parts = [f"registration {number}" if number else f"application {deadline.application_id}"]
    if entry.exporter_name:
        parts.append(entry.exporter_name)
    if entry.product:
        parts.append(entry.product)
    return ", ".join(parts)


def _description(entry: FeedDeadline, headline: str) -> str:
    deadline = entry.deadline
    number = entry.registration_number or deadline.registration_number
    lines = [headline, ""]
    if entry.exporter_name:
        lines.append(f"Exporter: {entry.exporter_name}")
    if entry.product:
        lines.append(f"Product: {entry.product}")
    lines.append(f"Registration number: {number or 'not issued yet'}")
    if deadline.application_id:
        lines.append(f"Application: {deadline.application_id}")
    lines.append(f"Window closes: end of {deadline.last_day:%d %B %Y} (China Standard Time)")
    if entry.due:
        lines += ["", "Due:", *(f"- {item}" for item in entry.due)]
    if entry.missing:
        lines += ["", "Still missing:", *(f"- {item}" for item in entry.missing)]
    return "\n".join(lines)


def calendar_days(entry: FeedDeadline) -> list[CalendarDay]:
    """The days ``entry``'s deadline puts in a calendar (none for kinds no one files for)."""
    deadline = entry.deadline
    what = _what(entry)

    def day(point: str, on: date, summary: str) -> CalendarDay:
        return CalendarDay(
            uid=f"{deadline.id}-{point}@{UID_DOMAIN}",
            day=on,
            summary=f"{summary}: {what}",
            description=_description(entry, summary),
        )

    if deadline.kind == "renewal":
        days = [day("closes", deadline.last_day, "Renewal window closes")]
        if deadline.opens_at is not None:
            days.insert(0, day("opens", authority_date(deadline.opens_at), "Renewal window opens"))
        return days
    if deadline.kind == "expiry":
        return [day("expires", deadline.last_day, "Registration expires (last valid day)")]
    if deadline.kind == "additional_materials":
        return [day("closes", deadline.last_day, "Additional materials due")]
    if deadline.kind == "rectification":
        return [day("closes", deadline.last_day, "Rectification due")]
    return []  # the processing watch is the authority's deadline, not the exporter's


def build_calendar(entries: list[FeedDeadline], *, name: str, now: datetime) -> bytes:
    """The iCalendar document of ``entries``, each day an all-day event with an alarm."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for entry in sorted(entries, key=lambda e: (e.deadline.due_at, e.deadline.id)):
        for item in calendar_days(entry):
            event = Event()
            event.add("uid", item.uid)
            event.add("dtstamp", now)
            event.add("dtstart", item.day)
            event.add("dtend", item.day + timedelta(days=1))
            event.add("summary", item.summary)
            event.add("description", item.description)
            event.add("status", "CONFIRMED")
            event.add("transp", "TRANSPARENT")  # a reminder, not a busy day
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", item.summary)
            alarm.add("trigger", -ALARM_BEFORE)
            event.add_component(alarm)
            calendar.add_component(event)
    return bytes(calendar.to_ical())
