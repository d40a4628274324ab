"""The dashboard's pure parts: event lines and filters, the feed's fan-out, log-in,
charts, dead-letter previews and queue alarms. No server needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.dashboard.auth import authenticate, hash_password, verify_password
from services.dashboard.charts import Bar, Series, render_svg
from services.dashboard.feed import CLIENT_BUFFER, LiveFeed
from shared.app.dead_letters import preview
from shared.app.event_lines import event_line, matches
from shared.infra.queue_report import QueueStat, alarms_for, vhost_of
from shared.infra.settings import Settings

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def cloud_event(event_type: str, subject: str, **data: object) -> dict[str, object]:
    return {
        "id": f"ev-{event_type}",
        "type": event_type,
        "time": NOW,
        "subject": subject,
        "data": data,
    }


def test_event_lines_summarise_what_ops_need_to_read() -> None:
    received = event_line(
        cloud_event(
            "document.received",
            "app_1",
            application_id="app_1",
            document_type="floor_plan",
            filename="plan.pdf",
            size=1200,
        )
    )
    assert received.summary == "floor_plan plan.pdf (1200 bytes)"
    validated = event_line(
        cloud_event(
            "application.validated",
            "app_1",
            verdict="incomplete",
            missing=["a", "b"],
            catalog_version="2026.1",
        )
    )
    assert validated.summary == "verdict incomplete, missing 2 (catalog 2026.1)"
    rejected = event_line(
        cloud_event(
            "document.rejected", "app_1", errors=[{"code": "too_large", "message": "too big"}]
        )
    )
    assert rejected.summary == "too_large: too big"


def test_feed_filter_by_type_and_by_application() -> None:
    line = event_line(cloud_event("document.received", "app_1", application_id="app_1"))
    assert matches(line, event_type=None, application_id=None)
    assert matches(line, event_type="document.received", application_id="app_1")
    assert not matches(line, event_type="application.validated", application_id=None)
    assert not matches(line, event_type=None, application_id="app_2")


@pytest.mark.asyncio
async def test_a_stalled_browser_loses_its_oldest_lines_not_the_feed() -> None:
    feed = LiveFeed()
    async with feed.subscribe() as stalled, feed.subscribe() as other:
        for i in range(CLIENT_BUFFER + 5):
            feed.deliver(event_line({**cloud_event("document.received", f"app_{i}"), "id": str(i)}))
        assert stalled.qsize() == CLIENT_BUFFER
        assert (await stalled.get()).id == "5"
        assert other.qsize() == CLIENT_BUFFER
    assert feed.client_count == 0


def test_password_hashes_verify_only_the_right_password() -> None:
    stored = hash_password("yard plan 42")
    assert stored.startswith("scrypt$")
    assert verify_password("yard plan 42", stored)
    assert not verify_password("yard plan 43", stored)
    assert not verify_password("yard plan 42", "md5$x$y")


def test_log_in_with_the_ops_token_or_a_listed_user_only() -> None:
    settings = Settings(
        REGWATCH_OPS_TOKEN="ops-secret", dashboard_users=f"li:{hash_password('pw-li')}"
    )
    assert authenticate(settings, username="", password="ops-secret") == "ops"
    assert authenticate(settings, username="", password="rwk_partner_key") is None
    assert authenticate(settings, username="li", password="pw-li") == "li"
    assert authenticate(settings, username="li", password="ops-secret") is None
    assert authenticate(settings, username="nobody", password="pw-li") is None


def test_svg_chart_draws_one_bar_per_bucket_and_escapes_labels() -> None:
    series = Series(
        title="Events <per> minute",
        bars=[Bar(start=NOW, label=f"b{i}", count=i) for i in range(5)],
    )
    svg = render_svg(series)
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert svg.count("<rect") == 5
    assert "Events &lt;per&gt; minute" in svg
    assert "<per>" not in svg


def test_dead_letter_preview_shows_text_as_text_and_binary_as_a_note() -> None:
    assert preview(b'{"type": "x"}', "application/json") == '{"type": "x"}'
    binary = preview(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")
    assert binary.startswith("[image/png, 10 bytes] base64: iVBORw0KGgo")


def test_alarms_for_a_queue_without_consumer_and_a_non_empty_dead_letter_queue() -> None:
    stats = [
        QueueStat(name="regwatch.intake.documents", ready=0, unacked=0, consumers=2),
        QueueStat(name="regwatch.validator.events", ready=4, unacked=0, consumers=0),
        QueueStat(
            name="regwatch.notifier.events", ready=0, unacked=None, consumers=0, exists=False
        ),
        QueueStat(name="regwatch.dead_letters", ready=3, unacked=0, consumers=0),
    ]
    alarms = {a.queue: a.message for a in alarms_for(stats)}
    assert "regwatch.intake.documents" not in alarms
    assert "no consumer" in alarms["regwatch.validator.events"]
    assert alarms["regwatch.notifier.events"] == "queue does not exist"
    assert alarms["regwatch.dead_letters"].startswith("3 message(s)")


def test_vhost_comes_from_the_amqp_url() -> None:
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672/") == "/"
    assert vhost_of("amqp://u:p@host:5672/regwatch-test-1") == "regwatch-test-1"
    assert vhost_of("amqp://u:p@host:5672/%2Fprod") == "/prod"
