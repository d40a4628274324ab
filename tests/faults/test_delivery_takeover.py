"""A notifier killed in the middle of sending leaves its deliveries held under a lease. The
event comes back to another notifier at once; it must wait for that lease, then send, not
spend the message's deliveries against it and dead-letter a reminder nobody sent (found by
``test_replicas.py``'s notifier SIGKILLs)."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from devtools.local_infra import free_port
from devtools.smtp_sink import read_maildir, start_sink
from services.notifier import deliveries
from services.notifier.handlers import notify
from shared.domain.events import CloudEvent, DeadlineEvent, new_event
from shared.infra.runtime import ServiceContext, open_context
from shared.infra.settings import Settings
from tests.integration.deadline_support import isolated_settings

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]
DEAD_HOLDERS_LEASE = timedelta(seconds=2)


@pytest_asyncio.fixture
async def notifier_ctx(settings: Settings) -> AsyncIterator[tuple[ServiceContext, Path]]:
    maildir = Path(tempfile.mkdtemp(prefix="regwatch-takeover-mail-"))
    port = free_port()
    sink = start_sink("127.0.0.1", port, maildir)
    with isolated_settings(
        settings, smtp_port=port, smtp_timeout_seconds=2.0, smtp_retry_max_seconds=1.0
    ) as iso:
        ctx = await open_context("notifier", iso)
        try:
            yield ctx, maildir
        finally:
            await ctx.client.drop_database(iso.mongodb_db)
            await ctx.close()
            sink.stop()


def reminder(emails: list[str]) -> CloudEvent:
    now = datetime.now(UTC)
    payload = DeadlineEvent(
        deadline_id="dl_takeover",
        reminder_id=f"dl_takeover:{uuid.uuid4().hex[:6]}",
        kind="rectification",
        subject="app_takeover",
        application_id="app_takeover",
        exporter_name="Nordic Scrap AB",
        product="Copper scrap",
        contact_emails=emails,
        due_at=now + timedelta(days=3),
        days_left=3,
    )
    return new_event(
        "deadline.rectification_due",
        payload,
        service="scheduler",
        time=now,
        subject="app_takeover",
        event_id=f"reminder:{uuid.uuid4().hex}",
    )


@pytest.mark.asyncio
async def test_a_redelivered_reminder_waits_out_a_dead_notifiers_lease_then_is_sent_once(
    notifier_ctx: tuple[ServiceContext, Path],
) -> None:
    ctx, maildir = notifier_ctx
    emails = [f"c{n}-{uuid.uuid4().hex[:6]}@exporter.example" for n in range(2)]
    event = reminder(emails)
    for email in emails:  # what a notifier SIGKILLed mid-send leaves behind
        held = await deliveries.claim(
            ctx,
            event_id=event.id,
            event_type=event.type,
            recipient=email,
            lease=DEAD_HOLDERS_LEASE,
        )
        assert held is not None

    await asyncio.wait_for(notify(ctx, event), 60)  # the redelivery, on another notifier

    mailed = sorted(str(m["To"]) for m in read_maildir(maildir))
    assert mailed == sorted(emails)
    records = await ctx.db["deliveries"].find({"event_id": event.id}).to_list()
    assert {r["status"] for r in records} == {"sent"}
