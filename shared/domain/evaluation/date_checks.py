"""Rule checks on dates, colour, the renewal window and the application's own fields."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

from shared.domain.calendar import months_before
from shared.domain.catalog.rules import ApplicationFields, Colour, DateRule, RenewalWindowRule
from shared.domain.evaluation.context import CheckContext, listing, outcome
from shared.domain.evaluation.inputs import DocumentFacts, as_date
from shared.domain.evaluation.outcomes import RuleOutcome


def check_dates(rule: DateRule, ctx: CheckContext) -> RuleOutcome:
    submitted = ctx.application.submitted_on
    problems = []
    for document in ctx.documents.of_types(rule.document_types):
        label = f"{ctx.name(document.document_type)} {document.filename}"
        if rule.not_expired:
            problems += _expired(label, document, submitted)
        if rule.issued_within_years is not None:
            problems += _issued_too_long_ago(label, document, submitted, rule.issued_within_years)
        if rule.issued_in_stated_year:
            problems += _issued_outside_stated_year(label, document)
    if problems:
        return outcome(rule, False, listing(problems), problems)
    return outcome(rule, True, "Every document concerned is within its dates")


def _expired(label: str, document: DocumentFacts, submitted: date) -> list[str]:
    expiry = as_date(document.metadata.get("expiry_date"))
    if expiry is None:
        return [f"{label} declares no expiry_date"]
    if expiry < submitted:
        return [f"{label} expired on {expiry}, before submission on {submitted}"]
    return []


def _issued_too_long_ago(
    label: str, document: DocumentFacts, submitted: date, years: int
) -> list[str]:
    issued = as_date(document.metadata.get("issue_date"))
    earliest = submitted - relativedelta(years=years)
    if issued is None:
        return [f"{label} declares no issue_date"]
    if issued < earliest:
        return [
            f"{label} was issued on {issued}; it must be issued after {earliest} "
            f"(within {years} years)"
        ]
    return []


def _issued_outside_stated_year(label: str, document: DocumentFacts) -> list[str]:
    # Calendar years, not anniversaries: any day of the stated year will do.
    issued = as_date(document.metadata.get("issue_date"))
    stated = document.metadata.get("year")
    if issued is None:
        return [f"{label} declares no issue_date"]
    if stated in (None, "") or str(stated) == str(issued.year):
        return []  # a missing year is the metadata rule's to report
    return [f"{label} was issued on {issued}, not in {stated}, the year it is sent for"]


def check_colour(rule: Colour, ctx: CheckContext) -> RuleOutcome:
    problems = []
    for document in ctx.documents.of_types(rule.document_types):
        label = f"{ctx.name(document.document_type)} {document.filename}"
        if document.content_type.startswith("image/"):
            if document.colour is None:
                problems.append(f"{label}: its colours could not be read; send it again")
            elif not document.colour:
                problems.append(f"{label} is a greyscale image; a colour copy is required")
        elif document.metadata.get("colour") is not True:
            problems.append(f"{label} is not declared a colour copy (metadata colour=true)")
    if problems:
        return outcome(rule, False, listing(problems), problems)
    return outcome(rule, True, "Every copy concerned is in colour")


def check_renewal_window(rule: RenewalWindowRule, ctx: CheckContext) -> RuleOutcome:
    """Filed inside the window passes; before it the application waits; after it, refused.

    The window is the one of the regime in force on the filing date (``ctx.regime``).
    """
    expiry = ctx.application.registration_valid_until
    if ctx.regime is None:
        return outcome(rule, False, "No regime in force: no renewal window")
    if expiry is None:
        return outcome(
            rule, False, "The registration's expiry date (registration_valid_until) is missing"
        )
    window = ctx.regime.windows.renewal
    opens = _months_before(expiry, window.opens_months_before_expiry)
    closes = months_before(expiry, window.closes_months_before_expiry)
    applied = ctx.application.submitted_on
    if opens is not None and applied < opens:
        waiting = outcome(
            rule,
            True,
            f"Filed on {applied}, before the renewal window opens on {opens} "
            f"({window.opens_months_before_expiry} months before expiry on {expiry}): the "
            f"application waits and is examined from {opens}",
        )
        return waiting.model_copy(update={"waits_until": opens})
    if applied > closes:
        return outcome(
            rule,
            False,
            f"Filed on {applied}, after the renewal window closed on {closes} "
            f"({window.closes_months_before_expiry} months before expiry on {expiry}); the "
            f"registration expires on {expiry}. To export after that, file a new registration "
            "application",
        )
    span = f"{opens} to {closes}" if opens else f"until {closes}"
    automatic = (
        " (renewal is automatic under this regime unless an exception applies)"
        if window.automatic
        else ""
    )
    return outcome(rule, True, f"Filed on {applied}, inside the renewal window {span}{automatic}")


def _months_before(expiry: date, months: int | None) -> date | None:
    return None if months is None else months_before(expiry, months)


def check_application_fields(rule: ApplicationFields, ctx: CheckContext) -> RuleOutcome:
    values = {
        "registration_number": ctx.application.registration_number,
        "registration_valid_until": ctx.application.registration_valid_until,
        "product": ctx.application.product,
    }
    absent = [f for f in rule.fields if values.get(f) in (None, "")]
    if absent:
        problems = [f"The application gives no {f}" for f in absent]
        return outcome(rule, False, listing(problems), problems)
    return outcome(rule, True, f"The application gives {', '.join(rule.fields)}")
