"""The outbox relay's sweep: every poll interval while it finds work, less often while idle."""

from __future__ import annotations

from shared.infra.outbox import IDLE_SWEEP_POLLS, idle_sweep_polls


def test_a_sweep_that_finds_work_is_followed_by_one_at_the_next_poll() -> None:
    assert idle_sweep_polls(0) == 1


def test_sweeps_that_find_nothing_double_the_wait_up_to_eight_polls() -> None:
    waits = [idle_sweep_polls(idle) for idle in range(1, 7)]
    assert waits == [2, 4, 8, 8, 8, 8]
    assert IDLE_SWEEP_POLLS == 8


def test_a_long_idle_time_never_overflows_the_wait() -> None:
    assert idle_sweep_polls(10_000) == IDLE_SWEEP_POLLS
