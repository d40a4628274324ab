"""For hostile input either answer is right: the checked value or a specific refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from services.intake.checks import IntakeError

T = TypeVar("T")


def accepted_or_refused(check: Callable[[], T]) -> T | IntakeError:
    """What ``check`` returns, or the :class:`IntakeError` it refused the input with."""
    try:
        return check()
    except IntakeError as error:
        return error
