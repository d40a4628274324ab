"""When and under which regime one term of a registration can be renewed (pure).

The regime that judges a renewal is the one in force on the day it is filed, not on the
expiry date. A filing made today falls under today's regime; one that must wait for the
window to open falls under the regime in force on the opening day. A window that outlives
its regime with no successor (scrap after the solid-waste ban) ends with the regime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from shared.domain.calendar import end_of_day, months_before, start_of_day
from shared.domain.catalog import Catalog, Regime

WindowState = Literal["before", "open", "closed", "not_renewable"]
DEFAULT_OPENING_NOTICE_DAYS = 30


@dataclass(frozen=True)
class RenewalPlan:
    """The renewal window of one term, in the authority's days (both ends inclusive)."""

    category: str
    valid_until: date
    renewable: bool
    regime: Regime | None = None
    opens_on: date | None = None  # None: no earliest day (open from the start of the term)
    closes_on: date | None = None  # the last day a renewal can be filed
    not_renewable_reason: str | None = None
    not_renewable_from: date | None = None
    opening_notice_days: int = DEFAULT_OPENING_NOTICE_DAYS
    documents: list[str] = field(default_factory=list)

    @property
    def expires_at(self) -> datetime:
        """The term ends at 24:00 Beijing time on its last valid day."""
        return end_of_day(self.valid_until)

    @property
    def opens_at(self) -> datetime | None:
        return start_of_day(self.opens_on) if self.opens_on else None

    @property
    def closes_at(self) -> datetime | None:
        return end_of_day(self.closes_on) if self.closes_on else None

    def state_on(self, day: date) -> WindowState:
        """Where ``day`` (a Beijing date) stands against the window."""
        if not self.renewable or self.closes_on is None:
            return "not_renewable"
        if self.opens_on is not None and day < self.opens_on:
            return "before"
        if day > self.closes_on:
            return "closed"
        return "open"

    def describe(self) -> str:
        """The window in plain words, for messages."""
        if not self.renewable:
            return self.not_renewable_reason or "this registration cannot be renewed"
        opens = f"from {self.opens_on} " if self.opens_on else ""
        return f"renewal applications are taken {opens}until {self.closes_on}"


def _window(regime: Regime, valid_until: date) -> tuple[date | None, date]:
    window = regime.windows.renewal
    opens = (
        months_before(valid_until, window.opens_months_before_expiry)
        if window.opens_months_before_expiry is not None
        else None
    )
    return opens, months_before(valid_until, window.closes_months_before_expiry)


def renewal_documents(catalog: Catalog, regime: Regime, category: str) -> list[str]:
    """The names of the documents a renewal under ``regime`` requires, in catalog order."""
    names: list[str] = []
    for rule in catalog.rules_for(regime.id, category, "renewal"):
        if rule.kind not in ("required_document", "coverage"):
            continue
        known = catalog.document_types.get(rule.document_type)
        name = known.name if known else rule.document_type
        if name not in names:
            names.append(name)
    return names


def plan_renewal(catalog: Catalog, category: str, valid_until: date, today: date) -> RenewalPlan:
    """The renewal window of a term ending on ``valid_until``, seen on ``today`` (Beijing)."""
    regime = catalog.regime_for(category, today)
    if regime is not None:
        opens, closes = _window(regime, valid_until)
        if opens is not None and opens > today:
            # Filed on the opening day at the earliest: that day's regime judges it.
            later = catalog.regime_for(category, opens)
            if later is not None and later.id != regime.id:
                regime = later
                opens, closes = _window(regime, valid_until)
            elif later is None:
                return _not_renewable(catalog, category, valid_until, opens)
        if regime.in_force_until is not None and regime.in_force_until < closes:
            successor = catalog.regime_for(category, regime.in_force_until + timedelta(days=1))
            if successor is None:
                closes = regime.in_force_until  # the regime ends; no filing after it
        if opens is not None and opens > closes:
            return _not_renewable(catalog, category, valid_until, opens)
        window = regime.windows.renewal
        return RenewalPlan(
            category=category,
            valid_until=valid_until,
            renewable=True,
            regime=regime,
            opens_on=opens,
            closes_on=closes,
            opening_notice_days=window.opening_notice_days,
            documents=renewal_documents(catalog, regime, category),
        )
    return _not_renewable(catalog, category, valid_until, today)


def _not_renewable(catalog: Catalog, category: str, valid_until: date, on: date) -> RenewalPlan:
    ended = catalog.ended_regime_for(category, on)
    if ended is not None and ended.in_force_until is not None:
        reason = ended.closed_reason or f"{ended.name} ended on {ended.in_force_until}"
        since = ended.in_force_until + timedelta(days=1)
    else:
        reason, since = f"no regime for {category} is in force on {on}", None
    return RenewalPlan(
        category=category,
        valid_until=valid_until,
        renewable=False,
        not_renewable_reason=reason.strip(),
        not_renewable_from=since,
    )
