"""Which categories, products and document types the intake accepts."""

from __future__ import annotations

from typing import Any

from services.intake.checks import check_category_form, check_document_type_form


def check_category(category: str) -> None:
    """Refuse a category no regime knows."""
    check_category_form(category)


def check_product(category: str, product: str | None) -> None:
    """Refuse a product the category does not list."""


def check_document_type(application: dict[str, Any], document_type: str) -> None:
    """Refuse a document type the application's category does not know."""
    check_document_type_form(document_type)
