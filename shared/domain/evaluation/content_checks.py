"""Content rules: the facts the reader found, compared with what the partner declared.

Each check quotes its evidence. A document not read yet makes the rule wait (a blocking
rule then keeps the verdict from ``complete``); an unreadable one is said to be unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain.catalog.rules import (
    ContentCcic,
    ContentDates,
    ContentLanguage,
    ContentNames,
    DistinctPhotos,
)
from shared.domain.evaluation.context import CheckContext, listing, outcome
from shared.domain.evaluation.inputs import DocumentFacts, as_date
from shared.domain.evaluation.outcomes import RuleOutcome
from shared.domain.evaluation.wording import AT_LEAST, MORE_DISTINCT
from shared.domain.reading import ReadingFacts, normalise_number

LANGUAGE_NAMES = {"zh": "Chinese", "en": "English", "ja": "Japanese", "ko": "Korean"}


@dataclass
class Findings:
    """What one content rule found, document by document."""

    problems: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    waiting: list[DocumentFacts] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def facts(self, document: DocumentFacts, *, needs_text: bool = True) -> ReadingFacts | None:
        """The document's facts when they can be checked; notes why not otherwise."""
        facts = document.reading
        if facts is None:
            self.waiting.append(document)
        elif facts.status == "unreadable":
            self.unchecked.append(f"{document.filename} is unreadable ({facts.reason})")
        elif needs_text and not facts.text.strip():
            self.unchecked.append(f"no text was found in {document.filename}")
        else:
            return facts
        return None


def conclude(rule: object, findings: Findings, passed_message: str) -> RuleOutcome:
    """Problems fail the rule; documents being read make it wait; else it passes."""
    waiting = [d.id for d in findings.waiting]
    if findings.problems:
        return outcome(
            rule, False, listing(findings.problems), findings.problems, waiting_for=waiting
        )
    if waiting:
        names = listing([d.filename for d in findings.waiting])
        message = f"Still being read: {names}"
        return outcome(rule, False, message, [message], waiting_for=waiting)
    if findings.unchecked:
        # Nothing contradicts the declaration, but nothing confirms it: advice, never a block.
        message = f"Could not check: {listing(findings.unchecked)}"
        return outcome(rule, False, message).model_copy(update={"warning": True, "missing": []})
    return outcome(rule, True, passed_message)


def check_content_dates(rule: ContentDates, ctx: CheckContext) -> RuleOutcome:
    findings = Findings()
    submitted = ctx.application.submitted_on
    for document in ctx.documents.of_types(rule.document_types):
        facts = findings.facts(document)
        if facts is None:
            continue
        for key, label in (("issue_date", "issue"), ("expiry_date", "expiry")):
            declared = as_date(document.metadata.get(key))
            stated = [d for d in facts.dates if d.label == label]
            if declared and stated and declared not in {d.day for d in stated}:
                first = stated[0]
                findings.problems.append(
                    f"{document.filename}: page {first.page} reads '{first.quote}'; "
                    f"the metadata says {key} {declared}"
                )
        expiries = [d for d in facts.dates if d.label == "expiry"]
        if expiries:
            latest = max(expiries, key=lambda d: d.day)
            if latest.day < submitted:
                findings.problems.append(
                    f"{document.filename}: page {latest.page} reads '{latest.quote}': "
                    f"expired before the filing date {submitted}"
                )
        findings.checked.append(document.filename)
    return conclude(rule, findings, _checked("The dates read agree with the metadata", findings))


def check_content_language(rule: ContentLanguage, ctx: CheckContext) -> RuleOutcome:
    findings = Findings()
    for document in ctx.documents.of_types(rule.document_types):
        expected = _expected_language(document)
        if expected is None:
            continue
        facts = findings.facts(document)
        if facts is None:
            continue
        read_as = LANGUAGE_NAMES.get(facts.language or "", facts.language or "an unknown language")
        if expected == "zh" and facts.chinese_share < rule.min_chinese_share:
            findings.problems.append(
                f"{document.filename} should be Chinese but reads as {read_as} "
                f"({facts.chinese_share:.0%} Chinese): '{facts.excerpt}'"
            )
        elif expected == "en" and facts.language != "en":
            findings.problems.append(
                f"{document.filename} is declared English but reads as {read_as}: '{facts.excerpt}'"
            )
        findings.checked.append(document.filename)
    return conclude(
        rule, findings, _checked("Each document reads in its declared language", findings)
    )


def _expected_language(document: DocumentFacts) -> str | None:
    if document.document_type == "chinese_translation":
        return "zh"
    declared = str(document.metadata.get("language") or "").lower()
    return declared if declared in ("zh", "en") else None


def check_content_names(rule: ContentNames, ctx: CheckContext) -> RuleOutcome:
    findings = Findings()
    exporter = ctx.application.exporter_name
    scores: list[str] = []
    if exporter:
        for document in ctx.documents.of_types(rule.document_types):
            facts = findings.facts(document)
            if facts is None:
                continue
            match = facts.exporter
            score = match.score if match else 0.0
            if match is None or score < rule.min_score:
                best = (
                    f"best match '{match.found}' on page {match.page}"
                    if match and match.found
                    else "no line comes close"
                )
                findings.problems.append(
                    f"{document.filename} does not name the exporter '{exporter}' "
                    f"({best}, score {score:.0f} < {rule.min_score:.0f})"
                )
            else:
                scores.append(f"{document.filename} names '{match.found}' (score {score:.0f})")
    number = ctx.application.registration_number
    if number:
        wanted = normalise_number(number)
        for document in ctx.documents.of_types(rule.number_document_types):
            facts = findings.facts(document)
            if facts is None:
                continue
            numbers = {normalise_number(n) for n in facts.numbers}
            if wanted not in numbers and wanted not in normalise_number(facts.text):
                seen = ", ".join(facts.numbers[:5]) or "none"
                findings.problems.append(
                    f"{document.filename} does not show the registration number {number} "
                    f"(numbers read: {seen})"
                )
            else:
                scores.append(f"{document.filename} shows {number}")
    return conclude(rule, findings, listing(scores) or "No document to check for names")


def check_content_ccic(rule: ContentCcic, ctx: CheckContext) -> RuleOutcome:
    findings = Findings()
    for document in ctx.documents.of_types(rule.document_types):
        facts = findings.facts(document)
        if facts is None:
            continue
        text = facts.text.lower()
        year = str(document.metadata.get("year") or "")
        material = str(document.metadata.get("material") or "").lower()
        absent = []
        if year and year not in text:
            absent.append(f"the year {year}")
        if material and material not in text:
            absent.append(f"the material '{material}'")
        if absent:
            years = sorted({str(d.day.year) for d in facts.dates})
            read = f"years read: {', '.join(years)}" if years else f"text: '{facts.excerpt}'"
            findings.problems.append(
                f"{document.filename} is declared {year or '?'} {material or '?'} but its text "
                f"does not show {' or '.join(absent)} ({read})"
            )
        findings.checked.append(document.filename)
    return conclude(
        rule, findings, _checked("Each certificate shows its declared year and material", findings)
    )


def check_distinct_photos(rule: DistinctPhotos, ctx: CheckContext) -> RuleOutcome:
    findings = Findings()
    kept: list[tuple[DocumentFacts, int]] = []
    notes: list[str] = []
    photos = ctx.documents.by_type.get(rule.document_type, [])
    for document in photos:
        facts = findings.facts(document, needs_text=False)
        if facts is None:
            continue
        if facts.photo is None:
            notes.append(f"{document.filename} is no photo")
            continue
        if facts.photo.sharpness < rule.min_sharpness:
            notes.append(
                f"{document.filename} is blurry (sharpness {facts.photo.sharpness:.0f} < "
                f"{rule.min_sharpness:.0f})"
            )
            continue
        value = int(facts.photo.phash, 16)
        twin = next(
            (
                (d, (value ^ h).bit_count())
                for d, h in kept
                if (value ^ h).bit_count() <= rule.min_distance
            ),
            None,
        )
        if twin is not None:
            notes.append(
                f"{document.filename} looks like {twin[0].filename} (hashes {twin[1]} bits apart)"
            )
            continue
        kept.append((document, value))
    required = rule.requirement_text or AT_LEAST.format(n=rule.min)
    name = ctx.name(rule.document_type, 2)
    count = len(kept)
    if count >= rule.min:
        return outcome(rule, True, f"{count} distinct, sharp {name} ({required} required)")
    if findings.waiting:
        return conclude(rule, findings, "")
    short = rule.min - count
    said = f"{count} distinct, sharp {name} of {len(photos)} received, {required} required"
    message = f"{said}: {listing(notes)}" if notes else said
    item = MORE_DISTINCT.format(count=short, documents=name, required=required)
    return outcome(rule, False, message, [item])


def _checked(message: str, findings: Findings) -> str:
    return f"{message}: {listing(findings.checked)}" if findings.checked else "Nothing to read"
