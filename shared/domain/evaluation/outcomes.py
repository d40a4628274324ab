"""What an evaluation says: a verdict and one outcome per rule, in plain language."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["complete", "incomplete", "refused"]


class RuleOutcome(BaseModel):
    rule: str  # the rule id in the catalog
    kind: str  # the rule kind
    passed: bool
    message: str
    source: str | None = None
    refuses: bool = False  # a failure that no further document can mend
    missing: list[str] = Field(default_factory=list)
    # Not yet, not refused: the rule passes from this day (a renewal before its window opens).
    waits_until: date | None = None
    # A failure that is advice only: shown and emailed, never blocking (catalog on_fail).
    warning: bool = False
    # A content rule whose documents are still being read: their ids.
    waiting_for: list[str] = Field(default_factory=list)


class Evaluation(BaseModel):
    verdict: Verdict
    outcomes: list[RuleOutcome]
    missing: list[str]
    catalog_version: str
    catalog_digest: str
    regime: str | None
    evaluated_on: date  # the date the rules were applied at (the filing date in Beijing)
    waits_until: date | None = None  # the application waits until this day (window opening)
    warnings: list[str] = Field(default_factory=list)  # failed advisory rules, as advice
    facts_used: list[str] = Field(default_factory=list)  # documents whose facts were read
    reading: list[str] = Field(default_factory=list)  # documents still being read

    def outcome(self, rule: str) -> RuleOutcome:
        """The outcome of rule ``rule`` (KeyError when the rule did not apply)."""
        for outcome in self.outcomes:
            if outcome.rule == rule:
                return outcome
        raise KeyError(rule)
