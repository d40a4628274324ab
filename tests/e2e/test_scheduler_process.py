"""The scheduler and the notifier as processes, at the date REGWATCH_NOW names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.domain.deadlines import Deadline
from shared.domain.models import new_id
from shared.infra import db as mongo
from shared.infra.deadline_store import open_deadline
from shared.infra.settings import Settings
from tests.integration.deadline_support import (
    ensure_maildir,
    isolated_settings,
    mails_to,
    subject_of,
)
from tests.processes import ServiceProcess, service_env
from tests.support import wait_until

pytestmark = pytest.mark.e2e
REGWATCH_NOW = datetime(2032, 5, 10, 8, 0, tzinfo=UTC)


@pytest.mark.asyncio
async def test_scheduler_process_at_regwatch_now_reminds_by_email_and_stops_cleanly(
    settings: Settings, smtp: dict
) -> None:
    ensure_maildir(smtp["maildir"])
    [contact] = [f"process-{uuid.uuid4().hex[:8]}@exporter.example"]
    with isolated_settings(settings) as own:
        client = mongo.connect(own)
        database: AsyncDatabase = mongo.database(client, own)
        await mongo.ensure_indexes(database)
        deadline = Deadline(
            _id=new_id("dl"),
            kind="additional_materials",
            subject="app_process",
            due_at=REGWATCH_NOW + timedelta(days=7, minutes=-1),  # T-7d fell a minute ago
            opened_at=REGWATCH_NOW - timedelta(days=23),
            reminder_offsets_days=[7],
            exporter_name="Pampas Dairy SA",
            contact_emails=[contact],
        )
        await open_deadline(database, deadline)
        env = service_env(own, regwatch_now=REGWATCH_NOW.isoformat(), scheduler_tick_seconds=0.5)
        processes = [ServiceProcess("scheduler", env), ServiceProcess("notifier", env)]
        try:
            await wait_until(lambda: len(mails_to(smtp["maildir"], {contact})) >= 1, timeout=60)
        finally:
            for process in processes:
                process.stop()
        [mail] = mails_to(smtp["maildir"], {contact})
        reminder = await database["reminders"].find_one({"_id": f"{deadline.id}:T-7d"})
        await client.drop_database(own.mongodb_db)
        await client.close()
    assert subject_of(mail).startswith("Additional materials due in 7 days: Pampas Dairy SA")
    assert reminder is not None
    assert reminder["status"] == "emitted"
    assert reminder["emitted_at"] - REGWATCH_NOW < timedelta(minutes=2)  # the shifted clock
    assert [p.process.returncode for p in processes] == [0, 0], [p.output() for p in processes]
