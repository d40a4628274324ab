"""Recording a document's facts and staging ``document.read`` in one transaction."""

from __future__ import annotations

from shared.domain.events import CloudEvent, DocumentRead, new_event
from shared.domain.reading import ReadingFacts
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork

FACTS = "document_facts"
SERVICE = "reader"


async def already_read(ctx: ServiceContext, document_id: str) -> bool:
    """True when the document's facts are recorded (its ``document.read`` was staged too)."""
    return await ctx.db[FACTS].find_one({"_id": document_id}, {"_id": 1}) is not None


async def record_facts(
    ctx: ServiceContext, facts: ReadingFacts, cause: CloudEvent, *, partner_id: str | None
) -> bool:
    """Store ``facts`` once per document with its ``document.read``; False if already there."""
    event = new_event(
        "document.read",
        DocumentRead(
            document_id=facts.document_id,
            application_id=facts.application_id,
            partner_id=partner_id,
            document_type=facts.document_type,
            status=facts.status,
            reason=facts.reason,
            pages=facts.pages,
            language=facts.language,
            limits=facts.limits,
            read_at=facts.read_at,
        ),
        service=SERVICE,
        time=facts.read_at,
        subject=facts.application_id,
        correlation_id=cause.correlationid,
        causation_id=cause.id,
    )

    async def work(uow: UnitOfWork) -> bool:
        facts_of = uow.db[FACTS]
        if await facts_of.find_one({"_id": facts.document_id}, {"_id": 1}, session=uow.session):
            return False  # another delivery of the same event got there first
        # BSON has no date type: found dates are kept as ISO strings, read_at as an instant.
        record = facts.model_dump(mode="json", by_alias=True) | {"read_at": facts.read_at}
        await facts_of.insert_one(record, session=uow.session)
        uow.stage(event, partner_id=partner_id)
        return True

    return await ctx.unit_of_work(work)
