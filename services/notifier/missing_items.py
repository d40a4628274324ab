"""Still-missing items in the contact's language.

The validator stores its items as English sentences worded with the forms of
``shared.domain.evaluation.wording``. An item that matches a form, and names a document
the catalog knows, is worded again in the contact's language: the form through the
catalogs, the document as the catalog names it in that language. Any other item is a
catalog name (translated) or free text (shown as stored).
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

from services.notifier.i18n import language_of, name, translations
from shared.domain.catalog import cached_catalog
from shared.domain.evaluation.wording import ITEM_FORMS, QUANTITY_FORMS
from shared.domain.models import DEFAULT_LANGUAGE

_NUMBERS = {"count", "year", "n"}  # fields that are numbers in every form


def _pattern(form: str) -> re.Pattern[str]:
    parts = []
    for literal, field, _, _ in string.Formatter().parse(form):
        parts.append(re.escape(literal))
        if field:
            parts.append(rf"(?P<{field}>\d+)" if field in _NUMBERS else rf"(?P<{field}>.+?)")
    return re.compile("".join(parts))


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((form, _pattern(form)) for form in ITEM_FORMS + QUANTITY_FORMS)


@lru_cache(maxsize=1)
def document_names() -> dict[str, str]:
    """Every English name of a document type, singular or plural, to its singular name."""
    names: dict[str, str] = {}
    for document in cached_catalog().document_types.values():
        names[document.plural] = document.name
        names[document.name] = document.name
    return names


def missing_item(item: str, language: str = DEFAULT_LANGUAGE) -> str:
    """``item`` as the contact reads it in ``language``."""
    language = language_of(language)
    if language == DEFAULT_LANGUAGE:  # English is what the items are stored in
        return name(item, language)
    for form, pattern in _patterns()[: len(ITEM_FORMS)]:
        found = pattern.fullmatch(item)
        if found is None:
            continue
        fields = found.groupdict()
        documents = [fields[k] for k in ("document", "documents") if k in fields]
        if not all(d in document_names() for d in documents):
            continue
        values = {key: _field(key, value, language) for key, value in fields.items()}
        return translations(language).gettext(form).format(**values)
    return name(item, language)


def _field(key: str, value: str, language: str) -> str:
    if key in ("document", "documents"):
        return name(document_names()[value], language)
    if key == "required":
        return _quantity(value, language)
    return value


def _quantity(value: str, language: str) -> str:
    """How many are required (``at least 11``, the catalog's ``more than 10``, ``1``)."""
    for form, pattern in _patterns()[len(ITEM_FORMS) :]:
        found = pattern.fullmatch(value)
        if found is not None:
            return translations(language).gettext(form).format(**found.groupdict())
    return value
