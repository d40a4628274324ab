"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright):
log in, watch the overview, see a submitted document's events arrive live, read the
validation result, replay a dead letter and see it processed. Screenshots of each page go
to tests/artifacts/. Install the browser with scripts/install-browser.sh."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.dashboard.context import Dashboard
from services.intake import app as intake_app
from services.validator import app as validator_app
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_DOCUMENTS, VALIDATOR_EVENTS
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
    from playwright.async_api import Page, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the machine
    async_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(
        async_playwright is None,
        reason="Playwright is not installed: run scripts/install-browser.sh",
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
    assert forged is not None and forged.status == 403
    await attacker.close()

    await page.reload()
    await expect(row).to_have_count(1)  # nothing was discarded
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.locator("form[data-confirm] button").click()
    await expect(page.locator("#done")).to_have_text("discard: 1 message(s)")
    await expect(row).to_have_count(0)
    assert violations == [], violations
