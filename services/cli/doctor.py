"""``regwatch doctor``: is this setup able to run regwatch? One line per check, with the fix."""

from __future__ import annotations

import asyncio
import json as jsonlib
import textwrap
from collections import Counter
from dataclasses import asdict

import typer

from services.cli.checkup import Finding, run_checks
from shared.infra.settings import Settings

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
WIDTH = 80
INDENT = " " * 22


def render(findings: list[Finding]) -> list[str]:
    """Plain lines that fit 80 columns: verdict, check, what was found; then the fix."""
    lines = []
    for finding in findings:
        lines += textwrap.wrap(
            finding.detail,
            WIDTH,
            initial_indent=f"{MARKS[finding.verdict]}  {finding.check:<16}",
            subsequent_indent=INDENT,
            break_long_words=False,
        )
        if finding.fix and finding.verdict != "ok":
            lines += textwrap.wrap(
                f"fix: {finding.fix}",
                WIDTH,
                initial_indent=INDENT,
                subsequent_indent=INDENT + "     ",
            )
    return lines


def verdict_line(findings: list[Finding]) -> str:
    counts = Counter(f.verdict for f in findings)
    return (
        f"doctor: {counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)"
        + ("" if counts["fail"] else " — regwatch can run")
    )


def doctor(
    json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Check the broker, MongoDB, indexes, SMTP, catalog, ports, clock and queues.

    Exit 1 when a check fails; warnings (no consumer yet, dead letters waiting, a shifted
    clock) leave the exit status 0.
    """
    findings = asyncio.run(run_checks(Settings()))
    if json:
        typer.echo(jsonlib.dumps([asdict(f) for f in findings], indent=2))
    else:
        for line in render(findings):
            typer.echo(line)
        typer.echo(verdict_line(findings))
    if any(f.verdict == "fail" for f in findings):
        raise typer.Exit(1)
