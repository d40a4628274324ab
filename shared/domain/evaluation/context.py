"""Everything one rule check may read."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.catalog import Catalog, Regime
from shared.domain.evaluation.inputs import ApplicationFacts, Documents
from shared.domain.evaluation.outcomes import RuleOutcome


@dataclass(frozen=True)
class CheckContext:
    catalog: Catalog
    regime: Regime | None
    application: ApplicationFacts
    documents: Documents

    def name(self, document_type: str, count: int = 1) -> str:
        known = self.catalog.document_types.get(document_type)
        if known is None:
            return document_type
        return known.name if count == 1 else known.plural


def outcome(
    rule: object,
    passed: bool,
    message: str,
    missing: list[str] | None = None,
    *,
    waiting_for: list[str] | None = None,
) -> RuleOutcome:
    """The outcome of ``rule``; a failure lists what is missing (its message by default).

    A rule whose catalog entry says ``on_fail: warning`` fails as advice only.
    """
    on_fail = getattr(rule, "on_fail", "incomplete")
    refuses = on_fail == "refused"
    return RuleOutcome(
        rule=rule.id,  # type: ignore[attr-defined]
        kind=rule.kind,  # type: ignore[attr-defined]
        passed=passed,
        message=message,
        source=rule.source,  # type: ignore[attr-defined]
        refuses=refuses and not passed,
        missing=[] if passed else (missing or [message]),
        warning=on_fail == "warning" and not passed,
        waiting_for=waiting_for or [],
    )


def listing(problems: list[str], limit: int = 5) -> str:
    """Problems joined for one message, cut short when there are many."""
    shown = "; ".join(problems[:limit])
    return shown + (f"; and {len(problems) - limit} more" if len(problems) > limit else "")
