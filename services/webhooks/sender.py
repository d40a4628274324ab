"""Sending due deliveries: claimed from MongoDB, a bounded number at a time.

A failed attempt is rescheduled (a next-attempt time), never waited on, and at most one
request per endpoint is in flight in a replica: a slow or dead endpoint holds one worker
for at most its timeouts, and every other partner's deliveries go on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import httpx

from shared.app import webhooks
from shared.app.webhook_secrets import signing_secrets
from shared.domain.clock import Clock
from shared.infra.mongo_types import Database
from shared.infra.outbox import CLOUDEVENTS_CONTENT_TYPE
from shared.infra.secret_box import SecretBox
from shared.infra.settings import Settings
from shared.infra.webhook_http import send_webhook, webhook_client

log = logging.getLogger("regwatch.webhooks.sender")


def retry_policy(settings: Settings) -> webhooks.RetryPolicy:
    return webhooks.RetryPolicy(
        base_seconds=settings.webhook_retry_base_seconds,
        max_seconds=settings.webhook_retry_max_seconds,
        period=timedelta(hours=settings.webhook_retry_hours),
        disable_after=settings.webhook_disable_after_failures,
    )


class DeliverySender:
    """Claims due deliveries and sends each on its own task, up to ``webhook_concurrency``."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, *, worker: str) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self._worker = worker
        self._policy = retry_policy(settings)
        self._box = SecretBox.from_settings(settings)
        self._client: httpx.AsyncClient = webhook_client(
            allow_loopback=settings.webhook_allow_loopback,
            connect_seconds=settings.webhook_connect_timeout_seconds,
            read_seconds=settings.webhook_read_timeout_seconds,
        )
        self._slots = asyncio.Semaphore(settings.webhook_concurrency)
        self._busy: set[str] = set()  # endpoints with a request in flight here
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="webhook-sender")

    def wake(self) -> None:
        """New deliveries were stored: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Claim nothing more; requests in flight end within their timeouts."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._sending:
            await asyncio.wait(self._sending)
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                claimed = await self.dispatch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database outage: try again at the next poll
                log.warning("claiming webhook deliveries failed: %s", exc)
                claimed = 0
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.webhook_poll_seconds)
                self._wake.clear()

    async def dispatch(self) -> int:
        """Claim due deliveries while a slot is free; each is sent on its own task."""
        claimed = 0
        while True:
            await self._slots.acquire()
            lease = timedelta(seconds=self._settings.webhook_lease_seconds)
            try:
                delivery = await webhooks.claim_due(
                    self._db,
                    now=self._clock.now(),
                    lease=lease,
                    worker=self._worker,
                    skip=self._busy,
                )
            except BaseException:
                self._slots.release()
                raise
            if delivery is None:
                self._slots.release()
                return claimed
            claimed += 1
            self._busy.add(delivery["endpoint_id"])
            task = asyncio.create_task(self._send(delivery), name=f"webhook {delivery['_id']}")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, delivery: dict[str, object]) -> None:
        endpoint_id = str(delivery["endpoint_id"])
        try:
            await self.attempt(delivery)
        except Exception as exc:  # the lease ends and the delivery is claimed again
            log.warning("webhook delivery %s not recorded: %s", delivery["_id"], exc)
        finally:
            self._busy.discard(endpoint_id)
            self._slots.release()
            self._wake.set()  # the endpoint is free: its next delivery may be due

    async def attempt(self, delivery: dict[str, object]) -> str:
        """Send one claimed delivery and record the attempt; the delivery's new status."""
        endpoint = await webhooks.endpoint_secret(self._db, str(delivery["endpoint_id"]))
        if endpoint is None:
            await webhooks.drop_orphan(self._db, delivery)
            return "deleted"
        if endpoint["status"] == "disabled" and not delivery.get("manual"):
            await webhooks.hold_for_disabled(self._db, delivery, now=self._clock.now())
            return "held"
        settings = self._settings
        outcome = await send_webhook(
            self._client,
            url=endpoint["url"],
            secrets=signing_secrets(endpoint, self._box, now=self._clock.now()),
            webhook_id=str(delivery["event_id"]),
            body=str(delivery["body"]),
            content_type=CLOUDEVENTS_CONTENT_TYPE,
            total_seconds=settings.webhook_connect_timeout_seconds
            + settings.webhook_read_timeout_seconds,
        )
        status = await webhooks.record_attempt(
            self._db, dict(delivery), outcome, now=self._clock.now(), policy=self._policy
        )
        log.info(
            "webhook %s to %s: %s (%s)",
            delivery["event_id"],
            endpoint["url"],
            status,
            outcome.error or outcome.status_code,
        )
        return status
