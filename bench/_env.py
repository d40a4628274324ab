"""Servers for a benchmark run: own RabbitMQ vhost, own MongoDB wire server, own database."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.infra.settings import Settings  # noqa: E402
from tests import servers  # noqa: E402


@contextmanager
def bench_settings() -> Iterator[tuple[Settings, dict[str, str]]]:
    """Settings for an isolated run, and the vhost facts (management URL, vhost name)."""
    with servers.rabbitmq_vhost() as vhost, servers.mongodb_server() as mongodb_url:
        settings = Settings(
            amqp_url=vhost["amqp_url"],
            rabbitmq_management_url=vhost["management_url"],
            mongodb_url=mongodb_url,
            mongodb_db=f"regwatch_bench_{uuid.uuid4().hex[:8]}",
            outbox_poll_seconds=0.2,
        )
        yield settings, vhost


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
