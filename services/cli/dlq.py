"""``regwatch dlq list|replay|discard``: the dead-letter desk in the terminal."""

from __future__ import annotations

import getpass

import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.table import Table

from services.cli.ops import OpsAccess, run_with_ops
from shared.app.dead_letters import (
    DeadLetter,
    DeadLetterAction,
    DeadLetterNotFound,
    ReplayRefused,
)

app = typer.Typer(help="Dead letters: list, replay, discard.", no_args_is_help=True)
_LETTERS = TypeAdapter(list[DeadLetter])
_ACTIONS = TypeAdapter(list[DeadLetterAction])


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@app.command("list")
def list_dead_letters(json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every message in the dead-letter queue (none is removed)."""

    async def work(ops: OpsAccess) -> list[DeadLetter]:
        return await ops.desk.letters()

    letters = run_with_ops(work)
    if json:
        typer.echo(_LETTERS.dump_json(letters).decode())
        return
    table = Table(title=f"Dead letters ({len(letters)})")
    for column in ("id", "queue", "reason", "message id", "bytes", "preview"):
        table.add_column(column)
    for d in letters:
        reason = f"{d.reason} x{d.deaths}"
        preview = d.preview[:60].replace("\n", " ")
        table.add_row(d.id, d.queue or "?", reason, d.message_id or "", str(d.size), preview)
    Console().print(table)


def _act(action: str, ids: list[str], everything: bool, json: bool) -> None:
    if bool(ids) == everything:
        typer.echo("Name dead-letter ids (see `regwatch dlq list`) or pass --all.", err=True)
        raise typer.Exit(2)

    async def work(ops: OpsAccess) -> list[DeadLetterAction]:
        operation = ops.desk.replay if action == "replay" else ops.desk.discard
        with Console(stderr=True).status(f"{action} in progress..."):
            return await operation(ids=None if everything else ids, actor=_actor())

    try:
        records = run_with_ops(work)
    except (DeadLetterNotFound, ReplayRefused) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if json:
        typer.echo(_ACTIONS.dump_json(records).decode())
        return
    for r in records:
        typer.echo(f"{r.action} {r.dead_letter_id} ({r.message_id}) -> {r.queue}")
    typer.echo(f"{len(records)} dead letter(s) {action}ed, recorded in dead_letter_actions.")


@app.command("replay")
def replay(
    ids: list[str] = typer.Argument(None, help="Dead-letter ids from `regwatch dlq list`."),
    everything: bool = typer.Option(False, "--all", help="Replay every dead letter."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Send dead letters back to the queue they died in, with their original properties."""
    _act("replay", ids or [], everything, json)


@app.command("discard")
def discard(
    ids: list[str] = typer.Argument(None, help="Dead-letter ids from `regwatch dlq list`."),
    everything: bool = typer.Option(False, "--all", help="Discard every dead letter."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Remove dead letters for good (a record of each stays in dead_letter_actions)."""
    if not yes and not typer.confirm("Discard for good?"):
        raise typer.Exit(1)
    _act("discard", ids or [], everything, json)
