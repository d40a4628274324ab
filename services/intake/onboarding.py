"""Taking partners on and off: partner record, API key and RabbitMQ user together."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.rabbit_users import RabbitUsers
from shared.app.partners import issue_api_key, new_partner, revoke_partner, save_partner
from shared.domain.models import Partner
from shared.infra.settings import Settings


class PartnerCredentials(BaseModel):
    """What a new partner receives once: its id, API key and RabbitMQ credentials."""

    partner_id: str
    api_key: str
    amqp_user: str
    amqp_password: str


async def onboard_partner(
    *, db: AsyncDatabase, settings: Settings, name: str, now: datetime
) -> PartnerCredentials:
    """Create the partner, its API key and its RabbitMQ user (removed again on failure)."""
    partner = new_partner(name=name, now=now)
    assert partner.amqp_user is not None
    async with RabbitUsers(settings) as users:
        password = await users.create_partner_user(partner.amqp_user)
        try:
            await save_partner(db, partner=partner)
            api_key = await issue_api_key(db, partner_id=partner.id, now=now)
        except BaseException:
            await users.delete_user(partner.amqp_user)
            raise
    return PartnerCredentials(
        partner_id=partner.id,
        api_key=api_key,
        amqp_user=partner.amqp_user,
        amqp_password=password,
    )


async def offboard_partner(
    *, db: AsyncDatabase, settings: Settings, partner_id: str, now: datetime
) -> Partner:
    """Revoke the partner and its keys and delete its RabbitMQ user; raises UnknownPartner."""
    partner = await revoke_partner(db, partner_id=partner_id, now=now)
    if partner.amqp_user:
        async with RabbitUsers(settings) as users:
            await users.delete_user(partner.amqp_user)
    return partner
