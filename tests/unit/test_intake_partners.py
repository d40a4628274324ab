"""Partner credentials: API keys are random and stored hashed; RabbitMQ permissions are tight."""

from __future__ import annotations

import hashlib
import re

from shared.app.partners import generate_api_key, hash_api_key
from shared.infra.rabbit_users import partner_permissions, reply_queue_prefix, vhost_of


def test_api_keys_are_random_and_hashed_with_sha256() -> None:
    first, second = generate_api_key(), generate_api_key()
    assert first != second
    assert len(first) > 40
    assert hash_api_key(first) == hashlib.sha256(first.encode()).hexdigest()
    assert first not in hash_api_key(first)


def test_partner_may_write_only_to_the_intake_exchange() -> None:
    write = re.compile(partner_permissions("ptn_a").write)
    assert write.match("regwatch.intake")
    for resource in ("regwatch.events", "regwatch.intakeX", "amq.default", "", "regwatch.dlx"):
        assert not write.match(resource), resource


def test_partner_may_configure_and_read_only_its_own_reply_queues() -> None:
    permissions = partner_permissions("ptn_a")
    own = reply_queue_prefix("ptn_a") + "replies"
    for pattern in (permissions.configure, permissions.read):
        regex = re.compile(pattern)
        assert regex.match(own)
        for resource in (
            "regwatch.intake.documents",
            "regwatch.events",
            "regwatch.dead_letters",
            "partner.ptn_b.replies",
            "partner.ptn_a.",
            "partner.ptn_aa.replies",
            "amq.gen-xyz",
        ):
            assert not regex.match(resource), resource


def test_vhost_is_read_from_the_amqp_url() -> None:
    assert vhost_of("amqp://u:p@127.0.0.1:5672/") == "/"
    assert vhost_of("amqp://u:p@127.0.0.1:5672") == "/"
    assert vhost_of("amqp://u:p@127.0.0.1:5672/%2F") == "/"
    assert vhost_of("amqp://u:p@127.0.0.1:5672/regwatch-test-1") == "regwatch-test-1"


def test_partner_may_read_but_not_configure_its_events_queue() -> None:
    permissions = partner_permissions("ptn_a")
    assert re.compile(permissions.read).match("partner.ptn_a.events")
    assert not re.compile(permissions.configure).match("partner.ptn_a.events")
    assert re.compile(permissions.configure).match("partner.ptn_a.events-replies")
    assert not re.compile(permissions.read).match("partner.ptn_b.events")
