"""Which events an endpoint wants, which URLs and addresses webhooks may use, retry waits,
and the Standard Webhooks signature a receiver verifies with the same package."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from shared.app.webhooks import generate_secret
from shared.domain.webhooks import (
    WebhookRefused,
    address_allowed,
    check_patterns,
    check_url,
    event_matches,
    retry_delay,
)
from shared.infra.webhook_http import AttemptOutcome, send_webhook, signed_headers, webhook_client


def test_no_patterns_means_every_event_and_a_star_is_one_word() -> None:
    assert event_matches([], "document.received")
    assert event_matches(["deadline.*"], "deadline.renewal_due")
    assert not event_matches(["deadline.*"], "document.received")
    assert not event_matches(["application.*"], "application.status.changed")
    assert event_matches(["document.rejected", "application.validated"], "application.validated")


def test_a_malformed_pattern_is_refused_with_what_to_write() -> None:
    with pytest.raises(WebhookRefused, match="deadline"):
        check_patterns(["deadline.#"])
    assert check_patterns(["a.b", "a.b", "c.*"]) == ["a.b", "c.*"]


@pytest.mark.parametrize(
    "url",
    [
        "http://erp.example.com/hook",
        "ftp://erp.example.com/hook",
        "https://user:pw@erp.example.com/hook",
        "/relative",
        "http://127.0.0.1:9000/hook",
    ],
)
def test_only_https_urls_are_accepted_by_default(url: str) -> None:
    with pytest.raises(WebhookRefused):
        check_url(url, allow_loopback=False)


def test_http_to_loopback_only_when_allowed() -> None:
    assert check_url("http://127.0.0.1:9000/hook", allow_loopback=True) == "127.0.0.1"
    assert check_url("http://localhost/hook", allow_loopback=True) == "localhost"
    with pytest.raises(WebhookRefused):
        check_url("http://erp.example.com/hook", allow_loopback=True)
    assert check_url("https://erp.example.com/x", allow_loopback=False) == "erp.example.com"


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "fe80::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_private_link_local_and_reserved_addresses_are_never_reached(address: str) -> None:
    assert not address_allowed(address, allow_loopback=True)


def test_loopback_is_reached_only_when_allowed_and_public_addresses_always() -> None:
    assert not address_allowed("127.0.0.1", allow_loopback=False)
    assert not address_allowed("::1", allow_loopback=False)
    assert address_allowed("127.0.0.1", allow_loopback=True)
    assert address_allowed("93.184.216.34", allow_loopback=False)
    assert address_allowed("2606:2800:220:1:248:1893:25c8:1946", allow_loopback=False)


def test_retry_waits_double_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    waits = [
        retry_delay(n, base_seconds=30, max_seconds=3600, rng=rng).total_seconds()
        for n in range(1, 12)
    ]
    for n, wait in enumerate(waits, start=1):
        ceiling = min(3600, 30 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert max(waits) <= 3600


def test_a_receiver_verifies_the_signature_with_standardwebhooks() -> None:
    secret = generate_secret()
    body = '{"id":"evt_1","type":"document.received"}'
    headers = signed_headers([secret], webhook_id="evt_1", body=body, at=datetime.now(UTC))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["id"] == "evt_1"
    with pytest.raises(Exception, match="signature"):
        Webhook(generate_secret()).verify(body, headers)


def test_during_a_rotation_a_receiver_with_either_secret_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    body = '{"id":"evt_2","type":"deadline.renewal_due"}'
    headers = signed_headers([new, old], webhook_id="evt_2", body=body, at=datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers)["id"] == "evt_2"
    assert Webhook(new).verify(body, headers)["id"] == "evt_2"
    with pytest.raises(Exception, match="signature"):
        Webhook(generate_secret()).verify(body, headers)


def test_a_connection_to_a_refused_address_is_never_opened() -> None:
    """Checked when connecting, not only at registration: a name that later resolves into the
    operator's network (DNS rebinding) gets nothing."""

    async def attempt() -> AttemptOutcome:
        client = webhook_client(allow_loopback=False, connect_seconds=2, read_seconds=2)
        async with client:
            return await send_webhook(
                client,
                url="https://localhost:9/hook",
                secrets=[generate_secret()],
                webhook_id="evt_1",
                body="{}",
                content_type="application/cloudevents+json",
                total_seconds=5,
            )

    outcome = asyncio.run(attempt())
    assert outcome.status_code is None
    assert not outcome.succeeded
    assert outcome.error is not None
    assert "not a public address" in outcome.error
