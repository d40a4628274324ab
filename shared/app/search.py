"""Ops search: one query matched against ids, names, numbers and partners, by index only.

Each kind is looked up through an index (SecantusDB reads a whole collection for any
other query, and a regex is such a query): ids and registration numbers by prefix, names
by the start of one of their words (``shared.domain.search_terms``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from shared.domain.calendar import day_of
from shared.domain.search_terms import name_terms
from shared.infra.mongo_types import Collection, Database

HitKind = Literal["application", "registration", "document", "partner"]
KINDS: tuple[HitKind, ...] = ("application", "registration", "document", "partner")
MIN_QUERY_CHARS = 2
LIMIT_PER_KIND = 20
# Above every character a person types: [q, q + HIGHEST) holds every string that starts with q.
HIGHEST = "\U0010ffff"


class Hit(BaseModel):
    kind: HitKind
    id: str
    title: str
    detail: str
    url: str
    matched: str  # what matched: "id", "exporter", "registration number", "name"


class SearchResults(BaseModel):
    query: str
    too_short: bool = False
    groups: dict[HitKind, list[Hit]]

    @property
    def total(self) -> int:
        return sum(len(hits) for hits in self.groups.values())


def _prefix(value: str) -> dict[str, str]:
    return {"$gte": value, "$lt": value + HIGHEST}


async def _by_id_prefix(collection: Collection, query: str) -> list[dict[str, Any]]:
    # The hint makes the prefix a range on the _id index, which a planner may not pick alone.
    cursor = collection.find({"_id": _prefix(query)}, hint="_id_").limit(LIMIT_PER_KIND)
    return await cursor.to_list()


async def _by_words(collection: Collection, field: str, query: str) -> list[dict[str, Any]]:
    """Records whose ``field`` (a list of words) has a word starting with each query word."""
    words = name_terms(query)
    if not words:
        return []
    longest = max(words, key=len)  # the narrowest range on the index
    cursor = collection.find({field: _prefix(longest)}).limit(LIMIT_PER_KIND * 5)
    found = []
    async for doc in cursor:
        terms = doc.get(field) or []
        if all(any(t.startswith(w) for t in terms) for w in words):
            found.append(doc)
    return found[:LIMIT_PER_KIND]


def _unique(docs: list[tuple[dict[str, Any], str]]) -> list[tuple[dict[str, Any], str]]:
    seen: set[str] = set()
    kept = []
    for doc, matched in docs:
        if doc["_id"] not in seen:
            seen.add(doc["_id"])
            kept.append((doc, matched))
    return kept[:LIMIT_PER_KIND]


def _application_hit(doc: dict[str, Any], matched: str) -> Hit:
    exporter = doc.get("exporter") or {}
    number = doc.get("registration_number")
    detail = f"{doc.get('category', '?')} · {doc.get('kind', '?')} · {doc.get('status', '?')}"
    return Hit(
        kind="application",
        id=doc["_id"],
        title=str(exporter.get("name", "?")),
        detail=detail + (f" · registration {number}" if number else ""),
        url=f"/applications/{doc['_id']}",
        matched=matched,
    )


def _registration_hit(doc: dict[str, Any], matched: str) -> Hit:
    exporter = doc.get("exporter") or {}
    until = doc.get("valid_until")
    return Hit(
        kind="registration",
        id=str(doc["number"]),
        title=str(exporter.get("name", "?")),
        detail=f"{doc.get('category', '?')} · {doc.get('status', '?')}"
        + (f" · valid until {day_of(until)}" if until else ""),
        url=f"/registrations/{doc['number']}",
        matched=matched,
    )


def _document_hit(doc: dict[str, Any], matched: str) -> Hit:
    return Hit(
        kind="document",
        id=doc["_id"],
        title=str(doc.get("filename", "?")),
        detail=f"{doc.get('document_type', '?')} of {doc.get('application_id', '?')}",
        url=f"/applications/{doc.get('application_id')}#doc-{doc['_id']}",
        matched=matched,
    )


def _partner_hit(doc: dict[str, Any], matched: str) -> Hit:
    return Hit(
        kind="partner",
        id=doc["_id"],
        title=str(doc.get("name", "?")),
        detail="revoked" if doc.get("revoked") else f"AMQP user {doc.get('amqp_user') or '-'}",
        url=f"/applications?partner={doc['_id']}",
        matched=matched,
    )


async def _applications(db: Database, query: str) -> list[Hit]:
    apps = db["applications"]
    numbers = {query, query.upper()}
    found = [(d, "id") for d in await _by_id_prefix(apps, query)]
    found += [(d, "exporter") for d in await _by_words(apps, "exporter_terms", query)]
    for number in numbers:
        cursor = apps.find({"registration_number": _prefix(number)}).limit(LIMIT_PER_KIND)
        found += [(d, "registration number") async for d in cursor]
    return [_application_hit(d, m) for d, m in _unique(found)]


async def _registrations(db: Database, query: str) -> list[Hit]:
    registrations = db["registrations"]
    found = []
    for number in {query, query.upper()}:
        cursor = registrations.find({"number": _prefix(number)}).limit(LIMIT_PER_KIND)
        found += [(d, "number") async for d in cursor]
    found += [(d, "exporter") for d in await _by_words(registrations, "exporter_terms", query)]
    return [_registration_hit(d, m) for d, m in _unique(found)]


async def _documents(db: Database, query: str) -> list[Hit]:
    return [_document_hit(d, "id") for d in await _by_id_prefix(db["documents"], query)]


async def _partners(db: Database, query: str) -> list[Hit]:
    partners = db["partners"]
    found = [(d, "id") for d in await _by_id_prefix(partners, query)]
    found += [(d, "name") for d in await _by_words(partners, "name_terms", query)]
    return [_partner_hit(d, m) for d, m in _unique(found)]


async def search(*, db: Database, query: str) -> SearchResults:
    """Everything ``query`` names, grouped by kind (at most ``LIMIT_PER_KIND`` of each).

    Ids and registration numbers match by their start (a short id from the CLI finds the
    record), exporter and partner names by the start of any of their words, ignoring case.
    """
    text = " ".join(query.split())
    groups: dict[HitKind, list[Hit]] = {kind: [] for kind in KINDS}
    if len(text) < MIN_QUERY_CHARS:
        return SearchResults(query=text, too_short=bool(text), groups=groups)
    groups["application"] = await _applications(db, text)
    groups["registration"] = await _registrations(db, text)
    groups["document"] = await _documents(db, text)
    groups["partner"] = await _partners(db, text)
    return SearchResults(query=text, groups=groups)
