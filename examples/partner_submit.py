#!/usr/bin/env python3
"""Submit documents to regwatch over AMQP, and optionally create the application first
and wait for its verdict on your events queue: no HTTP needed.

A partner's system can copy this file: it needs only aio-pika (``pip install aio-pika``).

    python partner_submit.py \\
        --amqp-url amqp://ptn_...:PASSWORD@rabbitmq.example:5672/ \\
        --application-id app_... --document-type business_licence \\
        --meta '{"language": "en", "issue_date": "2024-05-01"}' licence.pdf

    python partner_submit.py --amqp-url ... \\
        --create '{"exporter": {"name": "Fjord Dairy AS", "country": "NO"},
                   "category": "food.dairy", "product": "milk_powder", "kind": "new"}' \\
        --wait-verdict application_form=form.pdf business_licence=licence.pdf

``--create`` publishes the JSON body of ``POST /v1/applications`` with routing key
``application.create`` (its ``message_id``, ``--create-id``, is the idempotency key) and
answers {"status": "created" | "duplicate" | "rejected", "application_id", "errors"}.
Each file is ``PATH`` (with ``--document-type``) or ``DOCUMENT_TYPE=PATH``.
``--wait-verdict`` reads your events queue ``partner.<your RabbitMQ user>.events`` until
regwatch has validated the application after each accepted document, and prints the last
``application.validated`` event. Other events on the queue are acknowledged and printed to
stderr; a real partner system would handle them (status changes, deadlines...).

The contract (docs/partner-contract.md): publish the file's raw bytes to the exchange
``regwatch.intake`` with routing key ``document.submit``, persistent, with ``message_id``
(your idempotency key: resending the same id never makes a second document),
``content_type``, ``user_id`` (your RabbitMQ user) and the headers ``x-application-id``,
``x-document-type``, ``x-filename`` and optionally ``x-document-meta``. With ``reply_to``
you get one JSON answer: {"status": "accepted" | "duplicate" | "rejected", "document_id",
"errors": [{"code", "message"}]}. Your reply queues must be named
``partner.<your RabbitMQ user>.<anything>``.

Exit status: 0 accepted or duplicate, 1 rejected, 2 no answer in time, 3 not delivered.
With one file and neither ``--create`` nor ``--wait-verdict`` the output is the document's
answer; otherwise {"application": ..., "documents": [...], "verdict": ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika

EXCHANGE = "regwatch.intake"
ROUTING_KEY = "document.submit"
CREATE_ROUTING_KEY = "application.create"


def user_of(amqp_url: str) -> str:
    return unquote(urlsplit(amqp_url).username or "guest")


async def request(
    channel: aio_pika.abc.AbstractChannel,
    user: str,
    message: aio_pika.Message,
    routing_key: str,
    timeout: float,
) -> dict[str, Any]:
    """Publish ``message`` with a reply queue of its own and return the JSON answer."""
    replies = await channel.declare_queue(
        f"partner.{user}.replies.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
    )
    message.reply_to = replies.name
    message.correlation_id = str(uuid.uuid4())
    exchange = await channel.get_exchange(EXCHANGE, ensure=False)
    # mandatory: if nothing is bound to take the message, it comes back as an error.
    await exchange.publish(message, routing_key=routing_key, mandatory=True)
    async with asyncio.timeout(timeout), replies.iterator() as messages:
        async for reply in messages:
            await reply.ack()
            if reply.correlation_id == message.correlation_id:
                return dict(json.loads(reply.body))
    raise TimeoutError("the reply queue closed before an answer came")


async def create_application(
    amqp_url: str, body: dict[str, Any], *, message_id: str | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """Create an application (``application.create``) and return regwatch's answer."""
    user = user_of(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        message = aio_pika.Message(
            json.dumps(body).encode(),
            message_id=message_id or str(uuid.uuid4()),
            content_type="application/json",
            user_id=user,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        return await request(channel, user, message, CREATE_ROUTING_KEY, timeout)


async def wait_for_verdict(
    amqp_url: str, application_id: str, document_ids: set[str], *, timeout: float = 60.0
) -> dict[str, Any]:
    """The ``application.validated`` event that follows every document in ``document_ids``.

    Each accepted document is announced by a ``document.received`` event; the validation
    it causes names that event as its ``causationid``.
    """
    user = user_of(amqp_url)
    received: dict[str, str] = {}  # document.received event id -> document id
    validated: set[str] = set()
    last: dict[str, Any] = {}
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        # regwatch declared the queue when it took you on: consume it, never declare it.
        queue = await channel.get_queue(f"partner.{user}.events", ensure=False)
        async with asyncio.timeout(timeout), queue.iterator() as messages:
            async for message in messages:
                async with message.process():  # acknowledged once handled
                    event = json.loads(message.body)
                data = event["data"]
                print(f"event {event['type']} {event.get('subject')}", file=sys.stderr)
                if event["type"] == "document.received" and data["document_id"] in document_ids:
                    received[event["id"]] = data["document_id"]
                elif (
                    event["type"] == "application.validated"
                    and data["application_id"] == application_id
                ):
                    if event.get("causationid") in received:
                        validated.add(received[event["causationid"]])
                    last = event
                    if validated >= document_ids:
                        return last
    raise TimeoutError("the events queue closed before the verdict came")


async def submit_document(
    amqp_url: str,
    body: bytes,
    *,
    filename: str,
    application_id: str,
    document_type: str,
    content_type: str | None = None,
    metadata: dict[str, Any] | None = None,
    message_id: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Publish one file and return the intake's JSON answer (raises TimeoutError)."""
    user = user_of(amqp_url)
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/pdf"
    headers = {
        "x-application-id": application_id,
        "x-document-type": document_type,
        "x-filename": filename,
    }
    if metadata:
        headers["x-document-meta"] = json.dumps(metadata)

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        message = aio_pika.Message(
            body,
            message_id=message_id or str(uuid.uuid4()),
            content_type=content_type,
            user_id=user,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=headers,
        )
        return await request(channel, user, message, ROUTING_KEY, timeout)


async def run(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """Create (optionally), submit every file, wait (optionally); the output and success."""
    application: dict[str, Any] | None = None
    application_id = args.application_id
    if args.create:
        application = await create_application(
            args.amqp_url, json.loads(args.create), message_id=args.create_id, timeout=args.timeout
        )
        if application["status"] == "rejected":
            return {"application": application, "documents": [], "verdict": None}, False
        application_id = application["application_id"]
    answers = []
    for index, item in enumerate(args.files):
        document_type, _, path = item.rpartition("=")
        file = Path(path)
        answers.append(
            await submit_document(
                args.amqp_url,
                await asyncio.to_thread(file.read_bytes),
                filename=file.name,
                application_id=application_id,
                document_type=document_type or args.document_type,
                content_type=args.content_type,
                metadata=json.loads(args.meta) if args.meta else None,
                message_id=f"{args.message_id}-{index}"
                if args.message_id and index
                else args.message_id,
                timeout=args.timeout,
            )
        )
    ok = all(a["status"] in ("accepted", "duplicate") for a in answers)
    if len(answers) == 1 and not (args.create or args.wait_verdict):
        return answers[0], ok
    verdict = None
    if args.wait_verdict and ok:
        accepted = {a["document_id"] for a in answers if a["status"] == "accepted"}
        verdict = await wait_for_verdict(
            args.amqp_url, application_id, accepted, timeout=args.timeout
        )
    return {"application": application, "documents": answers, "verdict": verdict}, ok


def main() -> None:
    parser = argparse.ArgumentParser(description="Submit documents to regwatch over AMQP.")
    parser.add_argument(
        "files", nargs="+", help="PATH or DOCUMENT_TYPE=PATH (PDF, JPEG, PNG or TIFF)"
    )
    parser.add_argument("--amqp-url", required=True, help="amqp://USER:PASSWORD@HOST:PORT/VHOST")
    parser.add_argument("--application-id", help="an application of yours (or use --create)")
    parser.add_argument("--create", help="create the application first: its JSON body")
    parser.add_argument("--create-id", help="idempotency key of --create (default: a new UUID)")
    parser.add_argument("--document-type", help="e.g. business_licence, for PATH files")
    parser.add_argument("--content-type", help="default: guessed from the file name")
    parser.add_argument("--meta", help='document metadata as JSON, e.g. {"language": "en"}')
    parser.add_argument("--message-id", help="idempotency key (default: a new UUID)")
    parser.add_argument(
        "--wait-verdict", action="store_true", help="wait for the verdict on your events queue"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    args = parser.parse_args()
    if not (args.application_id or args.create):
        parser.error("give --application-id or --create")
    try:
        output, ok = asyncio.run(run(args))
    except TimeoutError:
        print(f"no answer within {args.timeout} s", file=sys.stderr)
        raise SystemExit(2) from None
    except aio_pika.exceptions.DeliveryError as exc:
        print(f"the broker did not take the message: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    print(json.dumps(output, indent=2))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
