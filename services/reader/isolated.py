"""Reading in child processes that the reader kills at the time limit.

A check between pages cannot stop one pathological page (pypdf's text extraction of a
crafted content stream, Tesseract on a huge scan): the work runs in a child process, which
sends what it has read after every page; at the time limit the reader kills the child and
its process group (Tesseract with it) and keeps the pages read so far. The next document
gets a new child.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from services.reader.extract import Extraction, ReadLimits, extract

log = logging.getLogger("regwatch.reader")
# Spawned, not forked: the reader's process has threads (event loop, driver, pool).
_CONTEXT = multiprocessing.get_context("spawn")
START_TIMEOUT = 60.0  # seconds for a new child to import what reading needs


class ReadingProcessError(Exception):
    """A child could not be started."""


def _serve(conn: Connection) -> None:
    """A child's loop: read each request, sending the extraction after every page."""
    os.setpgrp()  # its own process group, so Tesseract is killed with it
    conn.send(("ready", None))
    while True:
        try:
            data, content_type, limits, ocr_images = conn.recv()
        except (EOFError, OSError):  # the reader closed its end or exited
            return
        try:
            found = extract(
                data,
                content_type,
                limits,
                ocr_images=ocr_images,
                progress=lambda so_far: conn.send(("page", so_far)),
            )
        except Exception as exc:  # anything the readers let through: said, not raised
            found = Extraction(unreadable=f"reading failed: {type(exc).__name__}: {exc}")
        conn.send(("done", found))


class ReadingProcess:
    """One child process, started on first use and again after it was killed."""

    def __init__(self) -> None:
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def read(
        self, data: bytes, content_type: str, limits: ReadLimits, *, ocr_images: bool
    ) -> Extraction:
        """Read ``data`` in the child; at ``limits.time_limit`` the child is killed and the
        pages read so far are returned with the limit said."""
        conn = self._started()
        deadline = time.monotonic() + limits.time_limit
        conn.send((data, content_type, limits, ocr_images))
        so_far = Extraction()
        while (remaining := deadline - time.monotonic()) > 0 and conn.poll(remaining):
            try:
                message: tuple[str, Extraction] = conn.recv()
            except (EOFError, OSError):
                code = self._process.exitcode if self._process else None
                self.stop()
                so_far.limits.append(f"reading process ended (exit code {code})")
                return so_far
            kind, so_far = message
            if kind == "done":
                return so_far
        self.stop()
        so_far.limits.append(
            f"time limit: {limits.time_limit:g} s reached after {len(so_far.pages)} pages"
        )
        return so_far

    def _started(self) -> Connection:
        if self._process is not None and self._conn is not None and self._process.is_alive():
            return self._conn
        self.stop()
        ours, theirs = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=_serve, args=(theirs,), name="regwatch-reader-child", daemon=True
        )
        process.start()
        theirs.close()
        self._process, self._conn = process, ours
        if not ours.poll(START_TIMEOUT):
            self.stop()
            raise ReadingProcessError(f"a reading process did not start in {START_TIMEOUT:g} s")
        ours.recv()  # ready: the clock of a document starts once the child can read
        return ours

    def stop(self) -> None:
        """Kill the child and its process group (idempotent)."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is None:
            return
        if process.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        process.kill()
        process.join(5)
        process.close()

    @property
    def pid(self) -> int | None:
        """The child's process id (its process group too), when it runs."""
        return self._process.pid if self._process is not None else None


class ReadingProcesses:
    """As many children as documents read at the same time; each read takes one."""

    def __init__(self, size: int) -> None:
        self._idle: queue.SimpleQueue[ReadingProcess] = queue.SimpleQueue()
        self._all = [ReadingProcess() for _ in range(size)]
        for process in self._all:
            self._idle.put(process)

    def read(
        self, data: bytes, content_type: str, limits: ReadLimits, *, ocr_images: bool
    ) -> Extraction:
        """Read ``data`` in an idle child (blocks the calling thread)."""
        process = self._idle.get()
        try:
            return process.read(data, content_type, limits, ocr_images=ocr_images)
        finally:
            self._idle.put(process)

    def close(self) -> None:
        """Stop every child."""
        for process in self._all:
            process.stop()
