"""Registrations without a server: CSV rows checked, renewal windows from the regime."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.app.registration_lifecycle import term_deadlines
from shared.app.registrations import RegistrationRefused, check_row, parse_rows
from shared.domain.calendar import end_of_day, stored_day
from shared.domain.catalog import cached_catalog
from shared.domain.renewal import plan_renewal

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def registration(category: str, valid_until: date) -> dict:
    return {
        "_id": "reg_1",
        "number": "R-1",
        "category": category,
        "exporter": {"name": "Exporter"},
        "contact_emails": ["a@example.com"],
        "valid_until": stored_day(valid_until),
    }


@pytest.mark.parametrize(
    ("category", "valid_until", "today", "opens", "closes"),
    [
        # seed 000: at least 6 months before expiry, no earliest day
        ("scrap.paper", date(2020, 6, 30), date(2019, 6, 1), None, date(2019, 12, 30)),
        # Decree 248: from 6 to 3 months before expiry
        ("food.dairy", date(2025, 12, 31), date(2025, 1, 1), date(2025, 6, 30), date(2025, 9, 30)),
        # Decree 280 (the regime of the filing date)
        ("food.meat", date(2030, 5, 31), NOW.date(), date(2029, 11, 30), date(2030, 2, 28)),
    ],
)
def test_renewal_window_opens_and_closes_as_the_regime_of_the_filing_date_says(
    category: str, valid_until: date, today: date, opens: date | None, closes: date
) -> None:
    plan = plan_renewal(cached_catalog(), category, valid_until, today)
    renewal, expiry = term_deadlines(registration(category, valid_until), plan, NOW)
    assert renewal.due_at == end_of_day(closes)
    assert renewal.first_day == opens
    assert renewal.expires_at == end_of_day(valid_until)
    assert renewal.id == f"dl_renewal_R-1_{valid_until:%Y%m%d}"
    assert expiry.kind == "expiry"
    assert expiry.due_at == end_of_day(valid_until)
    assert expiry.reminder_offsets_days == []  # a renewal can prevent the end


def test_scrap_registration_past_the_ban_is_watched_to_its_expiry_and_says_why() -> None:
    plan = plan_renewal(cached_catalog(), "scrap.metal", date(2021, 6, 1), NOW.date())
    [expiry] = term_deadlines(registration("scrap.metal", date(2021, 6, 1)), plan, NOW)
    assert not plan.renewable
    assert plan.not_renewable_from == date(2021, 1, 1)
    assert expiry.kind == "expiry"
    assert not expiry.renewable
    assert "banned all imports of solid waste" in (expiry.not_renewable_reason or "")
    assert expiry.reminder_offsets_days  # reminders before an end nothing can prevent


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("issued_on", "01/02/2024", "issued_on:"),
        ("contact_emails", "a@example.com;nope", "contact_emails:"),
        ("category", "scrap.gold", "category: unknown category 'scrap.gold'"),
        ("product", "yoghurt", "product: 'yoghurt' is no product of food.dairy"),
        ("valid_until", "2020-01-01", "valid_until: must be after issued_on"),
        ("registration_number", "", "registration_number:"),
    ],
)
def test_bad_rows_are_refused_naming_the_column(field: str, value: str, message: str) -> None:
    row = {
        "registration_number": "R-9",
        "exporter_name": "Fjord Dairy AS",
        "country": "NO",
        "category": "food.dairy",
        "product": "cheese",
        "issued_on": "2023-01-01",
        "valid_until": "2028-01-01",
        "contact_emails": "a@example.com; b@example.com",
        field: value,
    }
    with pytest.raises(RegistrationRefused) as raised:
        check_row(cached_catalog(), row)
    assert str(raised.value).startswith(message)


def test_good_row_splits_emails_and_blank_product_is_none() -> None:
    rows, errors = parse_rows(
        "\ufeffregistration_number,exporter_name,country,category,product,issued_on,"
        "valid_until,contact_emails\nR-1,X,SE,food.other,,2024-01-01,2029-01-01,a@x.example; b@x.example\n\n"
    )
    assert errors == []
    assert [line for line, _ in rows] == [2]
    row = check_row(cached_catalog(), rows[0][1])
    assert row.product is None
    assert [str(e) for e in row.contact_emails] == ["a@x.example", "b@x.example"]
