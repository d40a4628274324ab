"""The daily sweep: the processing watch for applications nobody opened one for."""

from __future__ import annotations

import logging
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from shared.domain.deadlines import WITH_THE_AUTHORITY, processing_deadline
from shared.infra.deadline_store import open_deadline
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork

log = logging.getLogger("regwatch.scheduler")


async def sweep_processing(ctx: ServiceContext, *, processing_days: int) -> int:
    """Open the processing deadline of every application with the authority too long.

    Reads through the ``(status, created_at)`` index of applications (a filing is never
    before the creation); counts from the filing (``submitted_at``: a renewal that waited for
    its window was filed on the opening day). The deadline id is derived from the
    application, so a deadline the lifecycle already opened stays as is.
    The tick then emits its ``due`` point as ``deadline.processing_overdue``.
    """
    now = ctx.clock.now()
    cutoff = now - timedelta(days=processing_days)
    opened = 0
    cursor = ctx.db["applications"].find(
        {"status": {"$in": list(WITH_THE_AUTHORITY)}, "created_at": {"$lte": cutoff}},
        {"created_at": 1, "submitted_at": 1},
    )
    async for application in cursor:
        submitted = application.get("submitted_at") or application["created_at"]
        if submitted > cutoff:
            continue  # filed later than it was created: not overdue yet
        deadline = processing_deadline(
            application_id=application["_id"],
            submitted_at=submitted,
            opened_at=now,
            processing_days=processing_days,
        )

        async def work(uow: UnitOfWork) -> None:
            await open_deadline(uow.db, deadline, uow.session)  # noqa: B023 (awaited at once)

        try:
            await ctx.unit_of_work(work)
            opened += 1
        except DuplicateKeyError:
            continue
    if opened:
        log.info("processing watch: %d application(s) overdue with the authority", opened)
    return opened
