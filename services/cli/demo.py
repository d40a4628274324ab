"""``regwatch demo``: the seeds' two renewals sent to a running system by a partner, and what
became of them.

The demo acts as a partner and uses only the partner contracts: it is taken on as ops take
a partner on (``regwatch partners add``), creates the scrap renewal with ``application.create``
and sends its documents over AMQP, creates the dairy renewal with ``POST /v1/applications`` and
uploads its documents over HTTP, learns that a validation happened from its events queue and
reads it with ``GET /v1/applications/{id}``. The demo partner is taken off again at the end;
its applications stay.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import aio_pika
import httpx
import typer
from aio_pika.abc import AbstractRobustConnection
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from services.cli.database import run_with_db
from services.cli.demo_samples import (
    MISMATCHED_FILE,
    SampleDocument,
    application_bodies,
    dairy_renewal_documents,
    scrap_renewal_documents,
)
from shared.app.onboarding import PartnerCredentials, offboard_partner, onboard_partner
from shared.domain.catalog.rules import CONTENT_RULE_KINDS
from shared.domain.clock import clock_from
from shared.domain.evaluation.outcomes import Evaluation, RuleOutcome
from shared.infra.mongo_types import Database
from shared.infra.rabbit_users import RabbitUsersError, reply_queue_prefix
from shared.infra.settings import Settings
from shared.infra.topology import (
    CREATE_APPLICATION_ROUTING_KEY,
    INTAKE_EXCHANGE,
    SUBMIT_ROUTING_KEY,
)

DEMO_PARTNER = "regwatch demo partner"
REPLY_SECONDS = 60
STORED = ("accepted", "duplicate")  # answers that name a stored document


class IntakeUnreachable(Exception):
    """The intake's HTTP API does not answer."""


@dataclass
class Receipt:
    application: str
    channel: str
    document: SampleDocument
    status: str
    detail: str


@dataclass
class Outcome:
    """What the partner API says of one application once its documents were evaluated."""

    label: str
    evaluation: Evaluation | None
    reading: int = 0  # documents the reader has not read yet


class Partner:
    """The demo partner's two ways in: its RabbitMQ connection and its HTTP API client."""

    def __init__(
        self,
        credentials: PartnerCredentials,
        connection: AbstractRobustConnection,
        http: httpx.AsyncClient,
    ) -> None:
        self.credentials = credentials
        self.connection = connection
        self.http = http

    async def ask(self, routing_key: str, requests: list[aio_pika.Message]) -> list[Any]:
        """Publish ``requests`` with a reply queue of ours; their JSON replies in the same
        order, None where none came within ``REPLY_SECONDS``."""
        channel = await self.connection.channel(publisher_confirms=True)
        try:
            name = f"{reply_queue_prefix(self.credentials.amqp_user)}demo-{uuid.uuid4().hex}"
            replies = await channel.declare_queue(name, exclusive=True, auto_delete=True)
            exchange = await channel.get_exchange(INTAKE_EXCHANGE.name, ensure=False)
            waiting: dict[str, int] = {}
            for index, message in enumerate(requests):
                message.user_id = self.credentials.amqp_user
                message.reply_to = replies.name
                message.correlation_id = message.message_id
                waiting[str(message.message_id)] = index
                await exchange.publish(message, routing_key=routing_key)
            answers: list[Any] = [None] * len(requests)
            try:
                async with replies.iterator(timeout=REPLY_SECONDS) as stream:
                    async for reply in stream:
                        await reply.ack()
                        index = waiting.pop(str(reply.correlation_id), -1)
                        if index >= 0:
                            answers[index] = json.loads(reply.body)
                        if not waiting:
                            break
            except TimeoutError:
                pass  # the unanswered stay None
            return answers
        finally:
            await channel.close()


def json_message(body: dict[str, Any]) -> aio_pika.Message:
    return aio_pika.Message(
        json.dumps(body).encode(),
        message_id=str(uuid.uuid4()),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def document_message(application_id: str, doc: SampleDocument) -> aio_pika.Message:
    return aio_pika.Message(
        doc.content,
        message_id=str(uuid.uuid4()),
        content_type=doc.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers={
            "x-application-id": application_id,
            "x-document-type": doc.document_type,
            "x-filename": doc.filename,
            "x-document-meta": json.dumps(doc.metadata),
        },
    )


async def create_over_amqp(partner: Partner, body: dict[str, Any]) -> str:
    """``application.create``: the new application's id."""
    (answer,) = await partner.ask(CREATE_APPLICATION_ROUTING_KEY, [json_message(body)])
    if answer is None:
        raise IntakeUnreachable(f"no answer to application.create within {REPLY_SECONDS} s")
    if answer["status"] == "rejected":
        raise RuntimeError(f"application.create was refused: {answer['errors']}")
    return str(answer["application_id"])


async def create_over_http(partner: Partner, body: dict[str, Any]) -> str:
    """``POST /v1/applications``: the new application's id."""
    response = await partner.http.post("/v1/applications", json=body)
    if response.status_code != 201:
        raise RuntimeError(
            f"POST /v1/applications answered {response.status_code}: {response.text}"
        )
    return str(response.json()["id"])


async def submit_over_amqp(
    partner: Partner, application_id: str, documents: list[SampleDocument]
) -> list[Receipt]:
    """Publish each document as the partner contract says; one receipt per reply."""
    messages = [document_message(application_id, doc) for doc in documents]
    receipts = []
    for doc, answer in zip(documents, await partner.ask(SUBMIT_ROUTING_KEY, messages), strict=True):
        if answer is None:
            detail = f"no reply within {REPLY_SECONDS} s: is the intake service running?"
            receipts.append(Receipt(application_id, "amqp", doc, "no reply", detail))
            continue
        errors = "; ".join(e["message"] for e in answer.get("errors", []))
        detail = errors or str(answer.get("document_id"))
        receipts.append(Receipt(application_id, "amqp", doc, answer["status"], detail))
    return receipts


async def submit_over_http(
    partner: Partner, application_id: str, documents: list[SampleDocument]
) -> list[Receipt]:
    receipts = []
    for doc in documents:
        response = await partner.http.post(
            f"/v1/applications/{application_id}/documents",
            files={"file": (doc.filename, doc.content, doc.content_type)},
            data={"document_type": doc.document_type, "metadata": json.dumps(doc.metadata)},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        answer = response.json()
        if response.is_success:
            status, detail = str(answer["status"]), str(answer["document"]["id"])
        else:
            status, detail = "rejected", str(answer.get("detail") or answer.get("title"))
        receipts.append(Receipt(application_id, "http", doc, status, detail))
    return receipts


def settled(detail: dict[str, Any], sent: set[str]) -> bool:
    """The validation has seen every document sent and waits for no reading."""
    validation = detail.get("validation")
    if validation is None or detail.get("reading"):
        return False
    return sent <= set(validation.get("document_ids", [])) and not validation.get("reading")


async def outcomes(
    partner: Partner, labels: dict[str, str], sent: dict[str, set[str]], timeout: float
) -> dict[str, Outcome]:
    """Each application as the partner API shows it once settled (or when ``timeout`` is up):
    looked at again whenever an ``application.validated`` about it reaches the events queue."""
    details: dict[str, dict[str, Any]] = {}

    async def look(application_id: str) -> bool:
        response = await partner.http.get(f"/v1/applications/{application_id}")
        response.raise_for_status()
        details[application_id] = response.json()
        return settled(details[application_id], sent[application_id])

    pending = {a for a in labels if not await look(a)}
    if pending:
        channel = await partner.connection.channel()
        try:
            queue = await channel.get_queue(partner.credentials.events_queue, ensure=False)
            async with asyncio.timeout(timeout), queue.iterator() as events:
                async for message in events:
                    await message.ack()
                    event = json.loads(message.body)
                    subject = event.get("subject")
                    validated = event.get("type") == "application.validated"
                    if validated and subject in pending and await look(subject):
                        pending.discard(subject)
                    if not pending:
                        break
        except TimeoutError:
            for application_id in pending:  # shown as it stands when the time is up
                await look(application_id)
        finally:
            await channel.close()
    return {a: outcome_of(details[a], label) for a, label in labels.items()}


def outcome_of(detail: dict[str, Any], label: str) -> Outcome:
    validation = detail.get("validation")
    evaluation = Evaluation.model_validate(validation) if validation else None
    return Outcome(label, evaluation, int(detail.get("reading") or 0))


def reader_catch(result: Evaluation, filename: str) -> RuleOutcome | None:
    """The content rule that caught the planted mismatch in ``filename``, if one did."""
    for outcome in result.outcomes:
        if (
            outcome.kind in CONTENT_RULE_KINDS
            and not outcome.passed
            and filename in outcome.message
        ):
            return outcome
    return None


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


def print_evaluation(console: Console, outcome: Outcome, mismatch: str) -> None:
    """The verdict, each failed rule (a caught mismatch last, singled out), the count."""
    result = outcome.evaluation
    if result is None:
        console.print("  [red]no validation result yet[/]")
        return
    console.print(
        f"  verdict [bold]{result.verdict}[/] (catalog {result.catalog_version})",
        highlight=False,
    )
    caught = reader_catch(result, mismatch)
    for rule in result.outcomes:
        if not rule.passed and rule is not caught:
            label = "[yellow]WARN[/]" if rule.warning else "[red]FAIL[/]"
            console.print(f"  {label} {rule.rule}: {rule.message}", highlight=False)
    passed = sum(o.passed for o in result.outcomes)
    console.print(f"  {passed} of {len(result.outcomes)} rules pass")
    if caught is not None:
        console.print(f"  [bold]The reader caught[/] ({caught.rule}): {caught.message}")
    if outcome.reading:
        console.print(
            f"  [yellow]{outcome.reading} documents still being read: is the reader running?[/]"
        )


def print_outcome(
    console: Console,
    receipts: list[Receipt],
    results: dict[str, Outcome],
    wide: bool = False,
    mismatch: str = "",
) -> None:
    """One block per application: its documents' answers (in one table when wide), then
    its verdict."""
    shorten = (lambda text: text) if wide else short_ids
    if wide:
        console.print(receipts_table(receipts, wide))
    for application_id, outcome in results.items():
        console.print()
        console.print(f"[bold]{outcome.label}[/] {shorten(application_id)}", highlight=False)
        if not wide:
            mine = [r for r in receipts if r.application == application_id]
            console.print(receipts_table(mine, wide))
        print_evaluation(console, outcome, mismatch)
    read = any(
        o.kind in CONTENT_RULE_KINDS
        for r in results.values()
        if r.evaluation
        for o in r.evaluation.outcomes
    )
    if not read:
        console.print("\n(the reader is off: no document's text was compared with its metadata)")
    if not wide:
        console.print("\n(ids shortened: --wide or --json shows them in full)")


async def connect(credentials: PartnerCredentials, settings: Settings, intake_url: str) -> Partner:
    """The partner's connection and HTTP client; IntakeUnreachable when the API is silent."""
    http = httpx.AsyncClient(
        base_url=intake_url,
        headers={"Authorization": f"Bearer {credentials.api_key}"},
        timeout=30,
    )
    try:
        (await http.get("/v1/applications")).raise_for_status()
    except httpx.HTTPError as exc:
        await http.aclose()
        raise IntakeUnreachable(
            f"The intake HTTP API does not answer at {intake_url} ({exc}): is it running?"
        ) from None
    connection = await aio_pika.connect_robust(credentials.amqp_url(settings.amqp_url))
    return Partner(credentials, connection, http)


async def send(
    partner: Partner, today: date, console: Console
) -> tuple[dict[str, str], list[Receipt]]:
    """Both renewals: scrap over AMQP, dairy over HTTP. Their ids by label, the receipts."""
    bodies = application_bodies(today)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("sending the seed renewals", total=4)
        ids = {"scrap": await create_over_amqp(partner, bodies["scrap"])}
        progress.advance(task)
        receipts = await submit_over_amqp(partner, ids["scrap"], scrap_renewal_documents(today))
        progress.advance(task)
        ids["dairy"] = await create_over_http(partner, bodies["dairy"])
        progress.advance(task)
        receipts += await submit_over_http(partner, ids["dairy"], dairy_renewal_documents(today))
        progress.advance(task)
    return ids, receipts


async def run_demo(
    db: Database,
    settings: Settings,
    intake_url: str,
    timeout: float,
    console: Console,
    wide: bool = False,
) -> dict[str, Any]:
    now = clock_from(settings.regwatch_now).now()
    today = now.date()
    credentials = await onboard_partner(db=db, settings=settings, name=DEMO_PARTNER, now=now)
    try:
        partner = await connect(credentials, settings, intake_url)
        try:
            ids, receipts = await send(partner, today, console)
            sent = {
                a: {r.detail for r in receipts if r.application == a and r.status in STORED}
                for a in ids.values()
            }
            results = await outcomes(partner, {v: k for k, v in ids.items()}, sent, timeout)
        finally:
            await partner.connection.close()
            await partner.http.aclose()
    finally:
        await offboard_partner(db=db, settings=settings, partner_id=credentials.partner_id, now=now)
    mismatch = MISMATCHED_FILE
    print_outcome(console, receipts, results, wide, mismatch)
    dashboard = f"http://{settings.http_host}:{settings.dashboard_port}"
    console.print("On the dashboard:")
    for application_id in ids.values():  # whole, so the terminal can open them
        console.print(f"{dashboard}/applications/{application_id}", soft_wrap=True)
    caught = [
        r.message
        for o in results.values()
        if o.evaluation and (r := reader_catch(o.evaluation, mismatch))
    ]
    return {
        "partner_id": credentials.partner_id,
        "applications": ids,
        "documents": {
            s: sum(r.status == s for r in receipts) for s in ("accepted", "duplicate", "rejected")
        },
        "verdicts": {
            o.label: (o.evaluation.verdict if o.evaluation else None) for o in results.values()
        },
        "reader_caught": caught[0] if caught else None,
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
    """Send the seeds' scrap and dairy renewals to the running system as a partner and show
    the outcome."""
    console = Console(width=max(Console().width, 160)) if wide else Console()

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        url = intake_url or f"http://{settings.http_host}:{settings.intake_http_port}"
        return await run_demo(db, settings, url, timeout, console, wide)

    summary = run_with_db(work, refusals=(IntakeUnreachable, RabbitUsersError), console=console)
    if json_output:
        typer.echo(json.dumps(summary))
