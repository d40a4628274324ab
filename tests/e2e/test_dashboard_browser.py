"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright):
log in, watch the overview, see a submitted document's events arrive live, read the
validation result, replay a dead letter and see it processed; search, read a dead letter's
details, use the deadline calendar and its CSV export, and find no serious accessibility
violation (axe-core, bundled in axe-playwright-python) on any page. Screenshots of each
page go to tests/artifacts/. Install the browser with scripts/install-browser.sh."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import pytest_asyncio
from PIL import Image, ImageDraw
from pymongo.asynchronous.database import AsyncDatabase

from services.dashboard.context import Dashboard
from services.intake import app as intake_app
from services.validator import app as validator_app
from shared.app.registrations import new_registration
from shared.domain.deadlines import Deadline
from shared.domain.models import Exporter, new_id
from shared.infra.deadline_store import open_deadline
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import (
    DEAD_LETTER_EXCHANGE,
    INTAKE_DOCUMENTS,
    INTAKE_EXCHANGE,
    SUBMIT_ROUTING_KEY,
    VALIDATOR_EVENTS,
)
from tests.dashboard_support import (
    dashboard_server,
    guest_partner,
    intake_dead_letter,
    submission,
    submit_document,
    until_consumers_unlisted,
)
from tests.factories import make_application
from tests.support import sample_pdf, wait_until

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import Page, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the machine
    async_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(
        async_playwright is None,
        reason="Playwright or axe-playwright-python is missing: run scripts/install-browser.sh",
    ),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: run scripts/install-browser.sh"
    ),
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(settings: Settings, db: AsyncDatabase) -> AsyncIterator[list[ServiceContext]]:
    contexts = [await intake_app.start(settings), await validator_app.start(settings)]
    yield contexts
    for ctx in contexts:
        await ctx.close()
    await until_consumers_unlisted(settings, (INTAKE_DOCUMENTS.name, VALIDATOR_EVENTS.name))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dashboard(
    settings: Settings, services: list[ServiceContext]
) -> AsyncIterator[tuple[Dashboard, str]]:
    async with dashboard_server(settings) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def page(dashboard: tuple[Dashboard, str]) -> AsyncIterator[Any]:
    """One browser tab for the module: the tests follow an ops session step by step."""
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        context = await browser.new_context(
            base_url=dashboard[1], viewport={"width": 1400, "height": 1000}
        )
        context.set_default_timeout(20_000)
        tab = await context.new_page()
        yield tab
        await context.close()
        await browser.close()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


async def expect_validation_shown(page: Page, db: AsyncDatabase, application_id: str) -> None:
    """The page shows the latest stored validation result, verdict and rule by rule."""

    async def latest() -> dict[str, Any] | None:
        return await db["validation_results"].find_one(
            {"application_id": application_id}, sort=[("evaluated_at", -1)]
        )

    await wait_until(latest, timeout=20)
    await page.reload()  # the result may have been stored after the page was rendered
    result = await latest()
    assert result is not None
    await expect(page.locator("#verdict")).to_have_text(result["verdict"])
    rules = page.locator("#rules")
    for outcome in result["outcomes"]:
        await expect(rules).to_contain_text(outcome["message"])


async def test_ops_log_in_and_see_the_overview(page: Page, settings: Settings) -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    await shot(page, "login")
    await page.fill("input[name=password]", "wrong token")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_be_visible()
    await page.fill("input[name=password]", settings.regwatch_ops_token)
    await page.click("#login-submit")
    await expect(page.locator("h1")).to_have_text("Overview")
    await expect(page.locator("#queues")).to_contain_text("regwatch.intake.documents")
    await expect(page.locator("img[alt='events per minute']")).to_be_visible()
    await shot(page, "overview")


async def test_submitted_document_appears_live_without_reload(
    page: Page, settings: Settings, db: AsyncDatabase
) -> None:
    application_id = await make_application(db, await guest_partner(db))
    await page.goto("/events")
    await expect(page.locator("#live .status")).to_have_text("connected")
    await page.evaluate("window.__notReloaded = true")

    await submit_document(
        settings.amqp_url,
        submission(sample_pdf(str(uuid.uuid4())), application_id=application_id),
    )
    received = page.locator(f"#feed li[data-type='document.received']:has-text('{application_id}')")
    validated = page.locator(
        f"#feed li[data-type='application.validated']:has-text('{application_id}')"
    )
    await expect(received).to_have_count(1)
    await expect(validated).to_have_count(1)
    assert await page.evaluate("window.__notReloaded") is True, "the page must not reload"
    await shot(page, "live-events")

    await received.locator("a").click()
    await expect(page.locator("h1")).to_contain_text("Nordic Scrap AB")
    await expect_validation_shown(page, db, application_id)
    await expect(page.locator("#documents")).to_contain_text("licence.pdf")
    await shot(page, "application")


async def test_replayed_dead_letter_is_processed(
    page: Page, settings: Settings, db: AsyncDatabase
) -> None:
    application_id = await make_application(db, await guest_partner(db))
    message = submission(
        sample_pdf(str(uuid.uuid4())), application_id=application_id, filename="replayed.pdf"
    )
    await intake_dead_letter(settings.amqp_url, message)

    await page.goto("/dead-letters")
    row = page.locator(f"#dead-letters tr:has-text('{message.message_id}')")
    await expect(row).to_contain_text("regwatch.intake.documents")
    await expect(row).to_contain_text("delivery_limit")
    await shot(page, "dead-letters")
    await row.locator("button.replay").click()
    await expect(page.locator("#done")).to_have_text("replay: 1 message(s)")
    await expect(page.locator("#actions")).to_contain_text(str(message.message_id))
    await expect(page.locator(f"#dead-letters tr:has-text('{message.message_id}')")).to_have_count(
        0
    )

    async def stored() -> bool:
        return bool(await db["documents"].find_one({"idempotency_key": message.message_id}))

    await wait_until(stored, timeout=20)
    await page.goto(f"/applications/{application_id}")
    await expect(page.locator("#documents")).to_contain_text("replayed.pdf")
    await expect_validation_shown(page, db, application_id)
    await shot(page, "replayed-application")


# --- A dashboard that answers questions: search, dead-letter details, the calendar, axe ---


def scanned_pdf(text: str) -> bytes:
    """A one-page PDF whose page is a picture, as a scanned certificate is."""
    picture = Image.new("RGB", (400, 560), (245, 245, 235))
    ImageDraw.Draw(picture).text((40, 40), text, fill=(20, 20, 120))
    out = io.BytesIO()
    picture.save(out, format="PDF")
    return out.getvalue()


async def consumer_dead_letter(amqp_url: str, body: bytes, reason: str) -> str:
    """A submission as a consumer's last try dead-letters it (shared/infra/dead_letters.py):
    the error as ``x-first-death-reason`` and the original routing key. Returns its id."""
    message_id = f"dl-{uuid.uuid4()}"
    headers = {
        "x-application-id": "app_not_there",
        "x-document-type": "business_licence",
        "x-filename": "scan.pdf",
        "x-document-meta": json.dumps({"language": "en", "issuer": "Skatteverket"}),
        "x-first-death-queue": INTAKE_DOCUMENTS.name,
        "x-first-death-exchange": INTAKE_EXCHANGE.name,
        "x-first-death-reason": reason,
        "x-regwatch-user-id": "guest",
    }
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE.name)
        message = aio_pika.Message(
            body, message_id=message_id, content_type="application/pdf", headers=headers
        )
        await exchange.publish(message, routing_key=SUBMIT_ROUTING_KEY)
    return message_id


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands."""
    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_search_box_finds_exporter_registration_and_document_by_kind(
    page: Page, db: AsyncDatabase
) -> None:
    word = f"Fjord{uuid.uuid4().hex[:6]}"
    number = f"CSWE{uuid.uuid4().hex[:8].upper()}"
    partner = await guest_partner(db)
    exporter = Exporter(name=f"{word} Dairy Cooperative", country="NO")
    application_id = await make_application(
        db, partner, exporter=exporter, kind="renewal", registration_number=number
    )
    await db["registrations"].insert_one(
        new_registration(
            number=number,
            category="food.dairy",
            product="milk_powder",
            exporter=exporter.model_dump(),
            contact_emails=[],
            issued_on=date(2025, 1, 1),
            valid_until=date(2030, 1, 1),
            application_id=None,
            source="import",
            now=datetime.now(UTC),
        )
    )

    await page.goto("/applications")
    await page.keyboard.press("/")  # the search box from any page, by keyboard
    await expect(page.locator("#site-search")).to_be_focused()
    await page.keyboard.type(word.lower()[:8])  # part of a word, in another case
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/search\?q="))
    await expect(page.locator("#hits-application")).to_contain_text(application_id)
    await expect(page.locator("#hits-registration")).to_contain_text(number)
    await shot(page, "search-exporter")

    await page.fill("#site-search", number.lower())
    await page.press("#site-search", "Enter")
    await expect(page.locator("#hits-registration")).to_contain_text(number)
    await expect(page.locator("#hits-application")).to_contain_text("matched registration number")

    document = await db["documents"].find_one({}, sort=[("received_at", -1)])
    assert document is not None, "the earlier tests stored documents"
    await page.fill("#site-search", document["_id"][:14])
    await page.press("#site-search", "Enter")
    await expect(page.locator("#hits-document")).to_contain_text(document["_id"])
    await page.locator("#hits-document a").first.click()
    await expect(page).to_have_url(re.compile(f"/applications/{document['application_id']}"))
    await expect(page.locator("#history li").first).to_contain_text("created as")


async def test_dead_letter_details_show_the_error_origin_headers_and_first_page(
    page: Page, settings: Settings
) -> None:
    reason = "DuplicateKeyError: E11000 duplicate key error collection: documents"
    message_id = await consumer_dead_letter(
        settings.amqp_url, scanned_pdf("CERTIFICATE OF ORIGIN"), reason
    )
    await page.goto("/dead-letters")
    row = page.locator(f"#dead-letters tr:has-text('{message_id}')")
    await expect(row).to_contain_text("DuplicateKeyError")
    await row.locator("a.details").focus()
    await page.keyboard.press("Enter")

    await expect(page.locator("#error-type")).to_have_text("DuplicateKeyError")
    await expect(page.locator("#error-message")).to_have_text(
        "E11000 duplicate key error collection: documents"
    )
    await expect(page.locator("#origin-queue")).to_have_text(INTAKE_DOCUMENTS.name)
    await expect(page.locator("#origin-routing-key")).to_have_text(SUBMIT_ROUTING_KEY)
    await expect(page.locator("#headers")).to_contain_text('"issuer": "Skatteverket"')
    await expect(page.locator("#payload-facts")).to_contain_text("application/pdf")
    await expect(page.locator("#payload-facts")).to_contain_text("1 page(s)")
    picture = page.locator("#payload-picture")
    await expect(picture).to_be_visible()

    async def picture_loaded() -> bool:
        # Evaluated on the element, not as a page string: the page's CSP forbids eval.
        return bool(await picture.evaluate("img => img.complete && img.naturalWidth > 0"))

    await wait_until(picture_loaded, timeout=20, interval=0.1)
    await shot(page, "dead-letter-details")
    assert await serious_violations(page) == []

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # "for good?"
    await page.get_by_role("button", name="Discard").click()
    await expect(page.locator("#done")).to_have_text("discard: 1 message(s)")
    await expect(page.locator(f"#dead-letters tr:has-text('{message_id}')")).to_have_count(0)


async def test_calendar_shows_a_deadline_on_its_beijing_last_day_and_exports_it(
    page: Page, db: AsyncDatabase
) -> None:
    subject = f"CSWE{uuid.uuid4().hex[:8].upper()}"
    # 17:00 UTC on 30 November is 01:00 on 1 December in Beijing: the authority's day.
    due_at = datetime(2031, 11, 30, 17, 0, tzinfo=UTC)
    await open_deadline(
        db,
        Deadline(
            _id=new_id("dl"),
            kind="expiry",
            subject=subject,
            due_at=due_at,
            opened_at=datetime.now(UTC),
            exporter_name="Calendar Test Oy",
        ),
    )
    await page.goto("/deadlines")
    await page.fill("input[name=month]", "2031-12")
    await page.select_option("select[name=kind]", "expiry")
    await page.locator("#deadline-filters button").press("Enter")
    await expect(page).to_have_url(re.compile(r"month=2031-12"))
    await expect(page.locator("#calendar td[data-day='2031-12-01']")).to_contain_text(
        "Calendar Test Oy"
    )
    await expect(page.locator("#deadline-list")).to_contain_text(subject)
    await shot(page, "deadlines-calendar")
    assert await serious_violations(page) == []

    async with page.expect_download() as download_info:
        await page.click("#csv-export")
    download = await download_info.value
    exported = await asyncio.to_thread((await download.path()).read_text)
    rows = list(csv.DictReader(io.StringIO(exported)))
    mine = [r for r in rows if r["subject"] == subject]
    assert [(r["last_day"], r["kind"]) for r in mine] == [("2031-12-01", "expiry")]
    assert all(r["kind"] == "expiry" for r in rows), "the export holds what the filters show"

    await page.click("#previous-month")
    await expect(page.locator("#deadline-list")).not_to_contain_text(subject)


async def test_every_page_passes_axe_and_keyboard_reaches_the_content(
    page: Page, db: AsyncDatabase
) -> None:
    application = await db["applications"].find_one({}, sort=[("updated_at", -1)])
    registration = await db["registrations"].find_one({})
    assert application is not None
    assert registration is not None
    paths = [
        "/",
        "/events",
        "/applications",
        f"/applications/{application['_id']}",
        "/registrations",
        f"/registrations/{registration['number']}",
        "/deadlines",
        "/dead-letters",
        "/search?q=nordic",
        "/search?q=x",
        "/login",
    ]
    found = {}
    for path in paths:
        await page.goto(path)
        violations = await serious_violations(page)
        if violations:
            found[path] = violations
    assert found == {}

    await page.goto("/applications")
    await page.keyboard.press("Tab")
    await expect(page.locator("a.skip")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()


async def test_a_forged_form_from_another_page_is_refused_and_changes_nothing(
    page: Page, settings: Settings, db: AsyncDatabase, dashboard: tuple[Dashboard, str]
) -> None:
    """The logged-in browser submits a form another page planted: refused, nothing discarded;
    the dashboard's own form (with its CSRF token) still works, under its strict CSP."""
    application_id = await make_application(db, await guest_partner(db))
    message = submission(sample_pdf(str(uuid.uuid4())), application_id=application_id)
    await intake_dead_letter(settings.amqp_url, message)
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content-Security" in m.text else None
    )

    await page.goto("/dead-letters")
    row = page.locator(f"#dead-letters tr:has-text('{message.message_id}')")
    await expect(row).to_have_count(1)
    attacker = await page.context.new_page()
    await attacker.set_content(
        f'<form method="post" action="{dashboard[1]}/dead-letters/all/discard">'
        '<button id="go">win a prize</button></form>'
    )
    async with attacker.expect_navigation() as navigation:
        await attacker.click("#go")
    forged = await navigation.value
    assert forged is not None
    assert forged.status == 403
    await attacker.close()

    await page.reload()
    await expect(row).to_have_count(1)  # nothing was discarded
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.locator("form[data-confirm] button").click()
    await expect(page.locator("#done")).to_have_text("discard: 1 message(s)")
    await expect(row).to_have_count(0)
    assert violations == [], violations
