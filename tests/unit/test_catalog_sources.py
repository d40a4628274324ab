"""Every figure in the catalog says where it comes from: a seed, a decree, or regwatch."""

from __future__ import annotations

from collections.abc import Iterator

from shared.domain.catalog import Catalog, load_catalog

# Citations of the texts regwatch follows; anything else is regwatch's own choice.
CITATIONS = (
    "seed 000",
    "seed 001",
    "Decree 248",
    "GACC Decree 248",
    "GACC Decree 280",
    "joint announcement of 2020-11-24",
    "GAC Announcement [2026] No. 27",
)
OURS = "regwatch:"


def every_source(catalog: Catalog) -> Iterator[tuple[str, str]]:
    """(where, source) for every source in the catalog: types, categories, regimes, rules."""
    for document_type in catalog.document_types.values():
        yield f"document type {document_type.id}", document_type.source
    for category in catalog.categories.values():
        yield f"category {category.id}", category.source
    for regime in catalog.regimes.values():
        windows = regime.windows
        yield f"regime {regime.id}", regime.source
        if regime.closure is not None:
            yield f"regime {regime.id} closure", regime.closure.source
        yield f"regime {regime.id} validity", windows.validity_source
        yield f"regime {regime.id} renewal window", windows.renewal.source
        optional = {
            "opening notice": windows.renewal.opening_notice_source,
            "additional materials": windows.additional_materials_source,
            "rectification": windows.rectification_source,
            "processing": windows.processing_source,
            "on missed": windows.on_missed_source,
        }
        for name, source in optional.items():
            if source is not None:
                yield f"regime {regime.id} {name}", source
    for requirement_set in catalog.requirement_sets:
        for rule in requirement_set.rules:
            yield f"rule {requirement_set.id}/{rule.id}", rule.source


def test_every_source_cites_a_seed_or_decree_or_says_it_is_regwatchs_own() -> None:
    uncited = [
        f"{where}: {source!r}"
        for where, source in every_source(load_catalog())
        if not source.startswith((*CITATIONS, OURS))
    ]
    assert uncited == []


def test_regwatchs_own_policies_say_so() -> None:
    rules = {rule.id: rule for s in load_catalog().requirement_sets for rule in s.rules}
    for rule_id in (
        "file_type",
        "photos_are_images",
        "commercial_certificate_valid",
        "business_licence_valid",
        "ccic_certificates_in_their_year",
    ):
        assert rules[rule_id].source.startswith(OURS), rule_id
    food_renewal = next(s for s in load_catalog().requirement_sets if s.id == "food.renewal")
    english = next(r for r in food_renewal.rules if r.id == "chinese_or_english")
    assert english.source.startswith(OURS)


def test_food_windows_borrowed_from_seed_000_are_marked_as_regwatchs() -> None:
    for regime in ("gacc_decree_248", "gacc_decree_280"):
        windows = load_catalog().regimes[regime].windows
        assert (windows.additional_materials_source or "").startswith(OURS)
        assert (windows.rectification_source or "").startswith(OURS)
        assert windows.on_missed_source.startswith(OURS)


def test_decree_280_window_and_exceptions_are_unconfirmed_regwatch_settings() -> None:
    renewal = load_catalog().regimes["gacc_decree_280"].windows.renewal
    assert renewal.unconfirmed is True
    assert renewal.source.startswith(OURS)
    assert "not the decree's words" in renewal.source
    assert renewal.automatic_exceptions
    assert all("unconfirmed" in exception for exception in renewal.automatic_exceptions)


def test_an_unconfirmed_window_is_sourced_as_a_regwatch_setting_never_as_a_decree() -> None:
    regimes = load_catalog().regimes.values()
    assert [r.id for r in regimes if r.windows.renewal.unconfirmed] == ["gacc_decree_280"]
    for regime in regimes:
        if regime.windows.renewal.unconfirmed:
            assert regime.windows.renewal.source.startswith(OURS), regime.id


def test_every_regime_gives_its_opening_notice_lead_time_as_regwatchs_choice() -> None:
    for regime in load_catalog().regimes.values():
        renewal = regime.windows.renewal
        assert renewal.opening_notice_days == 30
        assert (renewal.opening_notice_source or "").startswith(OURS), regime.id
