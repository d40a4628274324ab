"""What a property-based fuzzer found in the intake, each pinned: a page number beyond
64 bits, an exporter without a name or country, a date given as a number, OPTIONS without
``Allow``, an unbounded metadata year, and a CR/LF in a name on its way to a mail header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from services.intake.checks import IntakeError, parse_metadata
from services.intake.http import create_http_app
from services.notifier.render import header_safe
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra.settings import Settings

ASYNC = pytest.mark.asyncio(loop_scope="session")  # sync tests here carry no asyncio mark
EXPORTER = {"name": "Fjord Dairy AS", "country": "NO", "contact_emails": ["export@fjord.example"]}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(settings: Settings, db: AsyncDatabase) -> AsyncIterator[httpx.AsyncClient]:
    ctx = await intake_app.start(settings)
    now = datetime.now(UTC)
    partner = new_partner(name="Fuzzer findings partner", now=now)
    await save_partner(db, partner=partner)
    key = await issue_api_key(db, partner_id=partner.id, now=now)
    transport = httpx.ASGITransport(app=create_http_app(ctx))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://intake", headers={"Authorization": f"Bearer {key}"}
    ) as http:
        yield http
    await ctx.close()


def application(**changes: Any) -> dict[str, Any]:
    base = {"exporter": EXPORTER, "category": "food.dairy", "product": "cheese", "kind": "new"}
    return {**base, **changes}


@ASYNC
async def test_a_page_number_beyond_64_bits_is_a_problem_not_a_crash(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/applications", params={"page": "9" * 40})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "body",
    [
        application(exporter={**EXPORTER, "name": ""}),
        application(exporter={**EXPORTER, "name": "   "}),
        application(exporter={**EXPORTER, "country": ""}),
        application(exporter={**EXPORTER, "country": "Norway"}),
        application(exporter={**EXPORTER, "name": "Fjord\r\nBcc: everyone@example.com"}),
        application(exporter={**EXPORTER, "name": "Fjord \u202egnp.exe"}),
        application(kind="renewal", registration_number="CNOR1", registration_valid_until=0),
        application(
            kind="renewal", registration_number="CNOR1", registration_valid_until="0001-01-01"
        ),
    ],
)
@ASYNC
async def test_an_exporter_that_names_nobody_or_a_numeric_date_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/v1/applications", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "urn:regwatch:problem:invalid_request"


@ASYNC
async def test_names_are_stored_normalised_and_trimmed(client: httpx.AsyncClient) -> None:
    decomposed = "Fjord Me\u0301ieri AS "  # e + combining acute
    response = await client.post(
        "/v1/applications", json=application(exporter={**EXPORTER, "name": decomposed})
    )
    assert response.status_code == 201, response.text
    assert response.json()["exporter"]["name"] == "Fjord M\u00e9ieri AS"


@ASYNC
async def test_options_lists_the_allowed_methods(client: httpx.AsyncClient) -> None:
    response = await client.options("/v1/applications")
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}
    assert (await client.options("/v1/nothing-here")).status_code == 404
    refused = await client.delete("/v1/applications")
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}


@pytest.mark.parametrize(
    "raw",
    [
        '{"year": ' + "9" * 30 + "}",
        '{"year": -1}',
        '{"year": ' + "1" * 5000 + "}",
        '{"issue_date": 0}',
        '{"language": "en\\r\\nX-Injected: 1"}',
        '{"material": "' + "x" * 300 + '"}',
        "[" * 100_000,
        '{"translation_of": "\\u202eexe.fdp"}',
    ],
)
def test_metadata_beyond_what_bson_and_headers_take_is_refused(raw: str) -> None:
    with pytest.raises(IntakeError) as refused:
        parse_metadata(raw)
    assert refused.value.code == "bad_metadata"


def test_email_subjects_are_one_header_line() -> None:
    assert header_safe("Reminder: Fjord\r\nBcc: everyone@example.com") == (
        "Reminder: Fjord Bcc: everyone@example.com"
    )
    assert "\n" not in header_safe("a\u2028b\x00c\nd")
