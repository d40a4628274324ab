"""The intake as a real process on a free port, for tests that speak HTTP to it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from devtools.local_infra import free_port
from shared.infra.settings import Settings
from tests.processes import ServiceProcess, service_env


@contextmanager
def running_intake(settings: Settings) -> Iterator[str]:
    """The base URL of an intake process, healthy; it must still be alive at the end."""
    port = free_port()
    process = ServiceProcess("intake", service_env(settings, intake_http_port=port))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.alive(), process.output()[-3000:]
            assert time.monotonic() < deadline, process.output()[-3000:]
            time.sleep(0.1)  # polling a starting process: nothing to wait on instead
        yield url
        assert process.alive(), process.output()[-3000:]
    finally:
        process.stop()
