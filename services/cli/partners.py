"""``regwatch partners``: take partners on (API key, RabbitMQ user, events queue), list and
revoke them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from services.cli.database import run_with_db
from shared.app.onboarding import (
    PartnerCredentials,
    ensure_events_queue,
    offboard_partner,
    onboard_partner,
)
from shared.app.partners import UnknownPartner, list_partners
from shared.domain.clock import clock_from
from shared.infra.broker_policies import BrokerPolicyError
from shared.infra.mongo_types import Database
from shared.infra.rabbit_users import RabbitUsersError
from shared.infra.settings import Settings

app = typer.Typer(help="Partners: outside systems that submit documents.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    return run_with_db(
        work, refusals=(RabbitUsersError, BrokerPolicyError, UnknownPartner), console=console
    )


@app.command("add")
def add(
    name: str = typer.Argument(..., help="The partner's name, e.g. 'Nordic Export Agents'."),
    as_json: bool = typer.Option(False, "--json", help="Print the credentials as JSON."),
) -> None:
    """Create a partner with an API key, a RabbitMQ user and its events queue
    ``partner.<amqp_user>.events``; credentials are shown once."""

    async def work(database: Database, settings: Settings) -> PartnerCredentials:
        now = clock_from(settings.regwatch_now).now()
        return await onboard_partner(db=database, settings=settings, name=name, now=now)

    credentials = _run(work)
    if as_json:
        print(credentials.model_dump_json())
        return
    table = Table(title=f"Partner {name!r} created: keep these, they are shown only once")
    table.add_column("field")
    table.add_column("value")
    for field, value in credentials.model_dump().items():
        table.add_row(field, value)
    console.print(table)


@app.command("list")
def list_() -> None:
    """Every partner with its RabbitMQ user and state."""

    async def work(database: Database, _: Settings) -> Table:
        table = Table(title="Partners")
        for column in ("id", "name", "RabbitMQ user", "created", "state"):
            table.add_column(column)
        for partner in await list_partners(database):
            table.add_row(
                partner.id,
                partner.name,
                partner.amqp_user or "-",
                partner.created_at.strftime("%Y-%m-%d %H:%M"),
                "revoked" if partner.revoked else "active",
            )
        return table

    console.print(_run(work))


@app.command("revoke")
def revoke(partner_id: str = typer.Argument(..., help="The partner's id (ptn_...).")) -> None:
    """Revoke a partner's API keys, delete its RabbitMQ user and its events queue."""

    async def work(database: Database, settings: Settings) -> str:
        now = clock_from(settings.regwatch_now).now()
        partner = await offboard_partner(
            db=database, settings=settings, partner_id=partner_id, now=now
        )
        return partner.name

    name = _run(work)
    console.print(
        f"Partner {partner_id} ({name}) revoked: API keys, RabbitMQ user and events queue removed."
    )


@app.command("events-queue")
def events_queue(partner_id: str = typer.Argument(..., help="The partner's id (ptn_...).")) -> None:
    """(Re)create an active partner's events queue and its permission to read it (for
    partners taken on before events queues existed; idempotent)."""

    async def work(database: Database, settings: Settings) -> str:
        return await ensure_events_queue(db=database, settings=settings, partner_id=partner_id)

    console.print(f"Events queue {_run(work)} is bound to partner {partner_id}.")
