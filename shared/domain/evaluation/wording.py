"""The wording of the still-missing items that name documents, one English form each.

The checks word their items with these forms; the notifier finds the form again in a stored
item and words it in the contact's language (its catalogs translate the forms, and the
document names as the catalog gives them in that language). Other items are free text.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks ``message`` for the emails' catalogs (services/notifier/translations)."""
    return message


MORE_DISTINCT = N_("{count} more distinct {documents} ({required} required)")
MORE_DOCUMENTS = N_("{count} more {documents} ({required} required)")
DOCUMENT_FOR_MATERIAL = N_("{document} for {material} in {year}")
DOCUMENT_FOR_YEAR = N_("{document} for {year}")
DOCUMENT = N_("{document} ({required} required)")
# The order in which an item is matched: the most specific form first.
ITEM_FORMS = (MORE_DISTINCT, MORE_DOCUMENTS, DOCUMENT_FOR_MATERIAL, DOCUMENT_FOR_YEAR, DOCUMENT)

# How many are required, when the catalog gives no wording of its own (``requirement_text``).
AT_LEAST = N_("at least {n}")
# The catalog's own wordings of a minimum (``requirement_text``) that the emails translate.
MORE_THAN = N_("more than {n}")
QUANTITY_FORMS = (AT_LEAST, MORE_THAN)


def required_count(minimum: int, requirement_text: str | None) -> str:
    """How many are required, as an item says it: the catalog's words, else ``at least n``
    (or the number alone for one)."""
    if requirement_text:
        return requirement_text
    return AT_LEAST.format(n=minimum) if minimum > 1 else str(minimum)
