"""Partners' RabbitMQ users, through the RabbitMQ management HTTP API.

A partner's user may do exactly four things on the vhost of ``AMQP_URL``:
- publish to the exchange ``regwatch.intake`` (write),
- declare, consume and delete its own reply queues ``partner.<user>.<anything>``
  (configure, read),
- consume and acknowledge its events queue ``partner.<user>.events`` (read), which regwatch
  declares and binds when the partner is taken on; the partner can neither delete nor
  redeclare it (no configure),
- nothing else: it cannot publish to ``regwatch.events``, read any regwatch queue, bind
  queues (binding needs write on the queue) or declare exchanges.
Replies reach the partner through the default exchange, which the intake service (not the
partner) publishes to, so the partner needs no write permission for them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import httpx

from shared.infra.settings import Settings
from shared.infra.topology import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    INTAKE_EXCHANGE,
    PARTNER_EVENT_KEYS,
    PARTNER_EVENTS_EXCHANGE,
    partner_binding_arguments,
    partner_events_queue_arguments,
    partner_events_queue_name,
)


class RabbitUsersError(Exception):
    """The management API refused or failed a request."""


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str


def reply_queue_prefix(amqp_user: str) -> str:
    """Reply queues of ``amqp_user`` must be named with this prefix."""
    return f"partner.{amqp_user}."


def partner_permissions(amqp_user: str) -> Permissions:
    """The least a partner's user needs: publish submissions, own its reply queues, read
    its events queue (which it may not configure, i.e. delete or redeclare)."""
    prefix = re.escape(reply_queue_prefix(amqp_user))
    return Permissions(
        configure=f"^{prefix}(?!events$).+$",
        write=f"^{re.escape(INTAKE_EXCHANGE.name)}$",
        read=f"^{prefix}.+$",
    )


def vhost_of(amqp_url: str) -> str:
    """The vhost an AMQP URL names (``/`` when the path is empty)."""
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


class RabbitUsers:
    """Creates and deletes partners' RabbitMQ users on the vhost of ``AMQP_URL``."""

    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self._vhost = vhost_of(settings.amqp_url)
        self._client = httpx.AsyncClient(
            base_url=settings.rabbitmq_management_url.rstrip("/") + "/api/",
            auth=(settings.rabbitmq_management_user, settings.rabbitmq_management_password),
            timeout=timeout,
        )

    async def __aenter__(self) -> RabbitUsers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def create_partner_user(self, amqp_user: str) -> str:
        """Create ``amqp_user`` with a random password and the partner permissions."""
        password = secrets.token_urlsafe(24)
        user = quote(amqp_user, safe="")
        await self._request("PUT", f"users/{user}", {"password": password, "tags": ""})
        await self.set_partner_permissions(amqp_user)
        return password

    async def set_partner_permissions(self, amqp_user: str) -> None:
        """Give ``amqp_user`` exactly the partner permissions on the vhost."""
        permissions = partner_permissions(amqp_user)
        await self._request(
            "PUT",
            f"permissions/{quote(self._vhost, safe='')}/{quote(amqp_user, safe='')}",
            {
                "configure": permissions.configure,
                "write": permissions.write,
                "read": permissions.read,
            },
        )

    async def create_events_queue(
        self, *, amqp_user: str, partner_id: str, delivery_limit: int
    ) -> str:
        """Declare the partner's events queue and bind it on its partner id (idempotent).

        The exchanges are declared too (as the services declare them), so a partner taken on
        before any service has started still gets its events.
        """
        vhost = quote(self._vhost, safe="")
        exchanges = (EVENTS_EXCHANGE, PARTNER_EVENTS_EXCHANGE, DEAD_LETTER_EXCHANGE)
        for exchange in exchanges:
            await self._request(
                "PUT",
                f"exchanges/{vhost}/{quote(exchange.name, safe='')}",
                {"type": exchange.type.value, "durable": True},
            )
        for key in PARTNER_EVENT_KEYS:
            await self._request(
                "POST",
                f"bindings/{vhost}/e/{EVENTS_EXCHANGE.name}/e/{PARTNER_EVENTS_EXCHANGE.name}",
                {"routing_key": key},
            )
        name = partner_events_queue_name(amqp_user)
        arguments = partner_events_queue_arguments(delivery_limit=delivery_limit)
        await self._request(
            "PUT",
            f"queues/{vhost}/{quote(name, safe='')}",
            {"durable": True, "auto_delete": False, "arguments": arguments},
        )
        await self._request(
            "POST",
            f"bindings/{vhost}/e/{PARTNER_EVENTS_EXCHANGE.name}/q/{quote(name, safe='')}",
            {"routing_key": "", "arguments": partner_binding_arguments(partner_id)},
        )
        return name

    async def delete_events_queue(self, amqp_user: str) -> None:
        """Delete the partner's events queue and whatever events still wait in it."""
        name = quote(partner_events_queue_name(amqp_user), safe="")
        await self._request(
            "DELETE", f"queues/{quote(self._vhost, safe='')}/{name}", allow_missing=True
        )

    async def delete_user(self, amqp_user: str) -> None:
        """Delete ``amqp_user`` (its open connections are closed by the broker)."""
        await self._request("DELETE", f"users/{quote(amqp_user, safe='')}", allow_missing=True)

    async def _request(
        self, method: str, path: str, body: object = None, *, allow_missing: bool = False
    ) -> None:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise RabbitUsersError(
                f"RabbitMQ management API unreachable ({exc}); check RABBITMQ_MANAGEMENT_URL."
            ) from None
        if response.status_code == 404 and allow_missing:
            return
        if response.status_code >= 400:
            raise RabbitUsersError(
                f"RabbitMQ management API answered {response.status_code} to {method} "
                f"{path}: {response.text[:200]}"
            )
