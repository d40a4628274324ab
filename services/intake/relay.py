"""The intake's outbox relay: entries written already leased, published without a claim.

The shared relay claims an entry (``find_one_and_update``) before publishing it, so that
two relays never publish it at once. The intake knows, when it writes the entry, that it
will publish it right after the commit: it writes the entry already leased to itself
(``available_at`` = now + lease), which makes the claim unnecessary, one database round
trip less per document. No other relay's sweep touches the entry during the lease; if
this process dies or the publish fails, a sweep publishes it once the lease ends, exactly
as after a failed claim-and-publish. A plain relay (ops tools, tests) claims as usual.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared.events import CloudEvent
from shared.outbox import OutboxRelay, outbox_entry

log = logging.getLogger("regwatch.intake.relay")


class IntakeRelay(OutboxRelay):
    """An outbox relay that also publishes entries leased to it when they were written."""

    def leased_entry(self, event: CloudEvent, now: datetime) -> dict[str, Any]:
        """The outbox entry for ``event``, leased to this relay from the start."""
        return outbox_entry(event, now) | {"available_at": now + self._lease, "attempts": 1}

    async def publish_leased(self, entry: dict[str, Any]) -> bool:
        """Publish an entry this relay leased at write time; False leaves it to the sweep."""
        try:
            await self._send(entry)
        except Exception as exc:
            log.warning("publishing %s failed, left to the sweep: %s", entry["_id"], exc)
            return False
        return True


def entry_for(relay: OutboxRelay, event: CloudEvent, now: datetime) -> dict[str, Any]:
    """The entry to write with the state change: leased when the relay can use that."""
    if isinstance(relay, IntakeRelay):
        return relay.leased_entry(event, now)
    return outbox_entry(event, now)


async def publish_committed(relay: OutboxRelay, entry: dict[str, Any]) -> bool:
    """Publish ``entry`` after its transaction committed (see ``entry_for``)."""
    if isinstance(relay, IntakeRelay):
        return await relay.publish_leased(entry)
    return await relay.publish(entry["_id"])
