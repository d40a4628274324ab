"""Babel's command line as ``make translations`` runs it, with the catalog's texts as plain text.

The catalog's names and texts (context ``catalog``) are shown as the authority writes them,
never %-formatted. Babel guesses ``python-format`` from any ``%`` a conversion letter
follows ("more than 30% dairy" reads as ``% d``) and then refuses every translation
without that placeholder. GNU gettext's ``no-python-format`` flag says such a guess is
wrong; Babel 2.18 keeps the flag but guesses (and checks) all the same
(python-babel/babel#35). Here the flag wins, and the catalog's texts carry it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from babel.messages.catalog import Message
from babel.messages.frontend import CommandLineInterface

from services.notifier.i18n import CATALOG_CONTEXT

PYTHON_FORMAT = "python-format"
NO_PYTHON_FORMAT = "no-python-format"


def as_plain_text(message: Message) -> None:
    """Drops Babel's ``python-format`` guess from a catalog text, or from a message marked
    ``no-python-format``; the mark stays, for the checks and for the translators' tools."""
    if PYTHON_FORMAT not in message.flags:
        return
    if message.context == CATALOG_CONTEXT or NO_PYTHON_FORMAT in message.flags:
        message.flags.discard(PYTHON_FORMAT)
        message.flags.add(NO_PYTHON_FORMAT)


@contextmanager
def plain_catalog_texts() -> Iterator[None]:
    """Every message Babel makes meanwhile (extracted, merged, read from a .po) goes
    through ``as_plain_text``."""
    guess = Message.__init__

    @wraps(guess)
    def init(self: Message, *args: Any, **kwargs: Any) -> None:
        guess(self, *args, **kwargs)
        as_plain_text(self)

    Message.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        Message.__init__ = guess  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    with plain_catalog_texts():
        return int(CommandLineInterface().run(argv) or 0)  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
