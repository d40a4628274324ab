"""The ops commands of ``regwatch`` (status, applications, dlq, demo) against the real
broker, database and running intake and validator services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.http import create_http_app
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_DOCUMENTS, VALIDATOR_EVENTS
from tests.cli_support import json_of, regwatch
from tests.dashboard_support import (
    guest_partner,
    intake_dead_letter,
    poison_dead_letter,
    submission,
    validated_application,
)
from tests.factories import make_application
from tests.support import sample_pdf, serving, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake_url(services: list[ServiceContext]) -> AsyncIterator[str]:
    """The intake HTTP API served on a free port, as ``python -m services.intake`` does."""
    async with serving(create_http_app(services[0])) as url:
        yield url


async def test_status_shows_applications_queues_and_alarms(
    settings: Settings, db: AsyncDatabase, services: list[ServiceContext]
) -> None:
    category = f"scrap.cli{uuid.uuid4().hex[:6]}"
    await make_application(db, await guest_partner(db), category=category)
    data = json_of(await regwatch(settings, "status", "--json"))
    assert {"status": "submitted", "category": category, "count": 1} in data["overview"][
        "applications"
    ]
    queues = {q["name"]: q for q in data["queues"]["queues"]}
    assert queues[INTAKE_DOCUMENTS.name]["consumers"] >= 1
    assert any(a["queue"] == "regwatch.notifier.events" for a in data["queues"]["alarms"])

    human = await regwatch(settings, "status")
    assert human.exit_code == 0, human.output
    assert "ALARM" in human.stdout
    assert "regwatch.notifier.events" in human.stdout
    assert category in human.stdout


async def test_applications_list_and_show(
    settings: Settings, db: AsyncDatabase, services: list[ServiceContext]
) -> None:
    category = "food.coffee_cocoa"  # a category no other test of this session uses
    application_id = await validated_application(settings, db, category=category, product=None)
    rows = json_of(
        await regwatch(settings, "applications", "list", "--category", category, "--json")
    )
    assert [r["id"] for r in rows] == [application_id]

    detail = json_of(await regwatch(settings, "applications", "show", application_id, "--json"))
    assert detail["application"]["id"] == application_id
    assert [d["filename"] for d in detail["documents"]] == ["licence.pdf"]
    assert detail["validation"]["verdict"] in ("complete", "incomplete", "refused")

    human = await regwatch(settings, "applications", "show", application_id)
    assert human.exit_code == 0, human.output
    assert "Latest validation, rule by rule" in human.stdout
    assert "licence.pdf" in human.stdout
    missing = await regwatch(settings, "applications", "show", "app_missing")
    assert missing.exit_code == 1
    assert "There is no application app_missing." in missing.output


async def test_dlq_list_discard_and_replay(
    settings: Settings, db: AsyncDatabase, services: list[ServiceContext]
) -> None:
    poison_id = await poison_dead_letter(settings.amqp_url, VALIDATOR_EVENTS.name, b"{oops")

    async def listed(message_id: str) -> list[dict[str, Any]]:
        letters = json_of(await regwatch(settings, "dlq", "list", "--json"))
        return [d for d in letters if d["message_id"] == message_id]

    await wait_until(lambda: listed(poison_id), timeout=20, interval=0.5)
    [poison] = await listed(poison_id)
    assert poison["reason"] == "rejected"
    assert poison["queue"] == VALIDATOR_EVENTS.name

    discarded = json_of(await regwatch(settings, "dlq", "discard", poison["id"], "--yes", "--json"))
    assert [a["message_id"] for a in discarded] == [poison_id]
    assert discarded[0]["actor"].startswith("cli:")
    assert not await listed(poison_id)
    recorded = await db["dead_letter_actions"].find_one({"message_id": poison_id})
    assert recorded is not None
    assert recorded["action"] == "discard"

    application_id = await make_application(db, await guest_partner(db))
    message = submission(sample_pdf(str(uuid.uuid4())), application_id=application_id)
    await intake_dead_letter(settings.amqp_url, message)
    [letter] = await listed(str(message.message_id))
    replayed = await regwatch(settings, "dlq", "replay", letter["id"])
    assert replayed.exit_code == 0, replayed.output
    assert "1 dead letter(s) replayed" in replayed.stdout

    async def stored() -> bool:
        return bool(await db["documents"].find_one({"idempotency_key": message.message_id}))

    await wait_until(stored, timeout=20)
    unknown = await regwatch(settings, "dlq", "replay", letter["id"])
    assert unknown.exit_code == 1
    assert "No dead letter" in unknown.output
    neither = await regwatch(settings, "dlq", "replay")
    assert neither.exit_code == 2


async def test_demo_sends_both_seed_renewals_and_prints_the_verdicts(
    settings: Settings, db: AsyncDatabase, intake_url: str
) -> None:
    result = await regwatch(
        settings, "demo", "--intake-url", intake_url, "--timeout", "30", "--json"
    )
    summary = json_of(result)
    scrap, dairy = summary["applications"]["scrap"], summary["applications"]["dairy"]
    assert sum(summary["documents"].values()) == 21 + 3, "every document got an answer"
    for application_id in (scrap, dairy):
        assert await db["documents"].count_documents({"application_id": application_id}) >= 1
    assert summary["verdicts"]["scrap"] in ("complete", "incomplete", "refused")
    assert summary["verdicts"]["dairy"] in ("complete", "incomplete", "refused")
    stored = await db["applications"].find_one({"_id": dairy})
    assert stored is not None
    assert stored["category"] == "food.dairy"
    assert "Documents sent" in result.stdout
    assert "verdict" in result.stdout
    assert "ccic-metal-" in result.stdout
    # A partner like any other: its applications, over both contracts, then taken off again.
    assert stored["partner_id"] == summary["partner_id"]
    assert stored["history"][0]["channel"] == "http"
    scrap_stored = await db["applications"].find_one({"_id": scrap})
    assert scrap_stored is not None
    assert scrap_stored["history"][0]["channel"] == "amqp"
    partner = await db["partners"].find_one({"_id": summary["partner_id"]})
    assert partner is not None
    assert partner["revoked"] is True
    assert summary["reader_caught"] is None  # the reader is off in these tests
    assert "the reader is off" in result.stdout
