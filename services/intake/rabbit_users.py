"""Partners' RabbitMQ users, through the RabbitMQ management HTTP API.

A partner's user may do exactly three things on the vhost of ``AMQP_URL``:
- publish to the exchange ``regwatch.intake`` (write),
- declare, consume and delete its own reply queues ``partner.<user>.<anything>``
  (configure, read),
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
from shared.infra.topology import INTAKE_EXCHANGE


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
    """The least a partner's user needs: publish submissions, own its reply queues."""
    own_queues = f"^{re.escape(reply_queue_prefix(amqp_user))}.+$"
    return Permissions(
        configure=own_queues, write=f"^{re.escape(INTAKE_EXCHANGE.name)}$", read=own_queues
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
        permissions = partner_permissions(amqp_user)
        await self._request(
            "PUT",
            f"permissions/{quote(self._vhost, safe='')}/{user}",
            {
                "configure": permissions.configure,
                "write": permissions.write,
                "read": permissions.read,
            },
        )
        return password

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
