"""Registrations without a server: CSV rows checked, renewal windows from the regime."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.app.registrations import (
    RegistrationRefused,
    check_row,
    midnight,
    parse_rows,
    renewal_deadline,
)
from shared.domain.catalog import cached_catalog

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def registration(category: str, valid_until: date) -> dict:
    return {
        "_id": "reg_1",
        "number": "R-1",
        "category": category,
        "exporter": {"name": "Exporter"},
        "contact_emails": ["a@example.com"],
        "valid_until": midnight(valid_until),
    }


@pytest.mark.parametrize(
    ("category", "valid_until", "closes", "offsets"),
    [
        ("scrap.paper", date(2020, 6, 30), date(2019, 12, 30), 8),  # seed 000: 6 months before
        ("food.dairy", date(2025, 12, 31), date(2025, 9, 30), 8),  # Decree 248: 3 months before
        ("food.meat", date(2030, 5, 31), date(2030, 2, 28), 8),  # Decree 280
    ],
)
def test_renewal_window_closes_as_the_regime_says(
    category: str, valid_until: date, closes: date, offsets: int
) -> None:
    deadline = renewal_deadline(cached_catalog(), registration(category, valid_until), NOW)
    assert deadline.due_at == midnight(closes)
    assert deadline.expires_at == midnight(valid_until)
    assert len(deadline.reminder_offsets_days) == offsets
    assert deadline.id == f"dl_renewal_R-1_{valid_until:%Y%m%d}"


def test_scrap_registration_past_the_ban_cannot_be_watched_for_renewal() -> None:
    with pytest.raises(RegistrationRefused, match="cannot be renewed: China has banned"):
        renewal_deadline(cached_catalog(), registration("scrap.metal", date(2021, 6, 1)), NOW)


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
    assert errors == [] and [line for line, _ in rows] == [2]
    row = check_row(cached_catalog(), rows[0][1])
    assert row.product is None
    assert [str(e) for e in row.contact_emails] == ["a@x.example", "b@x.example"]
