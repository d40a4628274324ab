"""``regwatch catalog check``: validate the requirements catalog and summarise it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from shared.domain.catalog import Catalog, CatalogError, load_catalog
from shared.infra.settings import Settings

app = typer.Typer(help="The requirements catalog.", no_args_is_help=True)


@app.callback()
def group() -> None:
    """The requirements catalog."""


@app.command("check")
def check(
    directory: Path | None = typer.Option(
        None, "--dir", help="Catalog directory (default: CATALOG_DIR, else the shipped one)."
    ),
) -> None:
    """Load and cross-check every catalog file; exit 1 naming the file, path and field."""
    console = Console()
    source = directory or Settings().catalog_dir
    try:
        catalog = load_catalog(source)
    except CatalogError as exc:
        Console(stderr=True).print(f"[red]invalid catalog[/]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    summarise(catalog, console)


def summarise(catalog: Catalog, console: Console) -> None:
    console.print(
        f"catalog [bold]{catalog.version}[/] is valid ({catalog.digest[:12]}): "
        f"{len(catalog.categories)} categories, {len(catalog.document_types)} document types, "
        f"{sum(len(s.rules) for s in catalog.requirement_sets)} rules",
        highlight=False,
    )
    regimes = Table(title="Regimes")
    for column in ("regime", "categories", "in force", "validity", "renewal window"):
        regimes.add_column(column)
    for regime in catalog.regimes.values():
        window = regime.windows.renewal
        opens = window.opens_months_before_expiry
        renewal = (
            f"{opens}-" if opens else "until "
        ) + f"{window.closes_months_before_expiry} months before expiry"
        if window.automatic:
            renewal += " (automatic)"
        in_force = f"{regime.in_force_from or '...'} to {regime.in_force_until or '...'}"
        if regime.closure is not None:  # ends for good, as announced
            in_force += f" (end announced {regime.closure.announced_on})"
        regimes.add_row(
            regime.id,
            ", ".join(regime.categories),
            in_force,
            f"{regime.windows.validity_years} y",
            renewal,
        )
    console.print(regimes)
    kinds = Counter(rule.kind for s in catalog.requirement_sets for rule in s.rules)
    rules = Table(title="Rules by kind")
    rules.add_column("kind")
    rules.add_column("rules", justify="right")
    for kind, count in sorted(kinds.items()):
        rules.add_row(kind, str(count))
    console.print(rules)
