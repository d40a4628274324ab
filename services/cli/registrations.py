"""``regwatch registrations import|list|show|decide``: the registrations ops watch.

``import`` and the read commands work on the database through the application layer;
``decide`` goes through the intake's ops API, like any other ops client.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from services.cli.database import run_with_db
from shared.app import registration_views as views
from shared.app.registrations import CSV_COLUMNS, ImportReport, import_registrations
from shared.domain.catalog import Catalog, CatalogError, load_catalog
from shared.domain.clock import clock_from
from shared.infra import db as mongo
from shared.infra.mongo_types import Database
from shared.infra.settings import Settings

app = typer.Typer(help="Registrations granted by the authority.", no_args_is_help=True)
T = TypeVar("T")
DECISIONS = ("suspended", "cancelled", "reinstated")


@app.callback()
def group() -> None:
    """Registrations granted by the authority."""


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV file"),
) -> None:
    """Import registrations from CSV (header row required); bad rows are reported by line.

    Columns: registration_number,exporter_name,country,category,product,issued_on,
    valid_until,contact_emails (ISO dates, emails separated by ';'), and optionally languages
    (en or zh per contact email, in the same order, separated by ';'). Importing the same
    file twice changes nothing.
    """
    settings = Settings()
    try:
        catalog = load_catalog(settings.catalog_dir)
    except CatalogError as exc:
        raise typer.BadParameter(f"invalid requirements catalog: {exc}") from None
    text = file.read_text(encoding="utf-8-sig")
    report = asyncio.run(_import(settings, catalog, text))
    _print(report, Console())
    if report.errors:
        raise typer.Exit(1)


async def _import(settings: Settings, catalog: Catalog, text: str) -> ImportReport:
    client = mongo.connect(settings)
    try:
        db = mongo.database(client, settings)
        await mongo.ensure_indexes(db)
        with Progress(transient=True) as progress:
            task = progress.add_task("importing registrations", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await import_registrations(
                client,
                db,
                catalog=catalog,
                text=text,
                clock=clock_from(settings.regwatch_now),
                progress=advance,
                reminder_time=settings.reminder_local_time,
            )
    finally:
        await client.close()


def _print(report: ImportReport, console: Console) -> None:
    console.print(
        f"{report.imported} imported, {report.unchanged} already known, "
        f"{len(report.errors)} rejected",
        highlight=False,
    )
    if report.errors:
        table = Table(title="Rejected rows")
        table.add_column("line", justify="right")
        table.add_column("problem")
        for error in report.errors:
            table.add_row(str(error["line"]), error["message"])
        console.print(table)
        console.print(f"expected columns: {','.join(CSV_COLUMNS)}", highlight=False)


def parse_within(text: str) -> int:
    """``90d``, ``12w`` or ``90`` as a number of days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text.lower())
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a span like 90d or 12w")
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


def _read(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    return run_with_db(work, refusals=(), console=Console())


@app.command("list")
def list_registrations(
    status: str | None = typer.Option(None, help="Only this status, e.g. renewal_open."),
    within: str | None = typer.Option(
        None, "--within", help="Window closes or term ends within this span: 90d, 12w."
    ),
    limit: int = typer.Option(100, min=1, max=500),
    offset: int = typer.Option(0, min=0),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Registrations, the soonest term end first, with their window and next reminder."""
    days = None if within is None else parse_within(within)

    async def work(db: Database, settings: Settings) -> views.RegistrationPage:
        return await views.list_registrations(
            db=db,
            now=clock_from(settings.regwatch_now).now(),
            status=status,
            within_days=days,
            offset=offset,
            limit=limit,
        )

    try:
        listing = _read(work)
    except views.UnknownRegistrationStatus as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from None
    if json:
        typer.echo(listing.model_dump_json())
        return
    Console().print(listing_table(listing))


def listing_table(listing: views.RegistrationPage) -> Table:
    shown = f"{listing.offset + 1}-{listing.offset + len(listing.rows)} of " if listing.rows else ""
    table = Table(title=f"Registrations ({shown}{listing.total})")
    for column in ("number", "exporter", "category", "status", "valid until", "window", "next"):
        table.add_column(column)
    for r in listing.rows:
        window = f"{r.window_opens_on or '?'} to {r.window_closes_on or '?'}"
        table.add_row(
            r.number,
            r.exporter,
            r.category + (f" / {r.product}" if r.product else ""),
            r.status if r.renewable else f"{r.status} (not renewable)",
            str(r.valid_until or "?"),
            window,
            views.reminder_text(r.next_reminder),
        )
    return table


@app.command("show")
def show_registration(
    number: str, json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """One registration: term, window, status, next reminder, history, emails sent."""

    async def work(db: Database, _: Settings) -> views.RegistrationDetail:
        return await views.registration_detail(db=db, number=number)

    try:
        detail = _read(work)
    except views.RegistrationNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if json:
        typer.echo(detail.model_dump_json())
        return
    _print_detail(detail, Console())


def _print_detail(d: views.RegistrationDetail, console: Console) -> None:
    r = d.registration
    console.print(f"[bold]{r.number}[/] {r.exporter} ({r.country or '?'}): {r.category}")
    console.print(f"status [bold]{r.status}[/], term {r.issued_on} to {r.valid_until}")
    console.print(f"renewal window {r.window_opens_on or '?'} to {r.window_closes_on or '?'}")
    if not r.renewable:
        console.print(f"not renewable: {d.not_renewable_reason or '?'}")
    console.print(f"next reminder: {views.reminder_text(r.next_reminder)}", highlight=False)
    for h in d.history:
        why = f": {h.reason}" if h.reason else ""
        console.print(
            f"{h.at:%Y-%m-%d %H:%M} {h.from_status or '-'} -> {h.to_status} ({h.actor}){why}",
            highlight=False,
        )
    for dl in d.deadlines:
        console.print(f"deadline {dl.kind} to {dl.last_day} ({dl.status})", highlight=False)
    emails = Table(title=f"Emails sent ({len(d.emails)})")
    for column in ("when", "about", "subject", "to", "status"):
        emails.add_column(column)
    for m in d.emails:
        when = f"{m.at:%Y-%m-%d %H:%M}" if m.at else ""
        emails.add_row(when, m.event_type or "", m.subject or "", m.recipient or "", m.status)
    console.print(emails)


@app.command("decide")
def decide(
    number: str,
    kind: str = typer.Argument(..., help="suspended, cancelled or reinstated"),
    reason: str = typer.Option(..., "--reason", help="Why: kept in the registration's history."),
    intake_url: str | None = typer.Option(
        None, help="The intake HTTP API (default: http://HTTP_HOST:INTAKE_HTTP_PORT)."
    ),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record an ops decision on a registration through the intake's ops API."""
    if kind not in DECISIONS:
        raise typer.BadParameter(f"use one of: {', '.join(DECISIONS)}", param_hint="KIND")
    settings = Settings()
    url = intake_url or f"http://{settings.http_host}:{settings.intake_http_port}"
    try:
        response = httpx.post(
            f"{url}/v1/registrations/{quote(number, safe='')}/decisions",
            json={"kind": kind, "reason": reason},
            headers={"Authorization": f"Bearer {settings.regwatch_ops_token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"regwatch: the intake API does not answer at {url}: {exc}", err=True)
        raise typer.Exit(2) from None
    if response.is_error:
        typer.echo(f"refused ({response.status_code}): {problem_detail(response)}", err=True)
        raise typer.Exit(1)
    if json:
        typer.echo(response.text)
        return
    stored = response.json()["registration"]
    typer.echo(f"registration {number} is now {stored['status']}")


def problem_detail(response: httpx.Response) -> str:
    """The ``detail`` of a problem+json answer, else its text."""
    try:
        return str(response.json().get("detail") or response.text)
    except ValueError:
        return response.text
