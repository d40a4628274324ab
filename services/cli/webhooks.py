"""``regwatch webhooks``: partners' webhook endpoints, for ops (partners use the API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from services.cli.database import run_with_db
from shared.app import webhook_secrets, webhooks
from shared.app.partners import active_partner
from shared.domain.clock import clock_from
from shared.domain.webhooks import WebhookRefused
from shared.infra.mongo_types import Database
from shared.infra.secret_box import SecretBox, SecretKeyError
from shared.infra.settings import Settings

app = typer.Typer(help="Partners' signed webhook endpoints.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    return run_with_db(
        work,
        refusals=(WebhookRefused, webhooks.UnknownEndpoint, LookupError, SecretKeyError),
        console=console,
    )


@app.command("list")
def list_(
    partner_id: str | None = typer.Option(None, "--partner", help="Only this partner's."),
) -> None:
    """Every endpoint with its partner, events and state (why, when disabled)."""

    async def work(database: Database, _: Settings) -> Table:
        table = Table(title="Webhook endpoints")
        for column in ("id", "partner", "url", "events", "state"):
            table.add_column(column)
        for endpoint in await webhooks.list_endpoints(database, partner_id=partner_id):
            state: str = endpoint.status
            if endpoint.disabled_reason:
                state = f"{state}: {endpoint.disabled_reason}"
            table.add_row(
                endpoint.id,
                endpoint.partner_id,
                endpoint.url,
                ", ".join(endpoint.events) or "all",
                state,
            )
        return table

    console.print(_run(work))


@app.command("add")
def add(
    partner_id: str = typer.Argument(..., help="The partner's id (ptn_...)."),
    url: str = typer.Argument(..., help="The endpoint's https:// URL."),
    event: list[str] = typer.Option(
        [], "--event", help="An event type pattern ('deadline.*'); repeat; none: every event."
    ),
) -> None:
    """Register an endpoint for a partner; its signing secret is shown once."""

    async def work(database: Database, settings: Settings) -> tuple[str, str]:
        if await active_partner(database, {"_id": partner_id}) is None:
            raise LookupError(f"There is no active partner {partner_id}.")
        endpoint, secret = await webhooks.create_endpoint(
            database,
            partner_id=partner_id,
            url=url,
            events=event,
            now=clock_from(settings.regwatch_now).now(),
            allow_loopback=settings.webhook_allow_loopback,
            box=SecretBox.from_settings(settings),
        )
        return endpoint.id, secret

    endpoint_id, secret = _run(work)
    console.print(f"Endpoint {endpoint_id} registered. Signing secret (shown only now):")
    print(secret)


@app.command("rotate-secret")
def rotate_secret(
    endpoint_id: str = typer.Argument(..., help="The endpoint's id (whk_...)."),
    grace_hours: float | None = typer.Option(
        None,
        "--grace-hours",
        help="How long deliveries are signed with the old secret too "
        "(default WEBHOOK_SECRET_GRACE_HOURS).",
        min=0,
    ),
) -> None:
    """Give an endpoint a new signing secret, shown once; during the grace period every
    delivery carries signatures with both, so the receiver can switch at any time in it."""

    async def work(database: Database, settings: Settings) -> tuple[str, datetime | None]:
        hours = settings.webhook_secret_grace_hours if grace_hours is None else grace_hours
        endpoint, secret = await webhook_secrets.rotate_secret(
            database,
            endpoint_id=endpoint_id,
            box=SecretBox.from_settings(settings),
            now=clock_from(settings.regwatch_now).now(),
            grace=timedelta(hours=hours),
        )
        return secret, endpoint.previous_secret_until

    secret, until = _run(work)
    console.print(
        f"Endpoint {endpoint_id} has a new signing secret (shown only now); the old one "
        f"also signs until {until:%Y-%m-%d %H:%M} UTC:"
        if until
        else f"Endpoint {endpoint_id} has a new signing secret (shown only now):"
    )
    print(secret)


@app.command("remove")
def remove(endpoint_id: str = typer.Argument(..., help="The endpoint's id (whk_...).")) -> None:
    """Delete an endpoint and the deliveries still waiting for it."""

    async def work(database: Database, _: Settings) -> None:
        await webhooks.delete_endpoint(database, endpoint_id=endpoint_id)

    _run(work)
    console.print(f"Endpoint {endpoint_id} removed.")
