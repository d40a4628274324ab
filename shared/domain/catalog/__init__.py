"""The requirements catalog: versioned YAML data, loaded and checked with pydantic."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from shared.domain.catalog.catalog import Catalog, UnknownCategory
from shared.domain.catalog.loader import CatalogError, default_catalog_dir, load_catalog
from shared.domain.catalog.models import Category, Regime, RequirementSet, Windows
from shared.domain.catalog.rules import RULE_KINDS, Rule

__all__ = [
    "RULE_KINDS",
    "Catalog",
    "CatalogError",
    "Category",
    "Regime",
    "RequirementSet",
    "Rule",
    "UnknownCategory",
    "Windows",
    "cached_catalog",
    "default_catalog_dir",
    "document_types_for",
    "load_catalog",
]


@lru_cache(maxsize=8)
def cached_catalog(path: str | None = None) -> Catalog:
    """The catalog in ``path`` (default directory when None), loaded once per process."""
    return load_catalog(Path(path) if path else None)


def document_types_for(category: str, path: str | None = None) -> set[str]:
    """The document types an application of ``category`` may carry.

    Raises ``UnknownCategory`` for a category the catalog does not know.
    """
    return cached_catalog(path).document_types_for(category)
