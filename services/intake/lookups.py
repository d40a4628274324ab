"""A brief memory of who a partner is and which applications are its own.

Every document needs its partner (from the RabbitMQ user, or from the API key of an HTTP
request) and its application (owner and category). Each look-up is a database round trip
(two for an API key: the key, then its partner), and the answers change rarely: a partner
or a key is revoked now and then, an application's owner and category never change. So
found answers are kept for ``intake_lookup_cache_seconds``; a revoked partner or API key
is refused at most that long after its revocation. Answers that found nothing are never
kept, so a partner onboarded, a key issued or an application created a moment ago is found
at once. API keys are remembered by their sha256, as they are stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from cachetools import TTLCache

from shared.app.partners import hash_api_key, partner_for_amqp_user, partner_for_api_key
from shared.domain.models import Partner
from shared.infra.mongo_types import Database
from shared.infra.runtime import ServiceContext

MAX_ENTRIES = 10_000
T = TypeVar("T")


class Lookups:
    """Partner ids by RabbitMQ user and applications by (partner, id), kept briefly."""

    def __init__(self, db: Database, *, ttl_seconds: float) -> None:
        self._db = db
        self._keep = ttl_seconds > 0
        ttl = max(ttl_seconds, 0.001)
        self._partners: TTLCache[str, str] = TTLCache(MAX_ENTRIES, ttl)
        self._key_holders: TTLCache[str, Partner] = TTLCache(MAX_ENTRIES, ttl)
        self._applications: TTLCache[tuple[str, str], dict[str, Any]] = TTLCache(MAX_ENTRIES, ttl)
        self._pending: dict[tuple[str, ...], asyncio.Future[Any]] = {}

    async def partner_id_for_amqp_user(self, amqp_user: str) -> str | None:
        """The id of the active partner using ``amqp_user``, or None."""
        if (known := self._partners.get(amqp_user)) is not None:
            return known
        partner = await self._once(
            ("partner", amqp_user), lambda: partner_for_amqp_user(self._db, amqp_user)
        )
        if partner is None:
            return None
        if self._keep:
            self._partners[amqp_user] = partner.id
        return partner.id

    async def partner_for_api_key(self, api_key: str) -> Partner | None:
        """The active partner holding the unrevoked ``api_key``, or None."""
        key_hash = hash_api_key(api_key)
        if (known := self._key_holders.get(key_hash)) is not None:
            return known
        partner = await self._once(
            ("api_key", key_hash), lambda: partner_for_api_key(self._db, api_key)
        )
        if partner is not None and self._keep:
            self._key_holders[key_hash] = partner
        return partner

    async def application(self, *, partner_id: str, application_id: str) -> dict[str, Any] | None:
        """The partner's own application (another partner's is not found), or None."""
        key = (partner_id, application_id)
        if (known := self._applications.get(key)) is not None:
            return known
        document = await self._once(
            ("application", *key),
            lambda: self._db["applications"].find_one(
                {"_id": application_id, "partner_id": partner_id}
            ),
        )
        if document is not None and self._keep:
            self._applications[key] = document
        return document

    async def _once(self, key: tuple[str, ...], look_up: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """One query for the same look-up however many documents wait for it at once.

        A burst of documents of one application arrives together (prefetch): without
        this, each of them would miss the cache and query.
        """
        if (pending := self._pending.get(key)) is None:
            pending = asyncio.ensure_future(look_up())
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        # A waiter cancelled (its message's delivery ended) must not cancel the others'.
        return await asyncio.shield(pending)


def lookups_of(ctx: ServiceContext) -> Lookups:
    """The intake's lookups; a plain service context (ops tools, tests) looks up every time."""
    found = getattr(ctx, "lookups", None)
    return found if isinstance(found, Lookups) else Lookups(ctx.db, ttl_seconds=0)
