"""Rendering a notice into a MIME email (plain text + HTML) with Jinja2 templates."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifier.notices import Notice, day

TEMPLATES = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
environment.filters["day"] = day


def render(notice: Notice, calendar_url: str | None = None) -> tuple[str, str]:
    """The plain-text and HTML bodies of ``notice``; the footer links the recipient's
    calendar feed when ``calendar_url`` is given."""
    context = {**notice.model_dump(), "calendar_url": calendar_url}
    text = environment.get_template(f"{notice.template}.txt.j2").render(**context)
    html = environment.get_template(f"{notice.template}.html.j2").render(**context)
    return text, html


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
    """One email of ``notice`` to one recipient (``calendar_url``: the recipient's feed)."""
    text, html = render(notice, calendar_url)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = notice.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id(event_id, recipient)
    message["X-Regwatch-Event-Id"] = event_id
    message["X-Regwatch-Event-Type"] = event_type
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
