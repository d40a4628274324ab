"""Structured logs: one JSON object a line, carrying the correlation id when there is one;
or, with ``LOG_FORMAT=text`` (what ``make run`` uses), a plain line a person reads.

Below ``LOG_LEVEL=DEBUG`` the chatter a person reads as noise stays out: APScheduler's
per-run lines, and uvicorn's access lines for health checks, metrics and static files.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from shared.infra.activity import ACTIVITY, ErrorCounter

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Requests polled by probes and browsers, not by people: their access lines are DEBUG.
ROUTINE_PATHS = ("/healthz", "/metrics", "/static/", "/favicon.ico")
# Drivers that speak at INFO about every connection or command: WARNING and up only.
DRIVER_LOGGERS = ("aiormq", "aio_pika", "pymongo", "httpx")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            # Log timestamps are wall-clock facts about the process, not domain time.
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (cid := correlation_id.get()) is not None:
            entry["correlation_id"] = cid
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """``level  logger: message  [correlation id]``; the process manager adds time and name."""

    def format(self, record: logging.LogRecord) -> str:
        # uvicorn logs its lifecycle as "uvicorn.error" at INFO: a person reads "error".
        name = (
            "http" if record.name.startswith("uvicorn.") else record.name.removeprefix("regwatch.")
        )
        line = f"{record.levelname.lower():<7} {name}: {record.getMessage()}"
        if (cid := correlation_id.get()) is not None:
            line += f"  [{cid}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RoutineAccessFilter(logging.Filter):
    """Drops uvicorn access lines for health checks, metrics and static files."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        # uvicorn.access: (client, method, path, http_version, status)
        path = str(args[2]) if len(args) >= 3 else ""
        return not path.startswith(ROUTINE_PATHS)


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Send every log record of the process to stderr (JSON lines or text), and count errors."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler, ErrorCounter(ACTIVITY)]
    root.setLevel(level.upper())
    debug = root.level <= logging.DEBUG
    for noisy in DRIVER_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # "Running job ... executed successfully" twice a tick: shown only when debugging.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if debug else logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    for existing in [f for f in access.filters if isinstance(f, RoutineAccessFilter)]:
        access.removeFilter(existing)
    if not debug:
        access.addFilter(RoutineAccessFilter())
