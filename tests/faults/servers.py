"""A MongoDB wire server the fault suite can stop and start again on the same data."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from devtools import local_infra


class MongoNode:
    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="regwatch-fault-mongo-"))
        self.port = local_infra.free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return local_infra.secantus_url(self.port)

    def start(self) -> None:
        self.process = local_infra.start_secantus(
            self.port, self.base / "data", self.base / "server.log"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server mid-write; ``start`` brings it back on the same data."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the server and any child of it
            self.process.wait(timeout=10)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
