"""A RabbitMQ node of the fault suite's own, on free loopback ports, so it can be stopped and
restarted without touching the machine's main broker (or other test sessions)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from devtools.local_infra import free_port
from devtools.rabbit_cluster import run_ctl
from tests.servers import management_request

SBIN = Path("/usr/lib/rabbitmq/bin")


class RabbitNode:
    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="regwatch-rabbit-"))
        self.amqp_port = free_port()
        self.management_port = free_port()
        self.dist_port = free_port()
        self.name = f"rwfault{os.getpid()}@localhost"
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
            f"management.tcp.port = {self.management_port}\n"
            "management.tcp.ip = 127.0.0.1\n"
            "loopback_users = none\n"
            # Fresh per-channel figures for the checks that a fault met work in flight.
            "collect_statistics_interval = 250\n"
        )
        (self.base / "enabled_plugins").write_text("[rabbitmq_management].\n")
        cookie = self.base / ".erlang.cookie"
        cookie.write_text("REGWATCHFAULTSUITE")
        cookie.chmod(0o400)

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.base),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def ctl(self, *args: str, timeout: float = 120) -> str:
        return run_ctl([str(SBIN / "rabbitmqctl"), "-n", self.name, *args], self._env(), timeout)

    def start(self) -> None:
        subprocess.run([str(SBIN / "rabbitmq-server"), "-detached"], env=self._env(), check=True)
        self.ctl("wait", str(self.base / "pid"))
        self.wait_for_management()

    def wait_for_management(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                management_request(self.management_url, "GET", "overview")
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the fault suite's RabbitMQ management API did not answer")

    def ctl_json(self, *args: str) -> Any:
        """A rabbitmqctl listing as JSON (live figures, unlike the management API's)."""
        return json.loads(self.ctl("-q", "--formatter", "json", *args, timeout=60) or "[]")

    def kill(self) -> None:
        """SIGKILL the node's Erlang VM: no clean shutdown, the data directory as it is."""
        pid = int((self.base / "pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        (self.base / "pid").unlink()  # a stale pid file would fool `rabbitmqctl wait`

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup")

    def shutdown(self) -> None:
        try:
            self.ctl("shutdown", timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pid = (self.base / "pid").read_text().strip() if (self.base / "pid").exists() else ""
            if pid:
                subprocess.run(["kill", "-9", pid], check=False)
        shutil.rmtree(self.base, ignore_errors=True)
