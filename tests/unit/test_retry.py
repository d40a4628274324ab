"""Backoff on database outages: transient errors are retried, others are not."""

from __future__ import annotations

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError, ServerSelectionTimeoutError

from shared.infra.retry import is_transient, with_backoff


def test_connection_failures_are_transient_and_write_errors_are_not() -> None:
    assert is_transient(AutoReconnect("connection reset"))
    assert is_transient(ServerSelectionTimeoutError("no servers"))
    assert not is_transient(DuplicateKeyError("E11000"))
    assert not is_transient(ValueError("bug"))


@pytest.mark.asyncio
async def test_transient_failures_are_retried_until_the_work_succeeds() -> None:
    calls = 0

    async def work() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise AutoReconnect("server restarting")
        return "stored"

    assert await with_backoff(work, what="test", first_delay=0.01) == "stored"
    assert calls == 3


@pytest.mark.asyncio
async def test_other_errors_propagate_at_once() -> None:
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug, not an outage"):
        await with_backoff(work, what="test", first_delay=0.01)
    assert calls == 1


@pytest.mark.asyncio
async def test_a_long_outage_gives_up_after_the_bound() -> None:
    async def work() -> None:
        raise AutoReconnect("still down")

    with pytest.raises(AutoReconnect):
        await with_backoff(work, what="test", first_delay=0.01, max_delay=0.02, give_up_after=0.1)
