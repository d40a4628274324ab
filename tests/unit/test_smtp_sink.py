"""The local SMTP sink keeps mail in a Maildir and refuses `.invalid` recipients."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from devtools.local_infra import free_port
from devtools.smtp_sink import read_maildir, start_sink


def test_sink_keeps_mail_in_a_fresh_maildir_and_refuses_invalid_domains(tmp_path: Path) -> None:
    port = free_port()
    controller = start_sink("127.0.0.1", port, tmp_path / "mail")
    try:
        message = EmailMessage()
        message["From"] = "regwatch@example.org"
        message["To"] = "exporter@example.org"
        message["Subject"] = "Renewal due"
        message.set_content("hello")
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(message)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.send_message(message, to_addrs=["nobody@nowhere.invalid"])
    finally:
        controller.stop()
    kept = read_maildir(tmp_path / "mail")
    assert [m["Subject"] for m in kept] == ["Renewal due"]
