"""The languages of the emails: gettext catalogs, lazy texts and dates as each language writes them.

English is the source language: every message id is the English sentence itself, so a
message the catalog of a language lacks (or leaves untranslated) reads in English, never
as a key. Catalogs: ``translations/<language>/LC_MESSAGES/messages.po``, compiled to the
committed ``messages.mo`` by ``make translations``.
"""

from __future__ import annotations

import gettext
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from pydantic import BaseModel, ConfigDict

from shared.domain.catalog import cached_catalog
from shared.domain.models import CONTACT_LANGUAGES, DEFAULT_LANGUAGE

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messages"
CATALOG_CONTEXT = "catalog"  # category, product and document names, as the authority writes them


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs; it is translated where it is shown."""
    return message


def language_of(value: str | None) -> str:
    """One of the languages the emails are written in; anything else reads English."""
    if value and value in CONTACT_LANGUAGES:
        return value
    return DEFAULT_LANGUAGE


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language``; English (the message ids) has none."""
    language = language_of(language)
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    try:
        with (TRANSLATIONS / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as mo:
            return gettext.GNUTranslations(mo)
    except FileNotFoundError:  # a language without its catalog still gets its emails
        return gettext.NullTranslations()


def day(value: date | None, language: str = DEFAULT_LANGUAGE) -> str:
    """A plain date as people read it: ``31 May 2027``, ``2027年5月31日``."""
    if value is None:
        return ""
    if language_of(language) == "zh":
        return format_date(value, "long", locale="zh_Hans_CN")
    return f"{value:%d %B %Y}"


def days(n: int, language: str = DEFAULT_LANGUAGE) -> str:
    return translations(language).ngettext("{n} day", "{n} days", n).format(n=n)


@lru_cache(maxsize=1)
def catalog_names() -> dict[str, str]:
    """The English names of the catalog's categories, products and document types, by id."""
    catalog = cached_catalog()
    names = {d.id: d.name for d in catalog.document_types.values()}
    for category in catalog.categories.values():
        names[category.id] = category.name
        names.update({p.id: p.name for p in category.products})
    return names


def name(value: str | None, language: str = DEFAULT_LANGUAGE) -> str:
    """A category, product or document (id or English name) as the catalog names it in
    ``language``; a name the catalog does not know is shown as given."""
    if not value:
        return ""
    english = catalog_names().get(value, value)
    return translations(language).pgettext(CATALOG_CONTEXT, english)


def catalog_text(value: str | None, language: str = DEFAULT_LANGUAGE) -> str:
    """A text of the catalog's own (a regime's closed reason) in ``language``; any other
    text (a reason ops typed) is shown as given."""
    return translations(language).pgettext(CATALOG_CONTEXT, value) if value else ""


def term(value: str | None, language: str = DEFAULT_LANGUAGE) -> str:
    """A word of the emails' own (a window's name, a status) in ``language``."""
    return translations(language).gettext(value) if value else ""


class Days(BaseModel):
    """A number of days, worded when the language is known (``in 3 days``, ``3天``)."""

    n: int


class Term(BaseModel):
    """A word of the emails' own, translated when the language is known."""

    message: str


class Text(BaseModel):
    """A sentence to translate once the recipient's language is known (a lazy gettext).

    ``args`` fill the ``{name}`` fields of the translated sentence: dates, ``Days`` and
    ``Term`` are worded in the language, anything else is shown as given.
    """

    model_config = ConfigDict(frozen=True)

    message: str
    args: dict[str, Any] = {}

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        translated = translations(language).gettext(self.message)
        if not self.args:  # a sentence without fields may hold braces of its own
            return translated
        values = {key: _value(arg, language) for key, arg in self.args.items()}
        return translated.format(**values)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)


def _value(arg: Any, language: str) -> Any:
    if isinstance(arg, date):
        return day(arg, language)
    if isinstance(arg, Days):
        return days(arg.n, language)
    if isinstance(arg, Term):
        return term(arg.message, language)
    return arg


def lazy(message: str, **args: Any) -> Text:
    """``message`` with its ``{name}`` fields, translated when the recipient is known."""
    return Text(message=message, args=args)
