"""Waiting out a database outage instead of burning a message's delivery attempts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.errors import ConnectionFailure, PyMongoError

log = logging.getLogger("regwatch.retry")
T = TypeVar("T")


class TransientConflict(Exception):
    """A race with another copy that settles by itself shortly; retried like an outage, so
    it does not spend one of the message's few deliveries."""


def is_transient(exc: BaseException) -> bool:
    """True for failures that go away by themselves: the server is down or restarting, or
    another copy is finishing the same work."""
    if isinstance(exc, TransientConflict):
        return True
    if isinstance(exc, ConnectionFailure):  # AutoReconnect, NetworkTimeout, ServerSelection...
        return True
    if isinstance(exc, PyMongoError):
        return exc.has_error_label("TransientTransactionError") or exc.has_error_label(
            "RetryableWriteError"
        )
    return False


async def with_backoff(
    work: Callable[[], Awaitable[T]],
    *,
    what: str,
    first_delay: float = 0.2,
    max_delay: float = 5.0,
    give_up_after: float = 120.0,
) -> T:
    """Run ``work``, retrying transient database failures with exponential backoff.

    Other errors propagate at once. After ``give_up_after`` seconds of outage the last
    error propagates too, so the broker's delivery limit still bounds a message's life.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    delay = first_delay
    while True:
        try:
            return await work()
        except Exception as exc:
            if not is_transient(exc) or loop.time() + delay > deadline:
                raise
            log.warning("%s: %s; retrying in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(max_delay, delay * 2)
