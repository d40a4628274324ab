"""Rendering a notice into a MIME email (plain text + HTML) with Jinja2 templates."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache, partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifier import i18n
from services.notifier.missing_items import missing_item
from services.notifier.notices import ANY_EXPORTER, Notice
from shared.domain.models import DEFAULT_LANGUAGE

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
TEMPLATES = Path(__file__).parent / "templates"


@lru_cache
def environment(language: str) -> Environment:
    """The templates with ``_`` and the filters bound to ``language`` (one per language)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["day"] = partial(i18n.day, language=language)
    env.filters["days"] = partial(i18n.days, language=language)
    env.filters["name"] = partial(i18n.name, language=language)
    env.filters["missing_item"] = partial(missing_item, language=language)
    env.filters["catalog_text"] = partial(i18n.catalog_text, language=language)
    env.filters["term"] = partial(i18n.term, language=language)
    env.globals["language"] = language
    env.globals["colon"] = "：" if language == "zh" else ": "  # after a label, as each writes it
    return env


def subject(notice: Notice, language: str = DEFAULT_LANGUAGE) -> str:
    return notice.subject.render(language)


def render(
    notice: Notice, calendar_url: str | None = None, language: str = DEFAULT_LANGUAGE
) -> tuple[str, str]:
    """The plain-text and HTML bodies of ``notice`` in ``language``; the footer links the
    recipient's calendar feed when ``calendar_url`` is given."""
    language = i18n.language_of(language)
    exporter = notice.exporter_name
    context = {
        **notice.model_dump(exclude={"subject"}),
        "subject": subject(notice, language),
        "exporter_name": i18n.term(exporter, language) if exporter == ANY_EXPORTER else exporter,
        "calendar_url": calendar_url,
    }
    env = environment(language)
    text = env.get_template(f"{notice.template}.txt.j2").render(**context)
    html = env.get_template(f"{notice.template}.html.j2").render(**context)
    return text, html


def header_safe(value: str) -> str:
    """One line for a header: a CR/LF from a partner's data would end the header (or refuse
    the whole email), and other control characters have no place in it."""
    return " ".join(_CONTROL.sub(" ", value).split())


def message_id(event_id: str, recipient: str) -> str:
    """Stable per (event, recipient), so a receiving system can spot a duplicate."""
    digest = hashlib.sha256(f"{event_id}|{recipient}".encode()).hexdigest()[:32]
    return f"<{digest}@regwatch>"


def compose(
    notice: Notice,
    *,
    recipient: str,
    sender: str,
    event_id: str,
    event_type: str,
    date: datetime,
    calendar_url: str | None = None,
) -> EmailMessage:
    """One email of ``notice`` to one recipient, in the recipient's language
    (``calendar_url``: the recipient's feed)."""
    language = notice.language_for(recipient)
    text, html = render(notice, calendar_url, language)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = header_safe(subject(notice, language))
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id(event_id, recipient)
    message["X-Regwatch-Event-Id"] = event_id
    message["X-Regwatch-Event-Type"] = event_type
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = "zh-Hans" if language == "zh" else language  # after set_content
    return message
