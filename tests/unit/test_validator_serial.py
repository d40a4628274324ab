"""Evaluations of one application wait for each other; other applications do not wait."""

from __future__ import annotations

import asyncio

import pytest

from services.validator.serial import PerKeyLocks


@pytest.mark.asyncio
async def test_same_key_runs_one_at_a_time_and_other_keys_run_alongside() -> None:
    locks = PerKeyLocks()
    running: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}

    async def work(key: str) -> None:
        async with locks.hold(key):
            running[key] += 1
            most[key] = max(most[key], running[key])
            await asyncio.sleep(0.01)
            running[key] -= 1

    await asyncio.gather(*(work(k) for k in "aaaabbbb"))
    assert most == {"a": 1, "b": 1}
    assert len(locks) == 0  # nothing kept once done


@pytest.mark.asyncio
async def test_a_failing_holder_releases_the_key() -> None:
    locks = PerKeyLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("a"):
            raise RuntimeError("evaluation failed")
    async with asyncio.timeout(1):
        async with locks.hold("a"):
            pass
    assert len(locks) == 0
