"""Policies on the broker, set through the RabbitMQ management HTTP API.

A queue argument is fixed when the queue is declared; a policy reaches existing queues as
soon as it is set. Settings that must reach queues already declared (the length bound of
partners' events queues) are therefore policies, set again at every service start and
whenever a partner is taken on.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote, urlsplit

import httpx

from shared.infra.settings import Settings
from shared.infra.topology import (
    DEAD_LETTER_POLICY,
    DEAD_LETTER_POLICY_NAME,
    PARTNER_EVENTS_POLICY_NAME,
    partner_events_policy,
)

log = logging.getLogger("regwatch.broker_policies")


class BrokerPolicyError(Exception):
    """The management API refused or failed to set a policy."""


def vhost_of(amqp_url: str) -> str:
    """The vhost an AMQP URL names (``/`` when the path is empty)."""
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


async def set_policy(
    settings: Settings, name: str, policy: dict[str, object], *, timeout: float = 10.0
) -> None:
    """Create or replace the policy ``name`` on the vhost of ``AMQP_URL``."""
    vhost = quote(vhost_of(settings.amqp_url), safe="")
    url = settings.rabbitmq_management_url.rstrip("/") + f"/api/policies/{vhost}/{quote(name)}"
    auth = (settings.rabbitmq_management_user, settings.rabbitmq_management_password)
    try:
        async with httpx.AsyncClient(auth=auth, timeout=timeout) as client:
            response = await client.put(url, json=policy)
    except httpx.HTTPError as exc:
        raise BrokerPolicyError(
            f"RabbitMQ management API unreachable ({exc}); check RABBITMQ_MANAGEMENT_URL."
        ) from None
    if response.status_code >= 400:
        raise BrokerPolicyError(
            f"RabbitMQ management API answered {response.status_code} to policy {name}: "
            f"{response.text[:200]}"
        )


async def apply_partner_events_policy(settings: Settings) -> None:
    """Bound every partner's events queue, existing or future, to
    ``PARTNER_EVENTS_MAX_LENGTH`` events (the oldest beyond go to the dead letters)."""
    await set_policy(
        settings,
        PARTNER_EVENTS_POLICY_NAME,
        partner_events_policy(max_length=settings.partner_events_max_length),
    )


async def apply_dead_letter_policy(settings: Settings) -> None:
    """Give the dead-letter queue its explicit, out-of-reach delivery limit."""
    await set_policy(settings, DEAD_LETTER_POLICY_NAME, DEAD_LETTER_POLICY)
