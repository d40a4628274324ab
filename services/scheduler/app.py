"""Composition root of the scheduler: APScheduler drives the tick and the daily sweep.

APScheduler's job store is in memory and per replica; the exactly-once guarantee lives in
MongoDB (claims with leases, conditional writes, the outbox).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from services.scheduler.sweep import sweep_processing
from services.scheduler.tick import run_tick
from shared.domain.clock import Clock
from shared.infra.runtime import ServiceContext, open_context
from shared.infra.settings import Settings

SERVICE = "scheduler"
log = logging.getLogger("regwatch.scheduler")


@dataclass
class SchedulerService(ServiceContext):
    """The scheduler's context: its replica name and its APScheduler."""

    replica: str = ""
    jobs: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone=UTC))
    running: set[asyncio.Task[Any]] = field(default_factory=set)
    ticks: int = 0  # ticks and sweeps finished, for whoever waits on this replica's work
    sweeps: int = 0

    async def tick(self) -> dict[str, int]:
        lease = timedelta(seconds=self.settings.scheduler_lease_seconds)
        settings = self.settings
        async with self._job():
            run = run_tick(
                self,
                replica=self.replica,
                lease=lease,
                concurrency=settings.scheduler_concurrency,
                batch_size=settings.scheduler_batch_size,
                claim_timeout=settings.scheduler_claim_timeout_seconds,
            )
            outcome = dict(await run)
            self.ticks += 1
            return outcome

    async def sweep(self) -> int:
        async with self._job():
            swept = await sweep_processing(self, processing_days=self.settings.processing_days)
            self.sweeps += 1
            return swept

    @asynccontextmanager
    async def _job(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        assert task is not None
        self.running.add(task)
        try:
            yield
        finally:
            self.running.discard(task)

    async def close(self) -> None:
        """Start no new job, let a running tick finish (claims it left are leased), stop."""
        if self.jobs.running:
            self.jobs.pause()
            if self.running:
                await asyncio.wait(self.running, timeout=self.settings.scheduler_lease_seconds)
            self.jobs.shutdown(wait=False)
        await super().close()


def schedule_jobs(service: SchedulerService) -> None:
    """The tick every ``scheduler_tick_seconds`` and the sweep daily; both also at start."""
    settings = service.settings
    # APScheduler fires on wall-clock time; what is due is decided by the service's clock.
    started = datetime.now(UTC)
    service.jobs.add_jobstore(MemoryJobStore(), "default")
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    service.jobs.add_job(
        service.tick,
        IntervalTrigger(seconds=settings.scheduler_tick_seconds),
        id="tick",
        next_run_time=started,
        **common,
    )
    service.jobs.add_job(
        service.sweep,
        CronTrigger(hour=settings.scheduler_sweep_hour, timezone=UTC),
        id="sweep",
        next_run_time=started,
        **common,
    )
    service.jobs.start()


async def start(
    settings: Settings, clock: Clock | None = None, *, replica: str | None = None
) -> SchedulerService:
    """Connect, start relaying the outbox and start ticking."""
    ctx = await open_context(SERVICE, settings, clock)
    service = SchedulerService(
        **{f.name: getattr(ctx, f.name) for f in fields(ServiceContext)},
        replica=replica or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}",
    )
    await service.start_consuming()
    schedule_jobs(service)
    return service


async def main(settings: Settings) -> None:
    service = await start(settings)
    log.info(
        "ready: replica %s, tick every %g s, sweep daily at %02d:00 UTC",
        service.replica,
        settings.scheduler_tick_seconds,
        settings.scheduler_sweep_hour,
    )
    await service.run_until_stopped()
