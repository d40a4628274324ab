"""One tick: claim every reminder due now, settle each, report what happened."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

from services.scheduler.claims import claim_due
from services.scheduler.settle import settle_claimed
from shared.infra.runtime import ServiceContext

log = logging.getLogger("regwatch.scheduler")


async def run_tick(
    ctx: ServiceContext, *, replica: str, lease: timedelta, concurrency: int = 1
) -> Counter[str]:
    """Claim and settle the reminders due at the tick's start; counts by outcome.

    Reads only due reminders through the ``(status, fire_at)`` index. Workers claim
    concurrently; the lease makes each reminder one worker's (and one replica's).
    """
    due_by = ctx.clock.now()
    outcomes: Counter[str] = Counter()

    async def worker() -> None:
        while True:
            reminder = await claim_due(
                ctx.db, due_by=due_by, clock=ctx.clock, lease=lease, replica=replica
            )
            if reminder is None:
                return
            try:
                outcomes[await settle_claimed(ctx, reminder, due_by)] += 1
            except Exception:  # left claimed: any replica retries it once the lease ends
                log.exception("reminder %s failed; retried after its lease", reminder["_id"])
                outcomes["failed"] += 1

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    if outcomes:
        log.info("tick at %s: %s", due_by.isoformat(), dict(outcomes))
    return outcomes
