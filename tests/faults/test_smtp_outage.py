"""The SMTP server down for a while, then back: every reminder the scheduler emits becomes
exactly one email per contact, none lost, none sent twice, nothing dead-lettered."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from devtools.smtp_sink import read_maildir, start_sink
from shared.domain.deadlines import Deadline
from shared.domain.models import Exporter, new_id
from shared.infra.deadline_store import open_deadline
from shared.infra.settings import Settings
from shared.infra.topology import NOTIFIER_EVENTS
from tests.factories import make_application, make_partner
from tests.faults.replicas import closing_with_reminder_fired
from tests.faults.stream import start_services, wait_consuming
from tests.servers import management_request
from tests.support import wait_until

pytestmark = pytest.mark.faults
REMINDERS = 6
CONTACTS = 2


async def due_rectification_windows(db: AsyncDatabase, tag: str) -> list[str]:
    """Applications whose rectification window has a reminder point due right now."""
    partner_id = await make_partner(db, name="SMTP outage partner")
    now = datetime.now(UTC)
    emails = []
    for index in range(REMINDERS):
        contacts = [f"contact{c}-{index}-{tag}@exporter.example" for c in range(CONTACTS)]
        emails += contacts
        exporter = Exporter(name=f"Exporter {index}", country="NZ", contact_emails=contacts)
        application_id = await make_application(
            db, partner_id, exporter=exporter, status="rectification_requested"
        )
        await open_deadline(
            db,
            Deadline(
                _id=new_id("dl"),
                kind="rectification",
                subject=application_id,
                application_id=application_id,
                due_at=closing_with_reminder_fired(now, 3),
                opened_at=now,
                reminder_offsets_days=[3],
            ),
        )
    return emails


@pytest.mark.asyncio
async def test_smtp_outage_then_recovery_delivers_every_email_once(
    fault_settings: Settings, fault_db: AsyncDatabase
) -> None:
    port = free_port()
    maildir = Path(tempfile.mkdtemp(prefix="regwatch-outage-mail-"))
    settings = fault_settings.model_copy(update={"smtp_port": port})
    services = start_services(
        settings,
        ["scheduler", "notifier"],
        scheduler_tick_seconds=1,
        smtp_timeout_seconds=2,
        smtp_retry_attempts=12,
        smtp_retry_base_seconds=0.5,
        smtp_retry_max_seconds=2,
    )
    sink = None
    try:
        await asyncio.to_thread(wait_consuming, settings, "/", [NOTIFIER_EVENTS.name])
        emails = await due_rectification_windows(fault_db, uuid.uuid4().hex[:6])

        async def attempted() -> bool:  # the notifier has met the dead SMTP server
            return await fault_db["deliveries"].count_documents({"attempts": {"$gte": 1}}) > 0

        await wait_until(attempted, timeout=60, message=lambda: services[1].output()[-3000:])
        await asyncio.sleep(2)
        sink = start_sink("127.0.0.1", port, maildir)

        def delivered() -> bool:
            return len(read_maildir(maildir)) >= len(emails)

        await wait_until(delivered, timeout=90, interval=0.5)
        await asyncio.sleep(2)  # anything sent twice would arrive now
        mails = read_maildir(maildir)
        per_recipient = Counter(str(m["To"]) for m in mails)
        assert sorted(per_recipient) == sorted(emails)
        assert set(per_recipient.values()) == {1}, per_recipient
        statuses = Counter([d["status"] async for d in fault_db["deliveries"].find({})])
        assert statuses == {"sent": len(emails)}
        dead = management_request(
            settings.rabbitmq_management_url, "GET", "queues/%2F/regwatch.dead_letters"
        )
        assert dead["messages"] == 0
    finally:
        if sink is not None:
            sink.stop()
        for service in services:
            service.stop()
