"""Fixtures of the integration tests: real partners taken on, the services with the reader
on, the lifecycle tests' validator and ops client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest_asyncio
from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase

from services.intake import app as intake_app
from services.intake.http import decisions, problems, registrations
from services.reader import app as reader_app
from services.validator import app as validator_app
from shared.app.onboarding import PartnerCredentials, onboard_partner
from shared.infra.rabbit_users import RabbitUsers
from shared.infra.runtime import ServiceContext, open_context
from shared.infra.settings import Settings
from tests.integration.lifecycle_support import Lifecycle
from tests.support import own_database


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


@pytest_asyncio.fixture(scope="session")
async def lifecycle(settings: Settings, db: AsyncDatabase) -> AsyncIterator[Lifecycle]:
    """A validator consuming and an ops client on the intake's decision and import routes."""
    validator = await validator_app.start(settings)
    ops = await open_context("intake", settings)
    await ops.broker.start()
    app = FastAPI()
    app.state.ctx = ops
    problems.install(app)  # errors as the intake answers them: problem+json
    app.include_router(decisions.router)
    app.include_router(registrations.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield Lifecycle(validator, ops, http)
    await ops.close()
    await validator.close()


@pytest_asyncio.fixture(scope="module")
async def iso_db(iso: Settings) -> AsyncIterator[AsyncDatabase]:
    """The database of the module's ``iso`` settings (a vhost and a database of its own)."""
    async with own_database(iso) as database:
        yield database
