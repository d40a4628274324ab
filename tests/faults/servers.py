"""A MongoDB wire server the fault suite can stop and start again on the same data."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
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
        """Start (again) on the same data, each commit synced to the journal before it is
        acknowledged: SecantusDB ignores a write concern's journaling inside transactions,
        and without this a SIGKILL loses the last acknowledged commits (seen: 3 documents
        whose messages intake had acked), where mongod's majority commit would keep them."""
        storage, log_file = self.base / "data", self.base / "server.log"
        storage.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
        with open(log_file, "ab") as log:
            self.process = subprocess.Popen(
                [binary, "--host", "127.0.0.1", "--port", str(self.port)]
                + ["--storage-path", str(storage), "--sync-on-commit"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        local_infra.wait_for(
            lambda: (
                self.process is not None
                and self.process.poll() is None
                and local_infra.mongo_answers(self.url)
            ),
            "SecantusDB",
            60,
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
