"""Fixtures of the integration tests: real partners taken on, the services with the reader on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from services.reader import app as reader_app
from services.validator import app as validator_app
from shared.app.onboarding import PartnerCredentials, onboard_partner
from shared.infra.rabbit_users import RabbitUsers
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def onboard(
    settings: Settings, db: AsyncDatabase
) -> AsyncIterator[Callable[..., Awaitable[PartnerCredentials]]]:
    """Take partners on for real; their users and queues are deleted after the module."""
    created: list[str] = []

    async def take_on(name: str, settings_: Settings = settings) -> PartnerCredentials:
        credentials = await onboard_partner(
            db=db, settings=settings_, name=name, now=datetime.now(UTC)
        )
        created.append(credentials.amqp_user)
        return credentials

    yield take_on
    async with RabbitUsers(settings) as users:
        for amqp_user in created:
            await users.delete_user(amqp_user)
            await users.delete_events_queue(amqp_user)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def reading_services(
    reading_settings: Settings, db: AsyncDatabase
) -> AsyncIterator[dict[str, ServiceContext]]:
    """Intake, validator and reader with the reader on (the other tests run without it)."""
    on = reading_settings
    contexts = {
        "intake": await intake_app.start(on),
        "validator": await validator_app.start(on),
        "reader": await reader_app.start(on),
    }
    yield contexts
    for ctx in contexts.values():
        await ctx.close()
