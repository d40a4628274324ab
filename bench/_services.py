"""Service processes under benchmark, and what their own counters say.

CPU time comes from ``/proc/<pid>/stat`` (utime + stime of every thread); MongoDB round
trips from the process's ``regwatch_mongodb_commands_total`` metric, which
``MONGODB_COMMAND_COUNTING=1`` turns on.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devtools.local_infra import free_port
from shared.infra.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time process ``pid`` (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def database_server_pid(mongodb_url: str) -> int | None:
    """The local process serving ``mongodb_url`` (its port on its command line), if any."""
    port = urlsplit(mongodb_url).port
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any("secantusd" in w or "mongod" in w for w in words[:2]) and str(port) in words:
            return int(cmdline.parent.name)
    return None


class Service:
    """One ``python -m services.<name>`` process and the URL of its ``/metrics``."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, metrics_url: str) -> None:
        self.name = name
        self.process = process
        self.metrics_url = metrics_url

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        return process_cpu_seconds(self.process.pid)

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def commands(self) -> Counter[str]:
        """MongoDB commands sent so far, by command name."""
        async with httpx.AsyncClient(timeout=10) as client:
            text = (await client.get(self.metrics_url)).text
        counts: Counter[str] = Counter()
        for family in text_string_to_metric_families(text):
            if family.name == "regwatch_mongodb_commands":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        counts[sample.labels["command"]] += int(sample.value)
        return counts

    async def wait_idle(self, *, quiet_cpu: float = 0.03, timeout: float = 60) -> None:
        """Until the process used under ``quiet_cpu`` s of CPU in one second (its work done)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        before = self.cpu_seconds()
        while loop.time() < deadline:
            await asyncio.sleep(1.0)
            now = self.cpu_seconds()
            if now - before < quiet_cpu:
                return
            before = now


def service_environment(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "AMQP_URL": settings.amqp_url,
        "RABBITMQ_MANAGEMENT_URL": settings.rabbitmq_management_url,
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DB": settings.mongodb_db,
        "MONGODB_COMMAND_COUNTING": "1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@asynccontextmanager
async def service(
    name: str, settings: Settings, environment: dict[str, str] | None = None
) -> AsyncIterator[Service]:
    """``python -m services.<name>`` with command counting, until its metrics answer.

    ``environment``: more variables for the process (READER_ENABLED=false, say)."""
    port = free_port()
    if name == "intake":
        # The benchmark scrapes /metrics without credentials (METRICS_ACCESS is login by default).
        extra = {"INTAKE_HTTP_PORT": str(port), "METRICS_ACCESS": "open"}
        metrics_url = f"http://127.0.0.1:{port}/metrics"
    else:
        extra, metrics_url = {"METRICS_PORT": str(port)}, f"http://127.0.0.1:{port}/"
    extra |= environment or {}
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"services.{name}",
            cwd=ROOT,
            env=service_environment(settings, **extra),
            stderr=log,
        )
        running = Service(name, process, metrics_url)
        try:
            if not await answers(running):
                log.seek(0)
                raise RuntimeError(f"{name} did not start: {log.read().decode()[-2000:]}")
            yield running
        finally:
            if process.returncode is None:
                process.terminate()
                await asyncio.wait_for(process.wait(), 20)


async def answers(running: Service) -> bool:
    """Wait until the service serves its metrics (False if it exits or takes 30 s)."""
    async with httpx.AsyncClient() as client:
        for _ in range(150):
            try:
                if (await client.get(running.metrics_url)).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            if running.process.returncode is not None:
                return False
            await asyncio.sleep(0.2)
    return False
