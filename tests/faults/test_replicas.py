"""Several processes of every service at once, with hundreds of documents and due
reminders in flight: each replica takes part, and SIGKILLs of busy replicas lose nothing and
make nothing happen twice for a user. Long: ``make test-faults`` runs these, ``make test``
does not (marker ``heavy``)."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.infra.settings import Settings
from tests.faults.rabbit_node import RabbitNode
from tests.faults.report import ROWS, ScenarioRow
from tests.faults.scenario import Stream

pytestmark = [pytest.mark.faults, pytest.mark.heavy, pytest.mark.timeout(900)]
REPLICAS = {"intake": 3, "validator": 2, "notifier": 2, "scheduler": 3}
DOCUMENTS = 300
REMINDERS = 30  # per wave, two contacts each
KILL_ROUNDS = 2
# Sent at the start of each kill round: enough to keep the intakes busy for several of the
# broker's statistics intervals on a loaded machine (300 went through in 3 s).
ROUND_DOCUMENTS = 600
MAIL_DELAY_SECONDS = 0.3


@pytest.mark.asyncio
async def test_replicas_of_every_service_share_the_work_and_do_everything_once(
    fault_settings: Settings, fault_db: AsyncDatabase, rabbit_node: RabbitNode
) -> None:
    stream = await Stream.start(
        fault_settings,
        fault_db,
        REPLICAS,
        rabbit_node.ctl_json,
        management_url=rabbit_node.management_url,
    )
    try:
        await stream.add_reminders(REMINDERS)
        await stream.fleet.send(stream.documents(DOCUMENTS))
        await stream.add_reminders(REMINDERS)
        await stream.settle()
        counted = await stream.count()
        dead_letters = await stream.dead_letters()
        work = await stream.work_by_replica()
        ROWS.append(
            ScenarioRow(
                "replicas 3/2/2/3, no fault",
                DOCUMENTS + len(stream.emails),
                lost=len(counted.lost),
                user_duplicates=len(counted.user_duplicates),
                absorbed_duplicates=counted.absorbed,
                notes=f"work per replica {work}; dead letters {dead_letters}",
            )
        )
        assert counted.lost == []
        assert counted.user_duplicates == []
        assert dead_letters == 0
        assert all(n > 0 for done in work.values() for n in done), work
    finally:
        await stream.close()


@pytest.mark.asyncio
async def test_sigkilled_busy_replicas_lose_nothing_and_duplicate_nothing_a_user_sees(
    fault_settings: Settings, fault_db: AsyncDatabase, rabbit_node: RabbitNode
) -> None:
    stream = await Stream.start(
        fault_settings,
        fault_db,
        REPLICAS,
        rabbit_node.ctl_json,
        management_url=rabbit_node.management_url,
        # A mail server this slow keeps a notifier's deliveries in flight long enough for
        # the broker's statistics (every 250 ms) to show which notifier holds work.
        mail_delay=MAIL_DELAY_SECONDS,
    )
    try:
        for _round in range(KILL_ROUNDS):
            # Each round a burst of its own: the broker's statistics show a consumer's
            # unacknowledged deliveries only while a queue is backed up, and a burst from
            # an earlier round may be through before this round's kills.
            stream.send_in_background(ROUND_DOCUMENTS)
            await stream.kill_busy_replica("intake")
            await stream.kill_busy_replica("validator")
            await stream.add_reminders(REMINDERS)
            await stream.kill_busy_replica("scheduler")
            await stream.kill_busy_replica("notifier")
        await stream.sent()
        await stream.settle()
        counted = await stream.count()
        dead_letters = await stream.dead_letters()
        ROWS.append(
            ScenarioRow(
                "replicas, SIGKILL busy replicas",
                stream.documents_sent + len(stream.emails),
                faults=stream.faults,
                in_flight=stream.in_flight,
                lost=len(counted.lost),
                user_duplicates=len(counted.user_duplicates),
                absorbed_duplicates=counted.absorbed,
                resends=stream.fleet.resends,
                notes=f"dead letters {dead_letters}",
            )
        )
        assert counted.lost == [], counted.lost[:10]
        assert counted.user_duplicates == [], counted.user_duplicates[:10]
        assert dead_letters == 0
        assert all(n > 0 for n in stream.in_flight)
    finally:
        await stream.close()
