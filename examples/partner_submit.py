#!/usr/bin/env python3
"""Submit one document to regwatch over AMQP and wait for the answer.

A partner's system can copy this file: it needs only aio-pika (``pip install aio-pika``).

    python partner_submit.py \\
        --amqp-url amqp://ptn_...:PASSWORD@rabbitmq.example:5672/ \\
        --application-id app_... --document-type business_licence \\
        --meta '{"language": "en", "issue_date": "2024-05-01"}' licence.pdf

The contract (docs/partner-contract.md): publish the file's raw bytes to the exchange
``regwatch.intake`` with routing key ``document.submit``, persistent, with ``message_id``
(your idempotency key: resending the same id never makes a second document),
``content_type``, ``user_id`` (your RabbitMQ user) and the headers ``x-application-id``,
``x-document-type``, ``x-filename`` and optionally ``x-document-meta``. With ``reply_to``
you get one JSON answer: {"status": "accepted" | "duplicate" | "rejected", "document_id",
"errors": [{"code", "message"}]}. Your reply queues must be named
``partner.<your RabbitMQ user>.<anything>``.

Exit status: 0 accepted or duplicate, 1 rejected, 2 no answer in time, 3 not delivered.
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
    user = unquote(urlsplit(amqp_url).username or "guest")
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/pdf"
    message_id = message_id or str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
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
        replies = await channel.declare_queue(
            f"partner.{user}.replies.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
        )
        exchange = await channel.get_exchange(EXCHANGE, ensure=False)
        # mandatory: if nothing is bound to take the message, it comes back as an error.
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                content_type=content_type,
                user_id=user,
                reply_to=replies.name,
                correlation_id=correlation_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=headers,
            ),
            routing_key=ROUTING_KEY,
            mandatory=True,
        )
        async with asyncio.timeout(timeout), replies.iterator() as messages:
            async for reply in messages:
                await reply.ack()
                if reply.correlation_id == correlation_id:
                    return dict(json.loads(reply.body))
    raise TimeoutError("the reply queue closed before an answer came")


def main() -> None:
    parser = argparse.ArgumentParser(description="Submit one document to regwatch over AMQP.")
    parser.add_argument("file", type=Path, help="the document (PDF, JPEG, PNG or TIFF)")
    parser.add_argument("--amqp-url", required=True, help="amqp://USER:PASSWORD@HOST:PORT/VHOST")
    parser.add_argument("--application-id", required=True)
    parser.add_argument("--document-type", required=True, help="e.g. business_licence")
    parser.add_argument("--content-type", help="default: guessed from the file name")
    parser.add_argument("--meta", help='document metadata as JSON, e.g. {"language": "en"}')
    parser.add_argument("--message-id", help="idempotency key (default: a new UUID)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    args = parser.parse_args()
    try:
        answer = asyncio.run(
            submit_document(
                args.amqp_url,
                args.file.read_bytes(),
                filename=args.file.name,
                application_id=args.application_id,
                document_type=args.document_type,
                content_type=args.content_type,
                metadata=json.loads(args.meta) if args.meta else None,
                message_id=args.message_id,
                timeout=args.timeout,
            )
        )
    except TimeoutError:
        print(f"no answer within {args.timeout} s", file=sys.stderr)
        raise SystemExit(2) from None
    except aio_pika.exceptions.DeliveryError as exc:
        print(f"the broker did not take the message: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    print(json.dumps(answer, indent=2))
    raise SystemExit(0 if answer["status"] in ("accepted", "duplicate") else 1)


if __name__ == "__main__":
    main()
