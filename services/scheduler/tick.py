"""One tick: claim the reminders due now in batches, settle each batch, report what happened."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

from services.scheduler.claims import DueReminders, claim_batch
from services.scheduler.settle import settle_batch
from shared.infra.runtime import ServiceContext

log = logging.getLogger("regwatch.scheduler")


async def run_tick(
    ctx: ServiceContext,
    *,
    replica: str,
    lease: timedelta,
    concurrency: int = 1,
    batch_size: int = 100,
    claim_timeout: float = 10.0,
) -> Counter[str]:
    """Claim and settle the reminders due at the tick's start; counts by outcome.

    Reads only due reminders through the ``(status, fire_at)`` index. The workers take
    batches from one reading of what is due; the lease makes each reminder one worker's (and
    one replica's), and each batch settles in one transaction.
    """
    due_by = ctx.clock.now()
    outcomes: Counter[str] = Counter()

    async def worker(due: DueReminders) -> None:
        while (candidates := await due.next_batch()) is not None:
            claim = await claim_batch(
                ctx.db,
                candidates,
                clock=ctx.clock,
                lease=lease,
                replica=replica,
                timeout=claim_timeout,
            )
            if claim.reminders:
                outcomes.update(await settle_batch(ctx, claim, due_by))

    async with DueReminders(ctx.db, due_by=due_by, clock=ctx.clock, batch_size=batch_size) as due:
        await asyncio.gather(*(worker(due) for _ in range(max(1, concurrency))))
    if outcomes:
        log.info("tick at %s: %s", due_by.isoformat(), dict(outcomes))
    return outcomes
