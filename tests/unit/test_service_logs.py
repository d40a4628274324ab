"""Service logs a person can read: no per-run chatter, a start line without secrets, one
summary line per period, errors counted."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator

import pytest

from shared.infra.activity import Activity, ErrorCounter, report_activity, summary
from shared.infra.logs import RoutineAccessFilter, TextFormatter, configure_logging, correlation_id
from shared.infra.runtime import starting_line
from shared.infra.settings import Settings
from tests.support import wait_until


def access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip


def test_health_metrics_and_static_access_lines_are_dropped_others_kept() -> None:
    routine = RoutineAccessFilter()
    for path in ("/healthz", "/metrics", "/static/app.css"):
        assert not routine.filter(access_record(path))
    assert routine.filter(access_record("/applications/app_1"))


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure_logging rewires the root logger: put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").filters.clear()


@pytest.mark.usefixtures("root_logging")
def test_apscheduler_job_runs_are_below_info_unless_debug() -> None:
    configure_logging("scheduler", "INFO")
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
    configure_logging("scheduler", "DEBUG")
    assert logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
    assert not logging.getLogger("uvicorn.access").filters
    configure_logging("scheduler", "INFO")
    assert len(logging.getLogger("uvicorn.access").filters) == 1


def test_text_lines_carry_level_logger_message_and_correlation_id() -> None:
    record = logging.LogRecord(
        "regwatch.activity", logging.INFO, __file__, 1, "last minute: %s", ("0 errors",), None
    )
    assert TextFormatter().format(record) == "info    activity: last minute: 0 errors"
    token = correlation_id.set("app_1")
    try:
        failed = logging.LogRecord("regwatch.intake", logging.ERROR, __file__, 1, "boom", (), None)
        assert TextFormatter().format(failed) == "error   intake: boom  [app_1]"
        started = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "up", (), None)
        assert TextFormatter().format(started) == "info    http: up  [app_1]"
    finally:
        correlation_id.reset(token)


@pytest.mark.usefixtures("root_logging")
def test_per_message_broker_lines_are_below_info_unless_asked() -> None:
    from shared.infra.broker import make_broker

    quiet = make_broker(Settings(), "validator")
    loud = make_broker(Settings(message_log_level="INFO"), "validator")
    assert (quiet.config.logger.log_level, loud.config.logger.log_level) == (
        logging.DEBUG,
        logging.INFO,
    )


def test_start_line_names_the_servers_and_hides_passwords() -> None:
    settings = Settings(
        amqp_url="amqp://ops:s3cret@broker:5672/prod",
        mongodb_url="mongodb://app:m0ngo-pw@db:27017/",
        smtp_password="smtp-pw",
        REGWATCH_OPS_TOKEN="token-xyz",
    )
    line = starting_line("intake", settings)
    assert "amqp://ops:***@broker:5672/prod" in line
    assert "mongodb://app:***@db:27017/" in line
    assert "clock system" in line
    for secret in ("s3cret", "m0ngo-pw", "smtp-pw", "token-xyz"):
        assert secret not in line


def test_summary_names_what_was_handled_in_a_fixed_order() -> None:
    activity = Activity()
    for event_type in ("application.validated", "document.received", "deadline.expiry_due"):
        activity.event_published(event_type)
    activity.event_published("notification.sent")
    line = summary(activity.take())
    assert line == "last minute: 1 documents, 1 evaluations, 1 reminders, 1 emails, 0 errors"
    assert summary(activity.take()) == "last minute: 0 errors"


def test_error_records_are_counted() -> None:
    activity = Activity()
    logger = logging.getLogger("test.errors.counted")
    counter = ErrorCounter(activity)
    logger.addHandler(counter)
    try:
        logger.error("boom")
        logger.warning("not counted")
    finally:
        logger.removeHandler(counter)
    assert activity.take() == Counter({"errors": 1})


@pytest.mark.asyncio
async def test_a_summary_line_is_logged_each_period(caplog: pytest.LogCaptureFixture) -> None:
    activity = Activity()
    activity.bump("documents", 2)
    caplog.set_level(logging.INFO, logger="regwatch.activity")
    reporter = asyncio.create_task(report_activity(every=0.05, activity=activity))
    try:
        await wait_until(lambda: any("2 documents" in r.getMessage() for r in caplog.records))
    finally:
        reporter.cancel()
