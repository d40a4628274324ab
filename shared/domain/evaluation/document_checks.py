"""Rule checks on documents: counts, coverage, language, notarization, type, metadata."""

from __future__ import annotations

from shared.domain.catalog.rules import (
    Coverage,
    FileType,
    MetadataFields,
    Notarized,
    RequiredDocument,
    Translation,
)
from shared.domain.evaluation.context import CheckContext, listing, outcome
from shared.domain.evaluation.outcomes import RuleOutcome
from shared.domain.evaluation.wording import (
    DOCUMENT,
    DOCUMENT_FOR_MATERIAL,
    DOCUMENT_FOR_YEAR,
    MORE_DOCUMENTS,
    required_count,
)


def check_required_document(rule: RequiredDocument, ctx: CheckContext) -> RuleOutcome:
    if rule.when is not None and not _condition_holds(rule, ctx):
        return outcome(rule, True, f"No {ctx.name(rule.document_type)} needed for this application")
    count = len(ctx.documents.by_type.get(rule.document_type, []))
    required = required_count(rule.min, rule.requirement_text)
    received = (
        f"{count} {ctx.name(rule.document_type, count)} received"
        if count
        else (f"No {ctx.name(rule.document_type)} received")
    )
    if count < rule.min:
        short = rule.min - count
        item = (
            MORE_DOCUMENTS.format(
                count=short, documents=ctx.name(rule.document_type, short), required=required
            )
            if count
            else DOCUMENT.format(document=ctx.name(rule.document_type, rule.min), required=required)
        )
        return outcome(rule, False, f"{received}, {required} required", [item])
    if rule.max is not None and count > rule.max:
        return outcome(
            rule, False, f"{received}, at most {rule.max} allowed: withdraw the extra ones"
        )
    return outcome(rule, True, f"{received} ({required} required)")


def _condition_holds(rule: RequiredDocument, ctx: CheckContext) -> bool:
    when = rule.when
    assert when is not None
    if when.via_agent is not None and when.via_agent != ctx.application.via_agent:
        return False
    return when.products is None or ctx.application.product in when.products


def check_coverage(rule: Coverage, ctx: CheckContext) -> RuleOutcome:
    # The calendar years before the filing year; a document counts for the year it states.
    last_year = ctx.application.submitted_on.year - 1
    years = list(range(last_year - rule.years + 1, last_year + 1))
    materials = ctx.application.materials if rule.per_material else [None]
    present = {
        (_year(d.metadata.get("year")), str(d.metadata.get("material", "")).lower() or None)
        for d in ctx.documents.by_type.get(rule.document_type, [])
    }
    gaps = [
        (material, year)
        for material in materials
        for year in years
        if (year, material) not in present
        and not (material is None and any(y == year for y, _ in present))
    ]
    name = ctx.name(rule.document_type)
    span = f"{years[0]}-{years[-1]}"
    if not gaps:
        return outcome(rule, True, f"A {name} for each of {span} received")
    missing = [
        DOCUMENT_FOR_MATERIAL.format(document=name, material=m, year=y)
        if m
        else DOCUMENT_FOR_YEAR.format(document=name, year=y)
        for m, y in gaps
    ]
    return outcome(
        rule,
        False,
        f"Missing {listing(missing)} (one per year {span}{' and material' if rule.per_material else ''})",
        missing,
    )


def _year(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def check_translation(rule: Translation, ctx: CheckContext) -> RuleOutcome:
    languages = ", ".join(rule.accepted_languages)
    problems = []
    for document in ctx.documents.of_types(rule.document_types):
        language = str(document.metadata.get("language") or "").lower()
        if language in rule.accepted_languages or ctx.documents.translations_of.get(document.id):
            continue
        said = f"is in '{language}'" if language else "declares no language"
        problems.append(
            f"{ctx.name(document.document_type)} {document.filename} {said} and has no Chinese "
            f"translation (send a chinese_translation with translation_of={document.id})"
        )
    if problems:
        return outcome(rule, False, listing(problems), problems)
    return outcome(
        rule, True, f"Every document concerned is in {languages} or translated into Chinese"
    )


def check_notarized(rule: Notarized, ctx: CheckContext) -> RuleOutcome:
    problems = [
        f"{ctx.name(d.document_type)} {d.filename} is not declared notarized (metadata notarized=true)"
        for d in ctx.documents.of_types(rule.document_types)
        if d.metadata.get("notarized") is not True
    ]
    if problems:
        return outcome(rule, False, listing(problems), problems)
    return outcome(rule, True, "Every document concerned is notarized")


def check_file_type(rule: FileType, ctx: CheckContext) -> RuleOutcome:
    allowed = ", ".join(rule.content_types)
    problems = []
    for document in ctx.documents.of_types(rule.document_types):
        if document.content_type not in rule.content_types:
            problems.append(f"{document.filename} is {document.content_type}; accepted: {allowed}")
        elif rule.max_bytes is not None and document.size > rule.max_bytes:
            problems.append(
                f"{document.filename} is {document.size} bytes; at most {rule.max_bytes}"
            )
    if problems:
        return outcome(rule, False, listing(problems), problems)
    return outcome(rule, True, f"Every document concerned is {allowed}")


def check_metadata_fields(rule: MetadataFields, ctx: CheckContext) -> RuleOutcome:
    problems = []
    for document in ctx.documents.of_types(rule.document_types):
        absent = [f for f in rule.fields if document.metadata.get(f) in (None, "")]
        if absent:
            problems.append(f"{document.filename} lacks metadata {', '.join(absent)}")
    if problems:
        return outcome(rule, False, listing(problems), problems)
    return outcome(rule, True, f"Every document concerned carries {', '.join(rule.fields)}")
