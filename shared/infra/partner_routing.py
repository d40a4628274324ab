"""Which partner an event concerns: the header that routes it to the partner's queue.

Documents name their partner; application events and application windows reach the partner
of the application; registration events and the renewal and expiry deadlines reach the
partner whose application started the current term (the certificate, or a renewal it
filed). A registration imported by ops with no application reaches no partner.

The writer, which has just read the application or registration, knows the partner: it
stages the event with it (``uow.stage(event, partner_id=...)``) and the outbox entry
carries it, so the relay publishes without a lookup. Each term of a registration records
the partner of its application when it starts (a certificate, a granted renewal), so a
registration's partner is read from its document (``registration_partner_of``). Entries
without a partner (written before entries carried one, or by a writer that does not know
it) are looked up here before the publish.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final, Literal

from cachetools import LRUCache

from shared.infra.mongo_types import Database
from shared.infra.topology import PARTNER_HEADER, is_partner_event

REGISTRATION_DEADLINE_KINDS = ("renewal", "expiry")


class _Unknown(Enum):
    PARTNER = "unknown"


UNKNOWN: Final = _Unknown.PARTNER
"""The writer does not know the partner: the relay looks it up before the publish."""
# What a writer says of an event's partner: its id, None (the event concerns no partner),
# or UNKNOWN.
CarriedPartner = str | None | Literal[_Unknown.PARTNER]


def application_partner_of(application: dict[str, Any]) -> CarriedPartner:
    """The partner of an application document, as the lookup finds it (None: none);
    UNKNOWN for a document read without the field."""
    if "partner_id" not in application:
        return UNKNOWN
    partner_id = application["partner_id"]
    return str(partner_id) if partner_id else None


def registration_partner_of(registration: dict[str, Any]) -> CarriedPartner:
    """The partner of a registration document, from the partners its terms record.

    The same answer as the lookup (the newest term whose application has a partner, then
    the registration's own application), or UNKNOWN where a term names an application but
    records no partner (a term started before terms recorded it).
    """
    if "terms" not in registration and "application_id" not in registration:
        return UNKNOWN  # read without what names its partner
    without_partner: set[str] = set()
    for term in reversed(registration.get("terms") or []):
        application_id = term.get("application_id")
        if not application_id:
            continue
        if "partner_id" not in term:
            return UNKNOWN
        if term["partner_id"]:
            return str(term["partner_id"])
        without_partner.add(application_id)
    application_id = registration.get("application_id")
    if not application_id or application_id in without_partner:
        return None
    return UNKNOWN


class PartnerRouting:
    """Finds the partner of an event from the applications and registrations it names."""

    def __init__(self, db: Database, *, cache_size: int = 10_000) -> None:
        self._db = db
        # An application never changes partner, so what was found is kept.
        self._application_partner: LRUCache[str, str] = LRUCache(maxsize=cache_size)

    async def headers(
        self, event: dict[str, Any], carried: CarriedPartner = UNKNOWN
    ) -> dict[str, str]:
        """The routing headers of ``event`` (a CloudEvent as JSON): empty for no partner.

        ``carried``: the partner its writer staged it with; looked up when UNKNOWN.
        """
        if not is_partner_event(event["type"]):
            return {}
        partner_id = await self.partner_of(event) if carried is UNKNOWN else carried
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
            query, {"application_id": 1, "terms.application_id": 1, "terms.partner_id": 1}
        )
        if found is None:
            return None
        if (recorded := registration_partner_of(found)) is not UNKNOWN:
            return recorded
        terms = [t.get("application_id") for t in reversed(found.get("terms") or [])]
        for application_id in (*terms, found.get("application_id")):
            if application_id and (partner := await self.application_partner(application_id)):
                return partner
        return None
