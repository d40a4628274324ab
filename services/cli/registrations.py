"""``regwatch registrations import FILE.csv``: watch existing registrations' renewals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from shared.app.registrations import CSV_COLUMNS, ImportReport, import_registrations
from shared.domain.catalog import Catalog, CatalogError, load_catalog
from shared.domain.clock import clock_from
from shared.infra import db as mongo
from shared.infra.settings import Settings

app = typer.Typer(help="Registrations granted by the authority.", no_args_is_help=True)


@app.callback()
def group() -> None:
    """Registrations granted by the authority."""


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV file"),
) -> None:
    """Import registrations from CSV (header row required); bad rows are reported by line.

    Columns: registration_number,exporter_name,country,category,product,issued_on,
    valid_until,contact_emails (ISO dates, emails separated by ';'). Importing the same
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
                now=clock_from(settings.regwatch_now).now(),
                progress=advance,
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
