from __future__ import annotations

import typer

app = typer.Typer(help="partners", no_args_is_help=True)
