"""Sending one email over SMTP (aiosmtplib), with failures sorted by what they mean."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from shared.infra.settings import Settings


class RecipientRefused(Exception):
    """The server refused this recipient for good (5xx): retrying will not help."""


class SmtpUnavailable(Exception):
    """The server is down, timed out or refused for now: worth retrying later."""


def connection(settings: Settings) -> aiosmtplib.SMTP:
    """An SMTP client configured from settings (host, port, TLS/STARTTLS, login)."""
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_user or None,
        password=settings.smtp_password or None,
        use_tls=settings.smtp_tls == "tls",
        start_tls=settings.smtp_tls == "starttls",
        timeout=settings.smtp_timeout_seconds,
    )


async def send(smtp: aiosmtplib.SMTP, message: EmailMessage, recipient: str) -> None:
    """Send ``message`` to ``recipient`` on an open connection."""
    try:
        await smtp.send_message(message, recipients=[recipient])
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refusal = exc.recipients[0]
        if refusal.code >= 500:
            raise RecipientRefused(f"{refusal.code} {refusal.message}") from None
        raise SmtpUnavailable(f"{refusal.code} {refusal.message}") from None
    except aiosmtplib.SMTPRecipientRefused as exc:
        if exc.code >= 500:
            raise RecipientRefused(f"{exc.code} {exc.message}") from None
        raise SmtpUnavailable(f"{exc.code} {exc.message}") from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise SmtpUnavailable(str(exc) or type(exc).__name__) from None
