"""The loaded catalog and the questions services ask it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.domain.catalog.models import Category, DocumentType, Regime, RequirementSet
from shared.domain.catalog.rules import Rule, document_types_named


class UnknownCategory(LookupError):
    """The application names a category the catalog does not know."""


@dataclass(frozen=True)
class Catalog:
    """Every file of one catalog version, merged and cross-checked."""

    version: str
    digest: str  # sha256 of the files' bytes: two copies with one version are told apart
    document_types: dict[str, DocumentType]
    categories: dict[str, Category]
    regimes: dict[str, Regime]
    requirement_sets: list[RequirementSet]
    _types_by_category: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def category(self, category_id: str) -> Category:
        try:
            return self.categories[category_id]
        except KeyError:
            known = ", ".join(sorted(self.categories))
            raise UnknownCategory(
                f"unknown category {category_id!r}; known categories: {known}"
            ) from None

    def regime_for(self, category: str, on: date) -> Regime | None:
        """The regime in force for ``category`` on ``on`` (None when none is).

        Every regime covers all kinds of application: callers choose the date by kind
        (the submission date for new applications, the registration's expiry for renewals).
        """
        for regime in self.regimes.values():
            if regime.covers(category) and regime.in_force_on(on):
                return regime
        return None

    def ended_regime_for(self, category: str, on: date) -> Regime | None:
        """The latest regime for ``category`` that ended before ``on`` (for refusals)."""
        ended = [
            r
            for r in self.regimes.values()
            if r.covers(category) and r.in_force_until is not None and r.in_force_until < on
        ]
        return max(ended, key=lambda r: r.in_force_until or date.min, default=None)

    def closed_regime_for(self, category: str, on: date) -> Regime | None:
        """The regime of ``category`` that ended for good before ``on``: no regime covers
        the category on ``on`` or later, so nothing can be applied for or renewed (scrap
        after the solid-waste ban). None while a regime is or will be in force."""
        covering = [r for r in self.regimes.values() if r.covers(category)]
        if any(r.in_force_until is None or r.in_force_until >= on for r in covering):
            return None
        return self.ended_regime_for(category, on)

    def closing_regime_for(self, category: str, on: date) -> Regime | None:
        """The regime of ``category`` in force on ``on`` whose end for good was announced by
        then (its ``closure``): nothing applied for or renewed in it can last beyond its last
        day (scrap between the solid-waste ban's announcement and the ban). None otherwise."""
        regime = self.regime_for(category, on)
        if regime is None or regime.closure is None or regime.in_force_until is None:
            return None
        if on < regime.closure.announced_on:
            return None
        after = regime.in_force_until + timedelta(days=1)
        return regime if self.closed_regime_for(category, after) is not None else None

    def rules_for(self, regime: str | None, category: str, kind: str) -> list[Rule]:
        """Every rule that applies, in catalog order (regime None: only ``"*"`` sets)."""
        category_record = self.category(category)
        return [
            rule
            for requirement_set in self.requirement_sets
            if requirement_set.applies(regime, category_record, kind)
            for rule in requirement_set.rules
        ]

    def products_for(self, category: str) -> list[str]:
        return [p.id for p in self.category(category).products]

    def document_types_for(self, category: str) -> set[str]:
        """Document types any rule for ``category`` names (any regime, any kind).

        Chinese translations are always welcome, since a translation rule may ask for one.
        """
        cached = self._types_by_category.get(category)
        if cached is None:
            category_record = self.category(category)
            names = {"chinese_translation"}
            for requirement_set in self.requirement_sets:
                for kind in requirement_set.kinds:
                    if requirement_set.applies(requirement_set.regimes[0], category_record, kind):
                        for rule in requirement_set.rules:
                            # file_type rules restrict documents, they ask for none.
                            if rule.kind != "file_type":
                                names.update(document_types_named(rule))
            cached = frozenset(names)
            self._types_by_category[category] = cached
        return set(cached)
