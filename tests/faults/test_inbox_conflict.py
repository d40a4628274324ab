"""Two copies of a consumer on one event: the redelivery reaches another copy while the
first (SIGKILLed mid-way, or just slow) still holds its inbox mark in an open transaction.
The second copy's mark waits for that transaction and then collides with it: it must be
told to try again shortly (and then skip the event), not fail the delivery. It used to fail
it, and on the last delivery the event went to the dead letters (the replica SIGKILL
scenario)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.domain.clock import SystemClock
from shared.infra.inbox import first_delivery
from shared.infra.retry import TransientConflict, is_transient

pytestmark = [pytest.mark.faults, pytest.mark.timeout(60)]


@pytest.mark.asyncio
async def test_a_mark_that_commits_while_another_copy_marks_is_a_transient_conflict(
    db: AsyncDatabase,
) -> None:
    event_id = f"evt-{uuid.uuid4().hex}"
    clock = SystemClock()
    async with db.client.start_session() as first_copy:
        await first_copy.start_transaction()
        assert await first_delivery(db, "validator", event_id, clock, session=first_copy)
        second_copy = asyncio.create_task(first_delivery(db, "validator", event_id, clock))
        done, _ = await asyncio.wait({second_copy}, timeout=1.0)
        assert not done, "the second mark should wait for the first copy's transaction"
        await first_copy.commit_transaction()
    with pytest.raises((TransientConflict, PyMongoError)) as collided:
        await asyncio.wait_for(second_copy, 20)
    assert is_transient(collided.value), repr(collided.value)
    # Tried again, the event reads as applied: skipped, not applied twice.
    assert not await first_delivery(db, "validator", event_id, clock)
