"""``regwatch demo``: two renewals from the seeds sent to a running system, and what became
of them. Seed 000: a scrap-metal exporter renewing its AQSIQ licence, over the partner
AMQP contract. Seed 001: a dairy exporter renewing its GACC registration, over the HTTP
API (over AMQP as well when the intake HTTP API does not answer)."""

from __future__ import annotations

import asyncio
import io
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import aio_pika
import httpx
import typer
from PIL import Image, ImageDraw
from pypdf import PdfWriter
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from services.cli.ops import OpsAccess, run_with_ops
from shared.app import ops_views as queries
from shared.app.partners import issue_api_key, save_partner
from shared.domain.lifecycle import StatusChange
from shared.domain.models import Application, Exporter, Partner, new_id
from shared.infra.mongo_types import Database
from shared.infra.topology import INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY

DEMO_PARTNER = "regwatch demo partner"
REPLY_SECONDS = 60


@dataclass
class SampleDocument:
    document_type: str
    filename: str
    content: bytes
    content_type: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Receipt:
    application: str
    channel: str
    document: SampleDocument
    status: str
    detail: str


def pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": f"{title} {uuid.uuid4()}"})  # new bytes on every run
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def photo(index: int, fmt: str = "JPEG") -> bytes:
    """A distinct, sharp picture per index (the reader counts distinct photos, not files)."""
    rng = random.Random(f"{index}-{uuid.uuid4()}")
    image = Image.new("RGB", (256, 192), ((index * 53) % 256, 120, rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(20):
        x, y = rng.randrange(256), rng.randrange(192)
        box = (x, y, x + rng.randrange(16, 128), y + rng.randrange(16, 96))
        draw.rectangle(box, fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def scrap_renewal_documents(today: date) -> list[SampleDocument]:
    """Seed 000, 'AQSIQ Renewals': what a scrap-metal exporter sends."""
    issued = today - timedelta(days=60)
    docs = [
        SampleDocument(
            "e_system_account", "e-system-account.pdf", pdf("AQSIQ e-system"), "application/pdf"
        )
    ]
    for year in range(today.year - 3, today.year):
        meta = {"year": year, "material": "metal", "issue_date": f"{year}-06-01"}
        name = f"ccic-metal-{year}.pdf"
        docs.append(SampleDocument("ccic_certificate", name, pdf(name), "application/pdf", meta))
    for kind in ("business_registration", "tax_registration"):
        notarized = {"notarized": True, "language": "en", "issue_date": issued.isoformat()}
        docs.append(SampleDocument(kind, f"{kind}.pdf", pdf(kind), "application/pdf", notarized))
        docs.append(
            SampleDocument(
                "chinese_translation",
                f"{kind}-zh.pdf",
                pdf(kind + " zh"),
                "application/pdf",
                {"language": "zh"},
            )
        )
    for i in range(1, 12):  # "more than 10 photos of the office and processing yard"
        docs.append(
            SampleDocument(
                "facility_photo", f"yard-{i:02}.jpg", photo(i), "image/jpeg", {"colour": True}
            )
        )
    docs.append(
        SampleDocument("floor_plan", "floor-plan.pdf", pdf("floor plan"), "application/pdf")
    )
    docs.append(
        SampleDocument(
            "certificate_copy",
            "aqsiq-certificate.png",
            photo(99, "PNG"),
            "image/png",
            {"colour": True},
        )
    )
    return docs


def dairy_renewal_documents(today: date) -> list[SampleDocument]:
    """Seed 001: renewal application form, registration number, commercial certificate."""
    en = {"language": "en", "issue_date": (today - timedelta(days=30)).isoformat()}
    certificate = {**en, "expiry_date": (today + timedelta(days=700)).isoformat()}
    return [
        SampleDocument(
            "renewal_application_form",
            "renewal-form.pdf",
            pdf("renewal form"),
            "application/pdf",
            en,
        ),
        SampleDocument(
            "commercial_certificate",
            "commercial-certificate.pdf",
            pdf("certificate"),
            "application/pdf",
            certificate,
        ),
        SampleDocument(
            "compliance_declaration", "declaration.pdf", pdf("declaration"), "application/pdf", en
        ),
    ]


def application_bodies(today: date) -> dict[str, dict[str, Any]]:
    return {
        "scrap": {
            "exporter": {
                "name": "Baltic Metal Recycling AB",
                "country": "SE",
                "home_registration_number": "SE556677-8899",
                "contact_emails": ["exports@balticmetal.example"],
            },
            "category": "scrap.metal",
            "kind": "renewal",
            "registration_number": "A123456789012",
            "registration_valid_until": (today + timedelta(days=240)).isoformat(),
        },
        "dairy": {
            "exporter": {
                "name": "Fjord Dairy AS",
                "country": "NO",
                "home_registration_number": "NO987654321",
                "contact_emails": ["regulatory@fjorddairy.example"],
            },
            "category": "food.dairy",
            "product": "milk_powder",
            "kind": "renewal",
            "registration_number": "CNOR04012201100001",
            "registration_valid_until": (today + timedelta(days=150)).isoformat(),
        },
    }


async def demo_partner(ops: OpsAccess) -> tuple[str, str]:
    """The partner behind this AMQP user (RabbitMQ checks user_id against it) and a fresh
    API key of it."""
    amqp_user = httpx.URL(ops.settings.amqp_url).username or "guest"
    now = ops.clock.now()
    found = await ops.db["partners"].find_one({"amqp_user": amqp_user, "revoked": {"$ne": True}})
    if found is None:
        partner = Partner(_id=new_id("ptn"), name=DEMO_PARTNER, amqp_user=amqp_user, created_at=now)
        await save_partner(ops.db, partner=partner)
        partner_id = partner.id
    else:
        partner_id = str(found["_id"])
    return partner_id, await issue_api_key(ops.db, partner_id=partner_id, now=now)


async def create_application(
    ops: OpsAccess, http: httpx.AsyncClient | None, partner_id: str, body: dict[str, Any]
) -> tuple[str, str]:
    """(application id, channel): through the HTTP API, or straight into MongoDB without it."""
    if http is not None:
        response = await http.post("/v1/applications", json=body)
        if response.status_code == 201:
            return str(response.json()["id"]), "http"
        raise RuntimeError(
            f"POST /v1/applications answered {response.status_code}: {response.text}"
        )
    now = ops.clock.now()
    valid_until = date.fromisoformat(body["registration_valid_until"])
    application = Application(
        _id=new_id("app"),
        partner_id=partner_id,
        exporter=Exporter(**body["exporter"]),
        category=body["category"],
        product=body.get("product"),
        kind=body["kind"],
        registration_number=body.get("registration_number"),
        history=[
            StatusChange(
                from_status=None,
                to_status="submitted",
                actor=partner_id,
                at=now,
                trigger="created",
                channel="mongodb",
            )
        ],
        created_at=now,
        updated_at=now,
    )
    document = application.model_dump(by_alias=True)
    # The intake's convention: BSON has no date type, a calendar date is midnight UTC.
    document["registration_valid_until"] = datetime.combine(valid_until, time.min, tzinfo=UTC)
    await ops.db["applications"].insert_one(document)
    return application.id, "mongodb"


async def http_api(ops: OpsAccess, intake_url: str, api_key: str) -> httpx.AsyncClient | None:
    """A client of the intake HTTP API, or None when it does not answer there."""
    client = httpx.AsyncClient(
        base_url=intake_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    )
    try:
        answer = await client.get("/v1/applications")
    except httpx.HTTPError:
        await client.aclose()
        return None
    if answer.status_code == 404:  # an intake without the partner API yet
        await client.aclose()
        return None
    return client


async def submit_over_amqp(
    ops: OpsAccess, application_id: str, documents: list[SampleDocument], progress: Progress
) -> list[Receipt]:
    """Publish each document as the partner contract says and collect the replies."""
    task = progress.add_task(f"AMQP {application_id}", total=len(documents))
    amqp_user = httpx.URL(ops.settings.amqp_url).username or "guest"
    channel = await ops.connection.channel(publisher_confirms=True)
    replies = await channel.declare_queue(exclusive=True, auto_delete=True)
    exchange = await channel.get_exchange(INTAKE_EXCHANGE.name)
    sent: dict[str, SampleDocument] = {}
    for doc in documents:
        message_id = str(uuid.uuid4())
        sent[message_id] = doc
        message = aio_pika.Message(
            doc.content,
            message_id=message_id,
            correlation_id=message_id,
            content_type=doc.content_type,
            user_id=amqp_user,
            reply_to=replies.name,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={
                "x-application-id": application_id,
                "x-document-type": doc.document_type,
                "x-filename": doc.filename,
                "x-document-meta": json.dumps(doc.metadata),
            },
        )
        await exchange.publish(message, routing_key=SUBMIT_ROUTING_KEY)
    receipts = []
    try:
        async with replies.iterator(timeout=REPLY_SECONDS) as stream:
            async for reply in stream:
                await reply.ack()
                answer = json.loads(reply.body)
                doc = sent.pop(str(reply.correlation_id))
                errors = "; ".join(e["message"] for e in answer.get("errors", []))
                detail = errors or str(answer.get("document_id"))
                receipts.append(Receipt(application_id, "amqp", doc, answer["status"], detail))
                progress.advance(task)
                if not sent:
                    break
    except TimeoutError:
        # Intake is not consuming (or is stuck): say so for each document left unanswered.
        unanswered = f"no reply within {REPLY_SECONDS} s: is the intake service running?"
        receipts += [
            Receipt(application_id, "amqp", d, "no reply", unanswered) for d in sent.values()
        ]
    await channel.close()
    order = {id(doc): i for i, doc in enumerate(documents)}
    return sorted(receipts, key=lambda r: order[id(r.document)])


async def submit_over_http(
    http: httpx.AsyncClient,
    application_id: str,
    documents: list[SampleDocument],
    progress: Progress,
) -> list[Receipt]:
    task = progress.add_task(f"HTTP {application_id}", total=len(documents))
    receipts = []
    for doc in documents:
        response = await http.post(
            f"/v1/applications/{application_id}/documents",
            files={"file": (doc.filename, doc.content, doc.content_type)},
            data={"document_type": doc.document_type, "metadata": json.dumps(doc.metadata)},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        answer = response.json()
        if response.is_success:
            status, detail = (
                str(answer.get("status", "accepted")),
                str((answer.get("document") or {}).get("id") or answer.get("document_id")),
            )
        else:
            status, detail = "rejected", str(answer.get("detail") or answer.get("title"))
        receipts.append(Receipt(application_id, "http", doc, status, detail))
        progress.advance(task)
    return receipts


async def wait_for_validation(
    db: Database, application_id: str, timeout: float
) -> queries.ValidationView | None:
    """The validation that followed the last document received, once the validator made it.

    Done when the validator has handled every ``document.received`` of the application: an
    earlier evaluation may already have seen the last document, so no newer result appears.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        received = await db["outbox"].distinct(
            "_id", {"subject": application_id, "type": "document.received"}
        )
        handled = await db["inbox"].count_documents(
            {"consumer": "validator", "event_id": {"$in": received}}
        )
        result = await queries.latest_validation(db=db, application_id=application_id)
        if received and handled == len(received) and result is not None:
            return result
        await asyncio.sleep(0.5)
    return await queries.latest_validation(db=db, application_id=application_id)


ID_PATTERN = re.compile(r"\b([a-z]+_[0-9a-f]{8})[0-9a-f]{24}\b")


def short_ids(text: str) -> str:
    """``app_1e6d7e6c…`` for ``app_1e6d7e6c<24 more hex digits>``: readable at 80 columns."""
    return ID_PATTERN.sub(r"\1…", text)


def receipts_table(receipts: list[Receipt], wide: bool) -> Table:
    """Full ids in one wide table, or short ids with long cells wrapped (never cut)."""
    table = Table(title="Documents sent", title_justify="left", show_edge=wide)
    columns = ("application", "channel", "type", "file", "answer", "detail")
    for column in columns if wide else columns[1:]:
        table.add_column(column, overflow="fold")
    shorten = (lambda text: text) if wide else short_ids
    for r in receipts:
        colour = {"accepted": "green", "duplicate": "yellow"}.get(r.status, "red")
        cells = [r.channel, r.document.document_type, r.document.filename]
        cells += [f"[{colour}]{r.status}[/]", shorten(r.detail)]
        table.add_row(*([r.application] if wide else []), *cells)
    return table


def print_outcome(
    console: Console, receipts: list[Receipt], results: dict[str, Any], wide: bool = False
) -> None:
    """One block per application: its documents' answers (in one table when wide), then
    its verdict."""
    shorten = (lambda text: text) if wide else short_ids
    if wide:
        console.print(receipts_table(receipts, wide))
    for application_id, (label, result) in results.items():
        console.print()
        console.print(f"[bold]{label}[/] {shorten(application_id)}", highlight=False)
        if not wide:
            mine = [r for r in receipts if r.application == application_id]
            console.print(receipts_table(mine, wide))
        if result is None:
            console.print("  [red]no validation result yet[/]")
            continue
        console.print(
            f"  verdict [bold]{result.verdict}[/] (catalog {result.catalog_version})",
            highlight=False,
        )
        for outcome in result.outcomes:
            if not outcome.passed:
                console.print(f"  [red]FAIL[/] {outcome.rule}: {outcome.message}")
        passed = sum(o.passed for o in result.outcomes)
        console.print(f"  {passed} of {len(result.outcomes)} rules pass")
    if not wide:
        console.print("\n(ids shortened: --wide or --json shows them in full)")


async def run_demo(
    ops: OpsAccess, intake_url: str, timeout: float, console: Console, wide: bool = False
) -> dict[str, Any]:
    partner_id, api_key = await demo_partner(ops)
    http = await http_api(ops, intake_url, api_key)
    if http is None:
        console.print(
            f"[yellow]The intake HTTP API does not answer at {intake_url}: applications go straight to MongoDB, documents over AMQP.[/]"
        )
    today = ops.clock.now().date()
    bodies = application_bodies(today)
    receipts: list[Receipt] = []
    ids: dict[str, str] = {}
    try:
        with Progress(console=console, transient=True) as progress:
            for label, body in bodies.items():
                ids[label], _ = await create_application(ops, http, partner_id, body)
            receipts += await submit_over_amqp(
                ops, ids["scrap"], scrap_renewal_documents(today), progress
            )
            dairy = dairy_renewal_documents(today)
            if http is not None:
                receipts += await submit_over_http(http, ids["dairy"], dairy, progress)
            else:
                receipts += await submit_over_amqp(ops, ids["dairy"], dairy, progress)
    finally:
        if http is not None:
            await http.aclose()
    results = {
        application_id: (label, await wait_for_validation(ops.db, application_id, timeout))
        for label, application_id in ids.items()
    }
    print_outcome(console, receipts, results, wide)
    dashboard = f"http://{ops.settings.http_host}:{ops.settings.dashboard_port}"
    console.print("On the dashboard:")
    for application_id in ids.values():  # whole, so the terminal can open them
        console.print(f"{dashboard}/applications/{application_id}", soft_wrap=True)
    return {
        "applications": ids,
        "documents": {
            s: sum(r.status == s for r in receipts) for s in ("accepted", "duplicate", "rejected")
        },
        "verdicts": {label: (r.verdict if r else None) for _, (label, r) in results.items()},
        "receipts": [
            {
                "application_id": r.application,
                "channel": r.channel,
                "document_type": r.document.document_type,
                "filename": r.document.filename,
                "answer": r.status,
                "detail": r.detail,
            }
            for r in receipts
        ],
    }


def demo(
    intake_url: str = typer.Option(
        None, help="The intake HTTP API (default: http://HTTP_HOST:INTAKE_HTTP_PORT)."
    ),
    timeout: float = typer.Option(60.0, help="Seconds to wait for the validator's verdicts."),
    json_output: bool = typer.Option(False, "--json", help="Also print a JSON summary at the end."),
    wide: bool = typer.Option(False, "--wide", help="Full ids in one table (wider than 80)."),
) -> None:
    """Send the seeds' scrap and dairy renewals to the running system and show the outcome."""
    console = Console(width=max(Console().width, 160)) if wide else Console()

    async def work(ops: OpsAccess) -> dict[str, Any]:
        url = intake_url or f"http://{ops.settings.http_host}:{ops.settings.intake_http_port}"
        return await run_demo(ops, url, timeout, console, wide)

    summary = run_with_ops(work)
    if json_output:
        typer.echo(json.dumps(summary))
