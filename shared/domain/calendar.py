"""The authority's calendar: GACC counts days in China Standard Time (Asia/Shanghai).

A window or a validity that ends on a day ends at 24:00 Beijing time on that day; the date
of a filing is its date in Beijing. Instants are kept in UTC; these functions turn the
authority's days into instants and back (pure, no clock).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

AUTHORITY_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_REMINDER_TIME = time(9, 0)


def authority_date(instant: datetime) -> date:
    """The day ``instant`` falls on in Beijing (an evening UTC instant is already tomorrow)."""
    return instant.astimezone(AUTHORITY_TZ).date()


def start_of_day(day: date) -> datetime:
    """00:00 Beijing time on ``day``, as a UTC instant."""
    return datetime.combine(day, time.min, AUTHORITY_TZ).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """24:00 Beijing time on ``day`` (the first instant after it), as a UTC instant."""
    return start_of_day(day + timedelta(days=1))


def at_local_time(day: date, local: time = DEFAULT_REMINDER_TIME) -> datetime:
    """``local`` o'clock Beijing time on ``day``, as a UTC instant (reminders fire then)."""
    return datetime.combine(day, local, AUTHORITY_TZ).astimezone(UTC)


def months_before(day: date, months: int) -> date:
    """``months`` calendar months before ``day``; a day the month lacks becomes its last day.

    31 August less 6 months is 28 February (29 in a leap year).
    """
    earlier: date = day - relativedelta(months=months)
    return earlier


def stored_day(day: date) -> datetime:
    """How a calendar day is stored in MongoDB (BSON has no date type): UTC midnight."""
    return datetime.combine(day, time.min, UTC)


def day_of(value: datetime | date) -> date:
    """The calendar day of a stored day (see ``stored_day``) or of a plain date."""
    return value.date() if isinstance(value, datetime) else value
