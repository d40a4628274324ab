"""The partner API: create applications, upload documents, read back what was stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from fastapi.responses import StreamingResponse

from services.intake import applications as store
from services.intake.checks import IntakeError
from services.intake.http.deps import context_dependency, require_partner
from services.intake.http.problems import MEDIA_TYPE, problem_for
from services.intake.http.schemas import (
    ApplicationCreate,
    ApplicationDetail,
    ApplicationPage,
    ApplicationView,
    DocumentView,
    UploadAnswer,
    application_view,
    document_view,
)
from services.intake.http.uploads import receive_upload
from shared.domain.models import Partner
from shared.infra.db import blobs
from shared.infra.runtime import ServiceContext

router = APIRouter(prefix="/v1", tags=["partners"])
PartnerDep = Annotated[Partner, Depends(require_partner)]
ContextDep = Annotated[ServiceContext, Depends(context_dependency)]
PROBLEM: dict[str, Any] = {"content": {MEDIA_TYPE: {}}, "description": "A problem (RFC 9457)."}
# Beyond this the skip would overflow MongoDB's 64-bit integers (and no partner has as many).
MAX_PAGE = 1_000_000
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM for code in (401, 404, 413, 415, 422)}


@router.post("/applications", status_code=201, response_model=ApplicationView, responses=ERRORS)
async def create_application(
    body: ApplicationCreate, partner: PartnerDep, ctx: ContextDep
) -> ApplicationView:
    """Create an application (new, renewal or change) for one of your exporters."""
    try:
        document = await store.create_application(
            ctx,
            partner_id=partner.id,
            **body.model_dump(exclude={"exporter"}),
            exporter=body.exporter,
        )
    except IntakeError as error:
        raise problem_for(error) from None
    return application_view(document)


@router.get("/applications", response_model=ApplicationPage, responses=ERRORS)
async def list_applications(
    partner: PartnerDep,
    ctx: ContextDep,
    status: str | None = None,
    category: str | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApplicationPage:
    """Your applications, newest first, optionally filtered by status and category."""
    documents, more = await store.list_applications(
        ctx,
        partner_id=partner.id,
        status=status,
        category=category,
        page=page,
        page_size=page_size,
    )
    return ApplicationPage(
        items=[application_view(d) for d in documents],
        page=page,
        page_size=page_size,
        next_page=page + 1 if more else None,
    )


@router.get("/applications/{application_id}", response_model=ApplicationDetail, responses=ERRORS)
async def get_application(
    application_id: str, partner: PartnerDep, ctx: ContextDep
) -> ApplicationDetail:
    """One of your applications with its documents and its latest validation result."""
    try:
        document = await store.own_application(
            ctx, partner_id=partner.id, application_id=application_id
        )
    except IntakeError as error:
        raise problem_for(error) from None
    documents = await store.documents_of(ctx, application_id)
    return ApplicationDetail(
        **application_view(document).model_dump(),
        documents=[document_view(d) for d in documents],
        reading=await store.documents_being_read(ctx, documents),
        validation=await store.latest_validation(ctx, application_id),
    )


@router.post(
    "/applications/{application_id}/documents",
    status_code=201,
    response_model=UploadAnswer,
    responses={200: {"model": UploadAnswer, "description": "A duplicate"}, **ERRORS},
)
async def upload_document(
    application_id: str,
    response: Response,
    partner: PartnerDep,
    ctx: ContextDep,
    file: Annotated[
        UploadFile | None, File(description="The document (PDF, JPEG, PNG, TIFF).")
    ] = None,
    document_type: Annotated[str | None, Form(examples=["business_licence"])] = None,
    metadata: Annotated[
        str | None, Form(description="JSON object: issue_date, expiry_date, language, ...")
    ] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> UploadAnswer:
    """Upload one document. 201 when stored, 200 when it repeats a stored one (same
    Idempotency-Key or same content): the same document, never a second one."""
    outcome = await receive_upload(
        ctx,
        partner_id=partner.id,
        application_id=application_id,
        upload=file,
        document_type=document_type,
        metadata=metadata,
        idempotency_key=idempotency_key,
    )
    if outcome.status == "rejected":
        error = outcome.errors[0]
        raise problem_for(IntakeError(error.code, error.message))
    # The record stored (or repeated) comes with the outcome: no read to answer.
    stored = outcome.document
    if stored is None or stored.get("partner_id") != partner.id:
        assert outcome.document_id is not None
        stored = await store.own_document(
            ctx, partner_id=partner.id, document_id=outcome.document_id
        )
    if outcome.status == "duplicate":
        response.status_code = 200
    return UploadAnswer(status=outcome.status, document=document_view(stored))


@router.get("/documents/{document_id}", response_model=DocumentView, responses=ERRORS)
async def get_document(document_id: str, partner: PartnerDep, ctx: ContextDep) -> DocumentView:
    """One of your documents, as stored."""
    try:
        document = await store.own_document(ctx, partner_id=partner.id, document_id=document_id)
    except IntakeError as error:
        raise problem_for(error) from None
    return document_view(document)


@router.get(
    "/documents/{document_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **ERRORS},
)
async def get_document_content(
    document_id: str, partner: PartnerDep, ctx: ContextDep
) -> StreamingResponse:
    """The stored bytes of one of your documents, streamed from GridFS."""
    try:
        document = await store.own_document(ctx, partner_id=partner.id, document_id=document_id)
    except IntakeError as error:
        raise problem_for(error) from None
    stream = await blobs(ctx.db).open_download_stream(document["blob_id"])

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await stream.readchunk():
                yield chunk
        finally:
            await stream.close()

    return StreamingResponse(
        chunks(),
        media_type=document["content_type"],
        headers={
            "Content-Length": str(document["size"]),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document['filename'])}",
            "ETag": f'"{document["sha256"]}"',
        },
    )
