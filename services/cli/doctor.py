"""``regwatch doctor``: is this setup able to run regwatch? One line per check, with the fix."""

from __future__ import annotations

import asyncio
import json as jsonlib
import textwrap
import time
from collections import Counter
from dataclasses import asdict

import typer

from services.cli.checkup import Finding, run_checks
from shared.infra.settings import Settings

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
WIDTH = 80
INDENT = " " * 22
RETRY_SECONDS = 2.0


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


def settled(findings: list[Finding]) -> bool:
    """Nothing failing and every consumer queue consumed: the services are up."""
    return all(f.verdict == "ok" or f.check in ("dead letters", "clock") for f in findings)


async def examine(settings: Settings, wait: float) -> list[Finding]:
    """The findings; with ``wait``, retried until settled or ``wait`` seconds have passed."""
    deadline = time.monotonic() + wait
    findings = await run_checks(settings)
    while not settled(findings) and time.monotonic() < deadline:
        await asyncio.sleep(RETRY_SECONDS)
        findings = await run_checks(settings)
    return findings


def doctor(
    json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    brief: bool = typer.Option(False, "--brief", help="Print only warnings and failures."),
    wait: float = typer.Option(
        0, "--wait", help="Check again for up to this many seconds while services start."
    ),
) -> None:
    """Check the broker, MongoDB, indexes, SMTP, catalog, ports, clock and queues.

    Exit 1 when a check fails; warnings (no consumer yet, dead letters waiting, a shifted
    clock) leave the exit status 0.
    """
    try:
        findings = asyncio.run(examine(Settings(), wait))
    except KeyboardInterrupt:  # Ctrl-C on `make run` while it waits for the services
        raise typer.Exit(130) from None
    if json:
        typer.echo(jsonlib.dumps([asdict(f) for f in findings], indent=2))
    else:
        shown = [f for f in findings if f.verdict != "ok"] if brief else findings
        for line in render(shown):
            typer.echo(line)
        typer.echo(verdict_line(findings))
    if any(f.verdict == "fail" for f in findings):
        raise typer.Exit(1)
