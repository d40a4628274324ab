"""Test data written straight into MongoDB (partners, applications)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.domain.models import Application, Exporter, Partner, new_id


async def make_partner(db: AsyncDatabase, amqp_user: str | None = None, name: str = "") -> str:
    partner = Partner(
        _id=new_id("ptn"),
        name=name or "Test partner",
        amqp_user=amqp_user,
        created_at=datetime.now(UTC),
    )
    await db["partners"].insert_one(partner.to_mongo())
    return partner.id


async def make_application(db: AsyncDatabase, partner_id: str, **fields: Any) -> str:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "_id": new_id("app"),
        "partner_id": partner_id,
        "exporter": Exporter(
            name="Nordic Scrap AB", country="SE", contact_emails=["exports@nordicscrap.example"]
        ),
        "category": "food.dairy",
        "product": "milk_powder",
        "kind": "new",
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    application = Application(**values)
    await db["applications"].insert_one(application.model_dump(by_alias=True, mode="python"))
    return application.id
