"""What the requirements catalog lets the intake accept: categories, products, document types.

A document type the catalog does not know, or that no rule of the application's category
asks for, is refused with ``unknown_document_type`` and the list of types the category takes.
"""

from __future__ import annotations

from typing import Any

from services.intake.checks import IntakeError, check_document_type_form
from shared.domain.catalog import Catalog, UnknownCategory, cached_catalog
from shared.infra.settings import Settings


def catalog_of(settings: Settings) -> Catalog:
    """The catalog the intake checks against (loaded once per process)."""
    return cached_catalog(settings.catalog_dir)


def check_category(catalog: Catalog, category: str) -> None:
    """Refuse a category the catalog does not know."""
    try:
        catalog.category(category)
    except UnknownCategory:
        known = ", ".join(sorted(catalog.categories))
        raise IntakeError(
            "unknown_category", f"The category {category!r} is unknown; known categories: {known}."
        ) from None


def check_product(catalog: Catalog, category: str, product: str | None) -> None:
    """A category with products needs one of them; one without takes none."""
    products = catalog.products_for(category)
    if product is None and products:
        raise IntakeError(
            "missing_product",
            f"The category {category} needs a product, one of: {', '.join(products)}.",
        )
    if product is not None and product not in products:
        choice = f"one of: {', '.join(products)}" if products else "none (leave product out)"
        raise IntakeError(
            "unknown_product",
            f"The category {category} has no product {product!r}; products: {choice}.",
        )


def document_type_flags(
    catalog: Catalog, application: dict[str, Any], document_type: str
) -> list[str]:
    """Refuse a document type the application's category does not take; no flags today."""
    check_document_type_form(document_type)
    asked = _asked(catalog, application["category"])
    if document_type not in asked:
        known = "unknown" if document_type not in catalog.document_types else "not taken"
        raise IntakeError(
            "unknown_document_type",
            f"The document type {document_type!r} is {known} for category "
            f"{application['category']}, which takes: {', '.join(sorted(asked))}.",
        )
    return []


def _asked(catalog: Catalog, category: str) -> set[str]:
    try:
        return catalog.document_types_for(category)
    except UnknownCategory:  # an application stored before its category left the catalog
        return set()
