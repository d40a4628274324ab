"""Validator handlers: re-evaluate an application and record the result, once per input."""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.validator.evaluate import evaluate_file_types, fingerprint
from shared.events import ApplicationValidated, CloudEvent, new_event
from shared.inbox import first_delivery
from shared.models import new_id
from shared.outbox import in_transaction, outbox_entry
from shared.runtime import ServiceContext

SERVICE = "validator"
log = logging.getLogger("regwatch.validator")


async def revalidate(ctx: ServiceContext, application_id: str, cause: CloudEvent) -> str | None:
    """Evaluate the whole application; returns the new result id, or None if nothing new."""
    published: list[str] = []

    async def work(session: AsyncClientSession) -> str | None:
        published.clear()
        if not await first_delivery(ctx.db, SERVICE, cause.id, ctx.clock, session):
            return None
        application = await ctx.db["applications"].find_one(
            {"_id": application_id}, session=session
        )
        if application is None:
            log.warning("event %s names unknown application %s", cause.id, application_id)
            return None
        documents: list[dict[str, Any]] = (
            await ctx.db["documents"]
            .find({"application_id": application_id}, session=session)
            .to_list()
        )
        now = ctx.clock.now()
        evaluation = evaluate_file_types(application, documents, now)
        digest = fingerprint(application, documents, evaluation.catalog_version)
        results = ctx.db["validation_results"]
        if await results.find_one(
            {"application_id": application_id, "fingerprint": digest}, {"_id": 1}, session=session
        ):
            return None
        result_id = new_id("val")
        await results.insert_one(
            {
                "_id": result_id,
                "application_id": application_id,
                "fingerprint": digest,
                "evaluated_at": now,
                "caused_by": cause.id,
                **evaluation.model_dump(mode="json"),
            },
            session=session,
        )
        event = new_event(
            "application.validated",
            ApplicationValidated(
                application_id=application_id,
                verdict=evaluation.verdict,
                missing=evaluation.missing,
                validation_id=result_id,
                catalog_version=evaluation.catalog_version,
            ),
            service=SERVICE,
            time=now,
            subject=application_id,
            correlation_id=cause.correlationid,
            causation_id=cause.id,
        )
        await ctx.db["outbox"].insert_one(outbox_entry(event, now), session=session)
        published.append(event.id)
        return result_id

    result = await in_transaction(ctx.client, work)
    for event_id in published:
        await ctx.relay.publish(event_id)
    return result
