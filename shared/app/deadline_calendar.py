"""Deadlines by the authority's days: a month as a calendar grid, and the same as CSV.

A deadline sits on the last day of its window in Beijing (``last_day(due_at)``), the day
the authority counts, not the UTC day of ``due_at`` (24:00 Beijing is 16:00 UTC the day
before).
"""

from __future__ import annotations

import calendar
import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from shared.domain.calendar import authority_date, end_of_day, start_of_day
from shared.domain.deadlines import last_day
from shared.infra.mongo_types import Database

MONTH_LIMIT = 2000  # more deadlines than this in one month: the list says it is cut
CSV_COLUMNS = (
    "last_day",
    "kind",
    "status",
    "subject",
    "application_id",
    "registration_number",
    "exporter",
    "opens_on",
    "due_at_utc",
    "source",
)


class UnknownMonth(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"{text!r} is no month: write it as YYYY-MM, for example 2026-11.")


class CalendarEntry(BaseModel):
    id: str
    kind: str
    status: str
    subject: str
    last_day: date
    opens_on: date | None = None
    due_at: datetime
    application_id: str | None = None
    registration_number: str | None = None
    exporter: str | None = None
    source: str | None = None
    url: str


class CalendarDay(BaseModel):
    day: date
    in_month: bool
    today: bool
    entries: list[CalendarEntry]


class DeadlineMonth(BaseModel):
    month: date  # its first day
    previous: str  # YYYY-MM
    next: str
    today: date  # in Beijing
    status: str | None = None
    kind: str | None = None
    weeks: list[list[CalendarDay]]  # Monday first, as China's calendars
    entries: list[CalendarEntry]  # the month's deadlines, by last day
    cut: bool = False


def parse_month(text: str | None, today: date) -> date:
    """The first day of ``text`` (YYYY-MM), or of today's month; raises UnknownMonth."""
    if not text:
        return today.replace(day=1)
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise UnknownMonth(text) from None


def _entry(doc: dict[str, Any]) -> CalendarEntry:
    application_id = doc.get("application_id")
    number = doc.get("registration_number")
    subject = str(doc.get("subject", "?"))
    if application_id:
        url = f"/applications/{quote(application_id)}"
    elif doc.get("kind") in ("renewal", "expiry"):  # their subject is the registration number
        number = number or subject
        url = f"/registrations/{quote(subject, safe='')}"
    else:
        url = f"/applications/{quote(subject)}"
    opens_at = doc.get("opens_at")
    return CalendarEntry(
        id=str(doc["_id"]),
        kind=str(doc.get("kind", "?")),
        status=str(doc.get("status", "?")),
        subject=subject,
        last_day=last_day(doc["due_at"]),
        opens_on=authority_date(opens_at) if opens_at else None,
        due_at=doc["due_at"],
        application_id=application_id,
        registration_number=number,
        exporter=doc.get("exporter_name"),
        source=doc.get("source"),
        url=url,
    )


def _month_after(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _weeks(first: date, today: date, entries: list[CalendarEntry]) -> list[list[CalendarDay]]:
    by_day: dict[date, list[CalendarEntry]] = {}
    for entry in entries:
        by_day.setdefault(entry.last_day, []).append(entry)
    grid = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(
        first.year, first.month
    )
    return [
        [
            CalendarDay(
                day=day,
                in_month=day.month == first.month,
                today=day == today,
                entries=by_day.get(day, []) if day.month == first.month else [],
            )
            for day in week
        ]
        for week in grid
    ]


async def deadline_month(
    *,
    db: Database,
    now: datetime,
    month: date,
    status: str | None = None,
    kind: str | None = None,
) -> DeadlineMonth:
    """The deadlines whose last day (Beijing) falls in ``month``, optionally filtered."""
    first, following = month.replace(day=1), _month_after(month.replace(day=1))
    # last_day(due_at) is in the month  <=>  start of its first day < due_at <= end of its last.
    query: dict[str, Any] = {
        "due_at": {"$gt": start_of_day(first), "$lte": end_of_day(following - timedelta(days=1))}
    }
    if status:
        query["status"] = status
    if kind:
        query["kind"] = kind
    docs = await db["deadlines"].find(query).sort("due_at", 1).limit(MONTH_LIMIT + 1).to_list()
    entries = [_entry(d) for d in docs[:MONTH_LIMIT]]
    today = authority_date(now)
    previous = (first - timedelta(days=1)).replace(day=1)
    return DeadlineMonth(
        month=first,
        previous=previous.strftime("%Y-%m"),
        next=following.strftime("%Y-%m"),
        today=today,
        status=status,
        kind=kind,
        weeks=_weeks(first, today, entries),
        entries=entries,
        cut=len(docs) > MONTH_LIMIT,
    )


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts like a formula; names come from partners.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def month_csv(month: DeadlineMonth) -> str:
    """The deadlines of ``month`` (as shown, filters applied) as CSV, one row each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in month.entries:
        row = (
            e.last_day.isoformat(),
            e.kind,
            e.status,
            e.subject,
            e.application_id,
            e.registration_number,
            e.exporter,
            e.opens_on.isoformat() if e.opens_on else None,
            e.due_at.isoformat(),
            e.source,
        )
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
