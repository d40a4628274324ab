"""The scheduler's outbox relay: entries written already leased, published without a claim.

The shared relay claims an entry with ``find_one_and_update`` before publishing it; the
local SecantusDB answers that by reading the whole outbox, which is the event log, so each
reminder would cost more as the log grows. The tick knows, when it writes an entry, that
it publishes it right after the commit: it writes the entry leased to itself, and a sweep
(any relay's) publishes it only if this process fails to before the lease ends. The same
pattern as ``services/intake/relay.py``; both belong in ``shared/outbox.py``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared.events import CloudEvent
from shared.outbox import OutboxRelay, outbox_entry

log = logging.getLogger("regwatch.scheduler.relay")


class SchedulerRelay(OutboxRelay):
    """An outbox relay that also publishes the entries leased to it when written."""

    def leased_entry(self, event: CloudEvent, now: datetime) -> dict[str, Any]:
        """The outbox entry for ``event``, leased to this relay from the start."""
        return outbox_entry(event, now) | {"available_at": now + self._lease, "attempts": 1}

    async def publish_leased(self, entry: dict[str, Any]) -> bool:
        """Publish an entry leased at write time; False leaves it to the sweep."""
        try:
            await self._send(entry)
        except Exception as exc:
            log.warning("publishing %s failed, left to the sweep: %s", entry["_id"], exc)
            return False
        return True
