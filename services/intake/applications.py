"""Applications as partners see them: create, read and list only their own."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any, Literal

from pymongo import DESCENDING

from services.intake.checks import IntakeError
from services.intake.document_types import catalog_of, check_category, check_product
from shared.domain.lifecycle import StatusChange
from shared.domain.models import Application, Exporter, new_id
from shared.infra.runtime import ServiceContext


async def create_application(
    ctx: ServiceContext,
    *,
    partner_id: str,
    exporter: Exporter,
    category: str,
    product: str | None,
    kind: str,
    registration_number: str | None,
    registration_valid_until: Any,
    idempotency_key: str | None = None,
    channel: Literal["http", "amqp"] = "http",
) -> dict[str, Any]:
    """Record a new application in status ``submitted``; raises IntakeError if refused.

    With ``idempotency_key`` (an AMQP message id) a second create with the same key raises
    ``DuplicateKeyError`` (unique index): ``application_by_key`` then finds the first.
    """
    catalog = catalog_of(ctx.settings)
    check_category(catalog, category)
    check_product(catalog, category, product)
    now = ctx.clock.now()
    application = Application.model_validate(
        {
            "_id": new_id("app"),
            "partner_id": partner_id,
            "exporter": exporter,
            "category": category,
            "product": product,
            "kind": kind,
            "registration_number": registration_number,
            "registration_valid_until": registration_valid_until,
            "history": [
                StatusChange(
                    from_status=None,
                    to_status="submitted",
                    actor=partner_id,
                    at=now,
                    trigger="created",
                    channel=channel,  # the history tells how the application came in
                )
            ],
            "created_at": now,
            "updated_at": now,
        }
    )
    document = application.model_dump(by_alias=True, mode="python")
    # BSON has no date type: a calendar date is kept as midnight UTC.
    if application.registration_valid_until is not None:
        document["registration_valid_until"] = datetime.combine(
            application.registration_valid_until, time.min, tzinfo=UTC
        )
    if idempotency_key is not None:
        document["idempotency_key"] = idempotency_key
    await ctx.db["applications"].insert_one(document)
    return document


async def application_by_key(
    ctx: ServiceContext, *, partner_id: str, idempotency_key: str
) -> dict[str, Any] | None:
    """The partner's application created with ``idempotency_key``, if any."""
    return await ctx.db["applications"].find_one(
        {"partner_id": partner_id, "idempotency_key": idempotency_key}
    )


async def own_application(
    ctx: ServiceContext, *, partner_id: str, application_id: str
) -> dict[str, Any]:
    """The partner's application; another partner's is as unknown as a missing one."""
    document = await ctx.db["applications"].find_one(
        {"_id": application_id, "partner_id": partner_id}
    )
    if document is None:
        raise unknown_application(application_id)
    return document


def unknown_application(application_id: str) -> IntakeError:
    """The refusal of an application that is missing or another partner's (the same)."""
    return IntakeError(
        "unknown_application",
        f"There is no application {application_id} of yours: create it first "
        "(POST /v1/applications) and use the id it returns.",
    )


async def list_applications(
    ctx: ServiceContext,
    *,
    partner_id: str,
    status: str | None,
    category: str | None,
    page: int,
    page_size: int,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the partner's applications, newest first, and whether more follow."""
    query: dict[str, Any] = {"partner_id": partner_id}
    if status:
        query["status"] = status
    if category:
        query["category"] = category
    cursor = (
        ctx.db["applications"]
        .find(query)
        .sort("created_at", DESCENDING)
        .skip((page - 1) * page_size)
        .limit(page_size + 1)
    )
    documents = await cursor.to_list()
    return documents[:page_size], len(documents) > page_size


async def documents_of(ctx: ServiceContext, application_id: str) -> list[dict[str, Any]]:
    """The application's documents in the order they arrived."""
    cursor = ctx.db["documents"].find({"application_id": application_id}).sort("received_at", 1)
    return await cursor.to_list()


async def documents_being_read(ctx: ServiceContext, documents: list[dict[str, Any]]) -> int:
    """How many of ``documents`` the reader has not recorded facts for yet (0: reader off)."""
    if not ctx.settings.reader_enabled or not documents:
        return 0
    ids = [d["_id"] for d in documents]
    read = await ctx.db["document_facts"].count_documents({"_id": {"$in": ids}})
    return len(ids) - read


async def latest_validation(ctx: ServiceContext, application_id: str) -> dict[str, Any] | None:
    """The newest validation result of the application, if it was evaluated yet."""
    result = await ctx.db["validation_results"].find_one(
        {"application_id": application_id}, sort=[("evaluated_at", DESCENDING)]
    )
    if result is None:
        return None
    result["id"] = result.pop("_id")
    return result


async def own_document(ctx: ServiceContext, *, partner_id: str, document_id: str) -> dict[str, Any]:
    """The partner's document; another partner's is as unknown as a missing one."""
    document = await ctx.db["documents"].find_one({"_id": document_id, "partner_id": partner_id})
    if document is None:
        raise IntakeError("unknown_document", f"There is no document {document_id} of yours.")
    return document
