"""The fault suite's summary table: what each scenario sent, which faults it injected, what
was in flight at each fault, and what was lost or duplicated as a user would see it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ScenarioRow:
    scenario: str
    messages: int
    faults: list[str] = field(default_factory=list)
    in_flight: list[int] = field(default_factory=list)
    lost: int = 0
    user_duplicates: int = 0
    absorbed_duplicates: int = 0  # events carried twice, mails handed over twice: de-duplicated
    resends: int = 0  # partners' publishes tried again after a failure or a missing confirm
    notes: str = ""


ROWS: list[ScenarioRow] = []

HEADER = (
    "scenario",
    "messages",
    "faults injected",
    "in flight at each fault",
    "lost",
    "dup. (user)",
    "dup. absorbed",
    "resends",
)


def table(rows: list[ScenarioRow]) -> list[str]:
    """The rows as aligned text lines."""
    cells = [HEADER] + [
        (
            r.scenario,
            str(r.messages),
            f"{len(r.faults)}: {', '.join(sorted(set(r.faults)))}" if r.faults else "0",
            " ".join(map(str, r.in_flight)) or "-",
            str(r.lost),
            str(r.user_duplicates),
            str(r.absorbed_duplicates),
            str(r.resends),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = [" | ".join(c[i].ljust(widths[i]) for i in range(len(HEADER))) for c in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return lines + [f"  {r.scenario}: {r.notes}" for r in rows if r.notes]
