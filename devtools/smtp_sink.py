"""A local SMTP sink (aiosmtpd) that keeps every mail in a Maildir for tests and ops.

Recipients in the reserved ``.invalid`` top-level domain are refused with 550, so the
handling of a bad address can be exercised against a real server.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import signal
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class SinkHandler(Mailbox):
    def __init__(self, maildir: Path, *, delay: float = 0.0) -> None:
        super().__init__(maildir)
        self._delay = delay  # seconds each mail takes to be accepted, as a slow server's

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self._delay:
            await asyncio.sleep(self._delay)
        result: str = await super().handle_DATA(server, session, envelope)
        return result

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower().rstrip(">").endswith(".invalid"):
            return f"550 5.1.1 <{address}>: no such recipient"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def read_maildir(path: str | Path) -> list[mailbox.MaildirMessage]:
    """Every mail the sink kept in ``path``, oldest first."""
    box = mailbox.Maildir(str(path), create=False)
    messages = [box.get_message(key) for key in box.iterkeys()]
    return sorted(messages, key=lambda m: m.get_date())


def start_sink(host: str, port: int, maildir: str | Path, *, delay: float = 0.0) -> Controller:
    """Start the sink in a background thread; ``controller.stop()`` ends it. ``delay``: the
    seconds it takes to accept each mail."""
    for part in ("tmp", "new", "cur"):  # a Maildir's layout; aiosmtpd expects it to exist
        (Path(maildir) / part).mkdir(parents=True, exist_ok=True)
    controller = Controller(SinkHandler(Path(maildir), delay=delay), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description="regwatch's local SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", default=".run/mail")
    args = parser.parse_args()
    controller = start_sink(args.host, args.port, args.maildir)
    print(f"SMTP sink on {args.host}:{args.port}, mail kept in {args.maildir}", flush=True)

    async def wait_for_signal() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    asyncio.run(wait_for_signal())
    controller.stop()


if __name__ == "__main__":
    main()
