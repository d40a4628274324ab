"""``regwatch status``: the dashboard's overview in the terminal, alarms first."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from services.cli.ops import OpsAccess, run_with_ops
from shared.app import ops_views as queries
from shared.app.ops_views import OpsOverview
from shared.infra.queue_report import QueueReport, queue_report


async def _collect(ops: OpsAccess) -> tuple[queries.Overview, QueueReport]:
    overview = await queries.overview(db=ops.db, now=ops.clock.now())
    return overview, await queue_report(ops.settings, ops.connection)


def _print(overview: queries.Overview, report: QueueReport, console: Console) -> None:
    for alarm in report.alarms:
        console.print(f"[bold white on red] ALARM [/] {alarm.queue}: {alarm.message}")
    if report.management_error:
        console.print(f"[yellow]{report.management_error}[/]")
    queues = Table(title="Queues")
    for column in ("queue", "ready", "unacked", "consumers"):
        queues.add_column(column)
    for q in report.queues:
        unacked = "?" if q.unacked is None else str(q.unacked)
        queues.add_row(q.name, str(q.ready), unacked, str(q.consumers))
    console.print(queues)
    apps = Table(title=f"Applications ({overview.applications_total})")
    for column in ("status", "category", "count"):
        apps.add_column(column)
    for row in overview.applications:
        apps.add_row(row.status, row.category, str(row.count))
    console.print(apps)
    deadlines = overview.deadlines
    within = ", ".join(f"{n} within {d} days" for d, n in deadlines.within_days.items())
    console.print(f"Documents today: {overview.documents_today}")
    console.print(f"Verdicts: {overview.verdicts or 'none yet'}")
    console.print(f"Deadlines: {deadlines.overdue} overdue, {within}")
    console.print(
        f"Reminders: {overview.reminders or 'none'}; emails: {overview.deliveries or 'none'}"
    )


def status(
    json: bool = typer.Option(False, "--json", help="Print the overview as JSON."),
) -> None:
    """Overview: applications, documents today, deadlines, emails, queues and alarms."""
    overview, report = run_with_ops(_collect)
    if json:
        typer.echo(OpsOverview(overview=overview, queues=report).model_dump_json())
        return
    _print(overview, report, Console())
