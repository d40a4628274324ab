"""A RabbitMQ cluster of three nodes on this machine, from Debian's rabbitmq-server.

Each node has its own name, ports, data and pid file; they share one Erlang cookie (one
HOME) and join the first node. The failover tests use it with free ports in a temporary
directory; ``make cluster-up`` / ``cluster-down`` run one on fixed ports for people:

    python -m devtools.rabbit_cluster up      # prints AMQP_URLS for the services
    python -m devtools.rabbit_cluster down
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.local_infra import free_port
from shared.infra.topology import DEAD_LETTER_POLICY, DEAD_LETTER_POLICY_NAME

# As root call the real scripts: the /usr/sbin wrappers switch to the rabbitmq user, whose
# HOME (and so Erlang cookie) differs from ours.
SBIN = Path("/usr/lib/rabbitmq/bin")
STATE_FILE = Path(".run/cluster/cluster.json")


class ClusterError(Exception):
    """A node did not start, join or stop as expected."""


@dataclass(frozen=True)
class Node:
    """One node: its Erlang name, its AMQP and distribution ports and its directory."""

    name: str
    amqp_port: int
    dist_port: int
    base: Path
    home: Path

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def pid_file(self) -> Path:
        return self.base / "pid"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.home),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            # No plugins: with management every node would want port 15672.
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None


class RabbitCluster:
    """``size`` nodes named ``<prefix>-<n>@localhost`` under ``root``."""

    def __init__(
        self, root: Path, *, prefix: str, size: int = 3, ports: list[tuple[int, int]] | None = None
    ) -> None:
        self.root = root
        ports = ports or [(free_port(), free_port()) for _ in range(size)]
        self.nodes = [
            Node(f"{prefix}-{n + 1}@localhost", amqp, dist, root / f"node{n + 1}", root)
            for n, (amqp, dist) in enumerate(ports)
        ]

    @property
    def amqp_urls(self) -> list[str]:
        return [node.amqp_url for node in self.nodes]

    def ctl(self, node: Node, *args: str, timeout: float = 120) -> str:
        try:
            return run_ctl([str(SBIN / "rabbitmqctl"), "-n", node.name, *args], node.env(), timeout)
        except subprocess.CalledProcessError as exc:
            raise ClusterError(
                f"rabbitmqctl {' '.join(args)} on {node.name}: {exc.stderr}"
            ) from None

    def ctl_json(self, node: Node, *args: str) -> Any:
        return json.loads(self.ctl(node, "-q", "--formatter", "json", *args) or "[]")

    def _prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        cookie = self.root / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text("REGWATCHCLUSTERCOOKIE")
            cookie.chmod(0o400)
        for node in self.nodes:
            node.base.mkdir(parents=True, exist_ok=True)
            (node.base / "rabbitmq.conf").write_text(
                f"listeners.tcp.default = 127.0.0.1:{node.amqp_port}\nloopback_users = none\n"
            )
            (node.base / "enabled_plugins").write_text("[].\n")

    def start_node(self, node: Node) -> None:
        """Start (or restart, on the same data) one node and wait until it runs."""
        subprocess.run([str(SBIN / "rabbitmq-server"), "-detached"], env=node.env(), check=True)
        self.ctl(node, "wait", str(node.pid_file), timeout=180)

    def start(self) -> None:
        """Start every node, join them into one cluster, apply regwatch's policies."""
        self._prepare()
        for node in self.nodes:
            self.start_node(node)
        first, *others = self.nodes
        for node in others:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        self.ctl(first, "await_online_nodes", str(len(self.nodes)), timeout=180)
        apply_policies(self, first)

    def kill(self, node: Node) -> int:
        """SIGKILL the node's Erlang VM (no goodbye to its peers); returns its pid."""
        pid = node.pid()
        if pid is None:
            raise ClusterError(f"{node.name} has no pid file")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        return pid

    def leader_of(self, queue: str, *, ask: Node | None = None) -> str:
        """The node that leads ``queue`` now, as a running member of the cluster sees it."""
        ask = ask or self.running()[0]
        rows = self.ctl_json(ask, "list_queues", "name", "leader")
        return next(str(r["leader"]) for r in rows if r["name"] == queue)

    def running(self) -> list[Node]:
        return [n for n in self.nodes if (pid := n.pid()) is not None and _alive(pid)]

    def node_named(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def shutdown(self, *, remove: bool = True) -> None:
        for node in reversed(self.nodes):
            pid = node.pid()
            if pid is None or not _alive(pid):
                continue
            try:
                self.ctl(node, "shutdown", timeout=60)
            except (ClusterError, subprocess.TimeoutExpired):
                os.kill(pid, signal.SIGKILL)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


def apply_policies(cluster: RabbitCluster, node: Node) -> None:
    """regwatch's explicit policies (the dead-letter queue's delivery limit)."""
    policy = DEAD_LETTER_POLICY
    cluster.ctl(
        node,
        "set_policy",
        "--apply-to",
        str(policy["apply-to"]),
        "--priority",
        str(policy["priority"]),
        DEAD_LETTER_POLICY_NAME,
        str(policy["pattern"]),
        json.dumps(policy["definition"]),
    )


def run_ctl(argv: list[str], env: dict[str, str], timeout: float) -> str:
    """Run a rabbitmqctl command and return its output; it cannot outlive ``timeout``.

    The command runs in its own process group with its output in files, not pipes: on timeout
    the whole group (the script and the Erlang VM it starts) is killed, and nothing a leftover
    grandchild holds open can keep the caller waiting. Raises ``subprocess.TimeoutExpired`` or
    ``subprocess.CalledProcessError`` (with the command's stderr).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if returncode != 0:
        raise subprocess.CalledProcessError(returncode, argv, stdout, stderr)
    return stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (a child of ours not yet reaped) is dead for our purpose.
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _people_cluster() -> RabbitCluster:
    ports = [(5681 + n, 25681 + n) for n in range(3)]
    return RabbitCluster(STATE_FILE.parent.resolve(), prefix="regwatch", ports=ports)


def up() -> None:
    cluster = _people_cluster()
    print("[cluster] starting three RabbitMQ nodes (about 30 s)", flush=True)
    cluster.start()
    urls = ",".join(cluster.amqp_urls)
    STATE_FILE.write_text(json.dumps({"amqp_urls": urls}))
    print(f"[cluster] ready; point the services at it with\n  AMQP_URLS={urls}")


def down() -> None:
    if not STATE_FILE.exists():
        print("[cluster] no cluster was started here")
        return
    _people_cluster().shutdown()
    print("[cluster] stopped and removed")


def main() -> None:
    parser = argparse.ArgumentParser(description="a three-node RabbitMQ cluster on loopback")
    parser.add_argument("command", choices=["up", "down"])
    try:
        {"up": up, "down": down}[parser.parse_args().command]()
    except ClusterError as exc:
        print(f"[cluster] error: {exc}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
