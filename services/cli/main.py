"""The ``regwatch`` command line: one Typer app, one sub-command group per concern."""

from __future__ import annotations

import typer

from services.cli import (
    applications,
    calendar,
    catalog,
    deadlines,
    demo,
    dlq,
    doctor,
    partners,
    registrations,
    status,
    webhooks,
)

app = typer.Typer(
    help="regwatch: GACC registration intake and deadline monitoring.", no_args_is_help=True
)
app.add_typer(partners.app, name="partners")
app.add_typer(applications.app, name="applications")
app.add_typer(catalog.app, name="catalog")
app.add_typer(registrations.app, name="registrations")
app.add_typer(deadlines.app, name="deadlines")
app.add_typer(dlq.app, name="dlq")
app.add_typer(calendar.app, name="calendar")
app.add_typer(webhooks.app, name="webhooks")
app.command("status")(status.status)
app.command("demo")(demo.demo)
app.command("doctor")(doctor.doctor)

if __name__ == "__main__":
    app()
