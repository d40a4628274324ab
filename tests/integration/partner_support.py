"""What the partner tests share: the intake's HTTP API as a partner's client, a partner's
events queue read as the partner reads it, a document published as a partner, deadline
events staged and relayed as the scheduler emits them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx

from services.intake.http import create_http_app
from shared.app.onboarding import PartnerCredentials
from shared.domain.events import DeadlineEvent, new_event
from shared.domain.models import new_id
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from shared.infra.topology import INTAKE_EXCHANGE, SUBMIT_ROUTING_KEY
from shared.infra.unit_of_work import UnitOfWork
from tests.support import wait_until


def client_for(ctx: ServiceContext, api_key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    transport = httpx.ASGITransport(app=create_http_app(ctx))
    return httpx.AsyncClient(
        transport=transport, base_url="http://intake.test", headers=headers, timeout=60
    )


class PartnerQueue:
    """What a partner read from its events queue, as the partner (consume and ack)."""

    def __init__(self, settings: Settings, partner: PartnerCredentials) -> None:
        self._url = partner.amqp_url(settings.amqp_url)
        self._name = partner.events_queue
        self.messages: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def read(self) -> list[dict[str, Any]]:
        """Take every event now waiting (acknowledged); all read so far, oldest first."""
        connection = await aio_pika.connect(self._url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(self._name, ensure=False)
            while (message := await queue.get(fail=False)) is not None:
                self.messages.append(message)
                await message.ack()
        return [json.loads(m.body) for m in self.messages]

    async def ids(self) -> set[str]:
        return {e["id"] for e in await self.read()}


async def submit(settings: Settings, partner: PartnerCredentials, application_id: str, body: bytes):
    connection = await aio_pika.connect(partner.amqp_url(settings.amqp_url))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INTAKE_EXCHANGE.name, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=str(uuid.uuid4()),
                content_type="application/pdf",
                user_id=partner.amqp_user,
                headers={
                    "x-application-id": application_id,
                    "x-document-type": "business_licence",
                    "x-filename": "licence.pdf",
                },
            ),
            routing_key=SUBMIT_ROUTING_KEY,
        )


def deadline_event(kind: str, **fields: Any) -> Any:
    now = datetime.now(UTC)
    payload = DeadlineEvent(
        deadline_id=new_id("dl"),
        reminder_id=new_id("rm"),
        kind=kind,
        due_at=now + timedelta(days=14),
        days_left=14,
        point="T-14d",
        **fields,
    )
    event_type = f"deadline.{kind}_due"
    return new_event(event_type, payload, service="scheduler", time=now, subject=fields["subject"])


async def stage_and_relay(ctx: ServiceContext, event: Any) -> None:
    """Through a unit of work, as the scheduler emits it (leased to this relay: no other
    relay of the session sweeps it up first)."""

    async def work(uow: UnitOfWork) -> None:
        uow.stage(event)

    await ctx.unit_of_work(work)

    async def marked_sent() -> bool:  # soon after the publish, by this relay
        sent = await ctx.db["outbox"].find_one({"_id": event.id}, {"status": 1})
        return sent is not None and sent["status"] == "sent"

    await wait_until(marked_sent, timeout=10)


def about(events: list[dict[str, Any]], application_id: str, numbers: set[str]) -> set[str]:
    """The ids of the events concerning the application or the registrations."""
    return {
        e["id"]
        for e in events
        if e["data"].get("application_id") == application_id
        or e["data"].get("registration_number") in numbers
    }
