"""The pure evaluation: (catalog, application, documents, now) -> Evaluation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.domain.catalog import Catalog, UnknownCategory
from shared.domain.catalog.rules import CONTENT_RULE_KINDS
from shared.domain.evaluation import content_checks, date_checks, document_checks
from shared.domain.evaluation.context import CheckContext
from shared.domain.evaluation.inputs import ApplicationFacts, Documents
from shared.domain.evaluation.outcomes import Evaluation, RuleOutcome, Verdict

CHECKS: dict[str, Callable[[Any, CheckContext], RuleOutcome]] = {
    "required_document": document_checks.check_required_document,
    "coverage": document_checks.check_coverage,
    "translation": document_checks.check_translation,
    "notarized": document_checks.check_notarized,
    "file_type": document_checks.check_file_type,
    "metadata_fields": document_checks.check_metadata_fields,
    "date": date_checks.check_dates,
    "colour": date_checks.check_colour,
    "renewal_window": date_checks.check_renewal_window,
    "application_fields": date_checks.check_application_fields,
    "content_dates": content_checks.check_content_dates,
    "content_language": content_checks.check_content_language,
    "content_names": content_checks.check_content_names,
    "content_ccic": content_checks.check_content_ccic,
    "distinct_photos": content_checks.check_distinct_photos,
}
CATEGORY_SOURCE = "catalog categories (public ids)"


def evaluate(
    catalog: Catalog,
    application: dict[str, Any],
    documents: list[dict[str, Any]],
    now: datetime,
    *,
    reader_on: bool = False,
) -> Evaluation:
    """Evaluate ``application`` and its ``documents`` against ``catalog``; no I/O.

    Documents are the stored records; an image's measured colour is read from
    ``record["facts"]["colour"]`` (the validator measures it before evaluating), what the
    reader found from ``record["reading"]`` (a ``document_facts`` record, absent while the
    document is being read). Content rules apply only with ``reader_on``: without a reader
    no facts would ever come. Rules are applied at the submission date; ``now`` stands in
    when the application has none.
    """
    facts = ApplicationFacts.from_record(application, now)
    indexed = Documents.from_records(documents)
    category = _category_outcome(catalog, facts)
    if not category.passed:
        return _conclude(catalog, facts, None, [category])
    on = facts.regime_date()
    regime = catalog.regime_for(facts.category, on)
    outcomes = [category, _regime_outcome(catalog, facts, regime)]
    ctx = CheckContext(catalog, regime, facts, indexed)
    for rule in catalog.rules_for(regime.id if regime else None, facts.category, facts.kind):
        if rule.kind in CONTENT_RULE_KINDS and not reader_on:
            continue
        outcomes.append(CHECKS[rule.kind](rule, ctx))
    evaluation = _conclude(catalog, facts, regime.id if regime else None, outcomes)
    if reader_on:
        evaluation.facts_used = sorted(d.id for d in indexed.all if d.reading is not None)
        evaluation.reading = sorted(d.id for d in indexed.all if d.reading is None)
    return evaluation


def _category_outcome(catalog: Catalog, facts: ApplicationFacts) -> RuleOutcome:
    try:
        category = catalog.category(facts.category)
    except UnknownCategory as exc:
        return _implicit("category", False, str(exc), refuses=True)
    products = [p.id for p in category.products]
    if products and facts.product is not None and facts.product not in products:
        message = f"{facts.product!r} is no product of {category.id}; known: {', '.join(products)}"
        return _implicit("category", False, message, refuses=True)
    product = f", product {facts.product}" if facts.product else ""
    return _implicit("category", True, f"{category.id} ({category.name}){product}")


def _regime_outcome(catalog: Catalog, facts: ApplicationFacts, regime: Any) -> RuleOutcome:
    on = facts.regime_date()
    basis = "filing"
    if regime is not None:
        return _implicit(
            "regime_in_force",
            True,
            f"{regime.name} applies ({basis} on {on})",
            source=regime.source,
        )
    ended = catalog.ended_regime_for(facts.category, on)
    if ended is not None and ended.closed_reason:
        return _implicit(
            "regime_in_force", False, ended.closed_reason, refuses=True, source=ended.source
        )
    message = f"No regime covers {facts.category} on {on} ({basis})"
    return _implicit("regime_in_force", False, message, refuses=True)


def _implicit(
    rule: str, passed: bool, message: str, *, refuses: bool = False, source: str | None = None
) -> RuleOutcome:
    return RuleOutcome(
        rule=rule,
        kind=rule,
        passed=passed,
        message=message,
        source=source or CATEGORY_SOURCE,
        refuses=refuses and not passed,
        missing=[] if passed else [message],
    )


def _conclude(
    catalog: Catalog, facts: ApplicationFacts, regime: str | None, outcomes: list[RuleOutcome]
) -> Evaluation:
    failed = [o for o in outcomes if not o.passed and not o.warning]
    verdict: Verdict = (
        "refused" if any(o.refuses for o in failed) else "incomplete" if failed else "complete"
    )
    return Evaluation(
        verdict=verdict,
        outcomes=outcomes,
        missing=[item for o in failed for item in o.missing],
        catalog_version=catalog.version,
        catalog_digest=catalog.digest,
        regime=regime,
        evaluated_on=facts.submitted_on,
        waits_until=max((o.waits_until for o in outcomes if o.waits_until), default=None),
        warnings=[o.message for o in outcomes if o.warning],
    )
