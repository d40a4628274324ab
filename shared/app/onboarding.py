"""Taking partners on and off: partner record, API key, RabbitMQ user and events queue
together."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel

from shared.app.partners import (
    UnknownPartner,
    active_partner,
    issue_api_key,
    new_partner,
    revoke_partner,
    save_partner,
)
from shared.app.webhooks import remove_partner_endpoints
from shared.domain.models import Partner
from shared.infra.broker_policies import apply_partner_events_policy
from shared.infra.mongo_types import Database
from shared.infra.rabbit_users import RabbitUsers
from shared.infra.settings import Settings


class PartnerCredentials(BaseModel):
    """What a new partner receives once: its id, API key and RabbitMQ credentials."""

    partner_id: str
    api_key: str
    amqp_user: str
    amqp_password: str
    events_queue: str

    def amqp_url(self, broker_url: str) -> str:
        """``broker_url`` (host, port, vhost) with this partner's RabbitMQ user and password."""
        parts = urlsplit(broker_url)
        user = f"{quote(self.amqp_user, safe='')}:{quote(self.amqp_password, safe='')}"
        return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port or 5672}"))


async def onboard_partner(
    *, db: Database, settings: Settings, name: str, now: datetime
) -> PartnerCredentials:
    """Create the partner, its API key, its RabbitMQ user and its events queue (removed
    again on failure)."""
    partner = new_partner(name=name, now=now)
    assert partner.amqp_user is not None
    async with RabbitUsers(settings) as users:
        password = await users.create_partner_user(partner.amqp_user)
        try:
            events_queue = await create_events_queue(users, settings, partner)
            await save_partner(db, partner=partner)
            api_key = await issue_api_key(db, partner_id=partner.id, now=now)
        except BaseException:
            await users.delete_events_queue(partner.amqp_user)
            await users.delete_user(partner.amqp_user)
            raise
    return PartnerCredentials(
        partner_id=partner.id,
        api_key=api_key,
        amqp_user=partner.amqp_user,
        amqp_password=password,
        events_queue=events_queue,
    )


async def create_events_queue(users: RabbitUsers, settings: Settings, partner: Partner) -> str:
    """Bound every partner's events queue (the policy), then declare and bind
    ``partner``'s (idempotent); its name."""
    assert partner.amqp_user is not None
    await apply_partner_events_policy(settings)
    return await users.create_events_queue(
        amqp_user=partner.amqp_user,
        partner_id=partner.id,
        delivery_limit=settings.delivery_limit,
    )


async def ensure_events_queue(*, db: Database, settings: Settings, partner_id: str) -> str:
    """Give an active partner taken on before events queues existed its queue and the
    permission to read it; raises UnknownPartner."""
    partner = await active_partner(db, {"_id": partner_id})
    if partner is None or partner.amqp_user is None:
        raise UnknownPartner(f"There is no active partner {partner_id} with a RabbitMQ user.")
    async with RabbitUsers(settings) as users:
        await users.set_partner_permissions(partner.amqp_user)
        return await create_events_queue(users, settings, partner)


async def offboard_partner(
    *, db: Database, settings: Settings, partner_id: str, now: datetime
) -> Partner:
    """Revoke the partner and its keys, delete its RabbitMQ user, its events queue and its
    webhook endpoints; raises UnknownPartner."""
    partner = await revoke_partner(db, partner_id=partner_id, now=now)
    await remove_partner_endpoints(db, partner_id=partner_id)
    if partner.amqp_user:
        async with RabbitUsers(settings) as users:
            await users.delete_user(partner.amqp_user)
            await users.delete_events_queue(partner.amqp_user)
    return partner
