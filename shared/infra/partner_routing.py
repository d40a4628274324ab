"""Which partner an event concerns: the header that routes it to the partner's queue.

The relay asks before each publish. Documents name their partner; application events and
application windows reach the partner of the application; registration events and the
renewal and expiry deadlines reach the partner whose application started the current term
(the certificate, or a renewal it filed). A registration imported by ops with no
application reaches no partner.
"""

from __future__ import annotations

from typing import Any

from cachetools import LRUCache

from shared.infra.mongo_types import Database
from shared.infra.topology import PARTNER_HEADER, is_partner_event

REGISTRATION_DEADLINE_KINDS = ("renewal", "expiry")


class PartnerRouting:
    """Finds the partner of an event from the applications and registrations it names."""

    def __init__(self, db: Database, *, cache_size: int = 10_000) -> None:
        self._db = db
        # An application never changes partner, so what was found is kept.
        self._application_partner: LRUCache[str, str] = LRUCache(maxsize=cache_size)

    async def headers(self, event: dict[str, Any]) -> dict[str, str]:
        """The routing headers of ``event`` (a CloudEvent as JSON): empty for no partner."""
        if not is_partner_event(event["type"]):
            return {}
        partner_id = await self.partner_of(event)
        return {PARTNER_HEADER: partner_id} if partner_id else {}

    async def partner_of(self, event: dict[str, Any]) -> str | None:
        """The partner ``event`` concerns, or None (nobody's, or a registration of ops)."""
        event_type, data = event["type"], event.get("data") or {}
        if event_type.startswith("document."):
            return data.get("partner_id")
        if event_type == "registration.status_changed":
            return await self.registration_partner({"_id": data.get("registration_id")})
        if data.get("kind") in REGISTRATION_DEADLINE_KINDS:
            number = data.get("registration_number") or data.get("subject")
            return await self.registration_partner({"number": number})
        application_id = data.get("application_id")
        return await self.application_partner(application_id) if application_id else None

    async def application_partner(self, application_id: str) -> str | None:
        """The partner that created the application."""
        if (cached := self._application_partner.get(application_id)) is not None:
            return cached
        found = await self._db["applications"].find_one({"_id": application_id}, {"partner_id": 1})
        if found is None or not found.get("partner_id"):
            return None
        self._application_partner[application_id] = found["partner_id"]
        return str(found["partner_id"])

    async def registration_partner(self, query: dict[str, Any]) -> str | None:
        """The partner of the application behind the registration's current term, if any."""
        if None in query.values():
            return None
        found = await self._db["registrations"].find_one(
            query, {"application_id": 1, "terms.application_id": 1}
        )
        if found is None:
            return None
        terms = [t.get("application_id") for t in reversed(found.get("terms") or [])]
        for application_id in (*terms, found.get("application_id")):
            if application_id and (partner := await self.application_partner(application_id)):
                return partner
        return None
