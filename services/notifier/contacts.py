"""The language each contact reads, from the applications and registrations naming it.

A language belongs to the contact (its email address), wherever the exporter gave it, so a
contact keeps its language across an exporter's applications and registrations; when two
records disagree, the one updated last says it.
"""

from __future__ import annotations

from typing import Any

from services.notifier.i18n import language_of
from shared.infra.mongo_types import Database

# (collection, where its contact emails are, where their languages are)
SOURCES = (
    ("applications", "exporter.contact_emails", "exporter.contact_languages"),
    ("registrations", "contact_emails", "contact_languages"),
)


def _at(doc: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        doc = (doc or {}).get(key) or {}
    return doc


async def contact_languages(db: Database, emails: list[str]) -> dict[str, str]:
    """``{email: language}`` for the contacts among ``emails`` that gave a language."""
    if not emails:
        return {}
    found: list[tuple[Any, dict[str, Any]]] = []
    for collection, emails_at, languages_at in SOURCES:
        cursor = db[collection].find(
            {emails_at: {"$in": emails}, languages_at: {"$exists": True, "$ne": {}}},
            {languages_at: 1, "updated_at": 1},
        )
        async for doc in cursor:
            found.append((doc.get("updated_at"), _at(doc, languages_at)))
    found.sort(key=lambda pair: (pair[0] is not None, pair[0] or 0))  # the latest last
    languages: dict[str, str] = {}
    for _, given in found:
        for email, language in given.items():
            if email in emails:
                languages[email] = language_of(language)
    return languages
