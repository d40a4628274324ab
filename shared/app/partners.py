"""Partners and their API keys.

A partner is an outside system acting for exporters. It authenticates over HTTP with an
API key (shown once when issued, stored only as its sha256: keys are 256 random bits, so a
fast hash is enough and a look-up by hash needs no secret comparison) and over AMQP as its
own RabbitMQ user, which the broker itself verifies through the ``user_id`` property.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from pydantic import BaseModel

from shared.domain.models import Partner, new_id
from shared.infra.mongo_types import Database

API_KEY_PREFIX = "rwk_"


class ApiKey(BaseModel):
    """A stored API key: its hash and a short prefix to recognise it by, never the key."""

    id: str
    partner_id: str
    key_hash: str
    display_prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class UnknownPartner(LookupError):
    """No partner has the given id."""


def generate_api_key() -> str:
    """A new random API key (256 bits, URL-safe)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """The sha256 (hex) under which an API key is stored and looked up."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_partner(*, name: str, now: datetime) -> Partner:
    """A partner record whose RabbitMQ user is named after its id (unique, stable)."""
    partner_id = new_id("ptn")
    return Partner(_id=partner_id, name=name, amqp_user=partner_id, created_at=now)


async def save_partner(db: Database, *, partner: Partner) -> None:
    """Insert ``partner``."""
    await db["partners"].insert_one(partner.to_mongo())


async def issue_api_key(db: Database, *, partner_id: str, now: datetime) -> str:
    """Store a new key for ``partner_id`` and return it: the only time it is visible."""
    api_key = generate_api_key()
    record = ApiKey(
        id=new_id("key"),
        partner_id=partner_id,
        key_hash=hash_api_key(api_key),
        display_prefix=api_key[:10],
        created_at=now,
    )
    document = record.model_dump(exclude={"id"})
    await db["api_keys"].insert_one({"_id": record.id, **document})
    return api_key


async def partner_for_api_key(db: Database, api_key: str) -> Partner | None:
    """The active partner holding the unrevoked ``api_key``, or None."""
    key = await db["api_keys"].find_one({"key_hash": hash_api_key(api_key), "revoked_at": None})
    if key is None:
        return None
    return await active_partner(db, {"_id": key["partner_id"]})


async def partner_for_amqp_user(db: Database, amqp_user: str) -> Partner | None:
    """The active partner whose RabbitMQ user is ``amqp_user``, or None."""
    return await active_partner(db, {"amqp_user": amqp_user})


async def active_partner(db: Database, query: dict[str, str]) -> Partner | None:
    document = await db["partners"].find_one({**query, "revoked": {"$ne": True}})
    return Partner.model_validate(document) if document else None


async def list_partners(db: Database) -> list[Partner]:
    """Every partner, revoked ones included, by name."""
    documents = await db["partners"].find().sort("name", 1).to_list()
    return [Partner.model_validate(d) for d in documents]


async def revoke_partner(db: Database, *, partner_id: str, now: datetime) -> Partner:
    """Revoke the partner and every API key of it; raises UnknownPartner."""
    document = await db["partners"].find_one_and_update(
        {"_id": partner_id}, {"$set": {"revoked": True, "revoked_at": now}}
    )
    if document is None:
        raise UnknownPartner(f"There is no partner {partner_id}.")
    await db["api_keys"].update_many(
        {"partner_id": partner_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
    )
    return Partner.model_validate(document)
