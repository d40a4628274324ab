"""``regwatch applications list|show``: the dashboard's application views in the terminal."""

from __future__ import annotations

import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.table import Table

from services.cli.ops import OpsAccess, run_with_ops
from shared.app import ops_views as queries

app = typer.Typer(help="Applications: list them, show one in full.", no_args_is_help=True)
_SUMMARIES = TypeAdapter(list[queries.ApplicationSummary])


@app.command("list")
def list_applications(
    status: str | None = typer.Option(None, help="Only applications with this status."),
    category: str | None = typer.Option(None, help="Only this category, e.g. food.dairy."),
    limit: int = typer.Option(50, min=1, max=1000),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Applications, most recently changed first."""

    async def work(ops: OpsAccess) -> list[queries.ApplicationSummary]:
        return await queries.list_applications(
            db=ops.db, status=status, category=category, limit=limit
        )

    rows = run_with_ops(work)
    if json:
        typer.echo(_SUMMARIES.dump_json(rows).decode())
        return
    table = Table(title=f"Applications ({len(rows)})")
    for column in ("id", "exporter", "category", "kind", "status", "updated"):
        table.add_column(column)
    for a in rows:
        category_text = a.category + (f" / {a.product}" if a.product else "")
        updated = a.updated_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(a.id, a.exporter, category_text, a.kind, a.status, updated)
    Console().print(table)


def _print_detail(d: queries.ApplicationDetail, console: Console) -> None:
    a = d.application
    console.print(f"[bold]{a.exporter}[/] {a.id}: {a.category} {a.product or ''} {a.kind}")
    console.print(f"status [bold]{a.status}[/], partner {a.partner_id}")
    if d.validation:
        v = d.validation
        console.print(f"verdict [bold]{v.verdict}[/] (catalog {v.catalog_version})")
        rules = Table(title="Latest validation, rule by rule")
        for column in ("", "rule", "result"):
            rules.add_column(column)
        for r in v.outcomes:
            rules.add_row("[green]pass[/]" if r.passed else "[red]FAIL[/]", r.rule, r.message)
        console.print(rules)
    else:
        console.print("not validated yet")
    docs = Table(title=f"Documents ({len(d.documents)})")
    for column in ("type", "file", "content type", "bytes", "received"):
        docs.add_column(column)
    for doc in d.documents:
        received = doc.received_at.strftime("%Y-%m-%d %H:%M")
        docs.add_row(doc.document_type, doc.filename, doc.content_type, str(doc.size), received)
    console.print(docs)
    for h in d.history:
        console.print(f"{h.at:%Y-%m-%d %H:%M} {h.from_status or '-'} -> {h.to_status} ({h.actor})")
    for dl in d.deadlines:
        console.print(f"deadline {dl.kind} due {dl.due_at:%Y-%m-%d} ({dl.status})")
    for m in d.deliveries:
        console.print(f"email to {m.recipient}: {m.status}")


@app.command("show")
def show_application(
    application_id: str,
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One application: exporter, status history, documents, validation, deadlines, emails."""

    async def work(ops: OpsAccess) -> queries.ApplicationDetail:
        return await queries.application_detail(db=ops.db, application_id=application_id)

    try:
        detail = run_with_ops(work)
    except queries.ApplicationNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if json:
        typer.echo(detail.model_dump_json())
        return
    _print_detail(detail, Console())
