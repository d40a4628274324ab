"""Running regwatch services as separate processes, the way production runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from devtools.local_infra import free_port
from shared.infra.settings import Settings


def service_env(settings: Settings, **overrides: Any) -> dict[str, str]:
    """The environment that points a service process at the test session's servers."""
    env = {
        **os.environ,
        "AMQP_URL": settings.amqp_url,
        "RABBITMQ_MANAGEMENT_URL": settings.rabbitmq_management_url,
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DB": settings.mongodb_db,
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "REGWATCH_OPS_TOKEN": settings.regwatch_ops_token,
        "OUTBOX_POLL_SECONDS": str(settings.outbox_poll_seconds),
        "DELIVERY_LIMIT": str(settings.delivery_limit),
        "LOG_LEVEL": "INFO",
        # As in the session's settings: without a reader process the validator must not wait.
        "READER_ENABLED": str(settings.reader_enabled).lower(),
        # Never the defaults (8000, 8001): `make run` or another test may hold them.
        "INTAKE_HTTP_PORT": str(free_port()),
        "DASHBOARD_PORT": str(free_port()),
    }
    env.pop("REGWATCH_NOW", None)
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return env


class ServiceProcess:
    """One ``python -m services.<name>`` child, its output kept in a log file."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"regwatch-{name}-", suffix=".log")[1])
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def run_to_exit(
    name: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a service that is expected to exit (bad configuration) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", f"services.{name}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for_consumers(amqp_url: str, queue: str, count: int = 1, timeout: float = 60) -> None:
    """Block until ``queue`` has at least ``count`` consumers.

    Asks the broker itself (a passive declare): the management API's counts lag by a
    statistics interval, which under load made waits time out.
    """
    import asyncio

    import aio_pika

    async def consumers() -> int:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.consumer_count or 0)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if asyncio.run(consumers()) >= count:
                return
        except Exception:  # not declared yet, or the broker is restarting
            pass
        time.sleep(0.3)
    raise AssertionError(f"{queue} did not get {count} consumer(s) within {timeout} s")
