"""Partners' webhook endpoints and the deliveries made to them.

An endpoint belongs to one partner and wants some of its events (type patterns, or all).
Each event for the partner becomes one delivery per endpoint that wants it, stored with a
next-attempt time; the webhooks service claims due deliveries with a lease (as the
scheduler claims reminders), sends them and records each attempt here. Nothing waits on a
slow endpoint but the one worker sending to it.

- ``webhook-id`` is the event id: the same on every attempt and every redelivery.
- A failed attempt is tried again after a doubling wait with jitter, until the retry
  period from the first attempt has passed (then the delivery has ``failed``).
- After ``disable_after`` consecutive failed attempts the endpoint is disabled, with the
  reason; its waiting deliveries, and those of later events, are ``held``. A successful attempt (an ops redelivery) on a
  disabled endpoint enables it again and releases what was held.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from shared.domain.models import new_id
from shared.domain.webhooks import (
    WebhookRefused,
    check_patterns,
    check_url,
    event_matches,
    retry_delay,
)
from shared.infra.mongo_types import Database
from shared.infra.secret_box import SecretBox
from shared.infra.webhook_http import AttemptOutcome, refused_addresses

ENDPOINTS = "webhook_endpoints"
DELIVERIES = "webhook_deliveries"
MAX_ENDPOINTS_PER_PARTNER = 10
KEPT_ATTEMPTS = 30  # per delivery, newest last
CANDIDATES = 16
# Where an endpoint's signing secrets are stored: sealed (shared.infra.secret_box), the
# previous one during a rotation's grace period; a plain ``secret`` is from before sealing.
SEALED = "secret_sealed"
PREVIOUS_SEALED = "previous_secret_sealed"
PLAIN = "secret"
HIDDEN = {SEALED: 0, PREVIOUS_SEALED: 0, PLAIN: 0}  # never shown, never listed

EndpointStatus = Literal["active", "disabled"]
DeliveryStatus = Literal["pending", "claimed", "delivered", "failed", "held"]


class WebhookEndpoint(BaseModel):
    """An endpoint as its partner and ops see it (never with its secret)."""

    id: str = Field(alias="_id")
    partner_id: str
    url: str
    events: list[str]
    status: EndpointStatus
    created_at: datetime
    consecutive_failures: int = 0
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    # After a rotation: until then, deliveries carry a signature with the old secret too.
    previous_secret_until: datetime | None = None

    model_config = {"populate_by_name": True}


class UnknownEndpoint(LookupError):
    """No such endpoint (or not the asking partner's)."""


class UnknownDelivery(LookupError):
    """No such delivery."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a delivery is tried, and when an endpoint is disabled."""

    base_seconds: float
    max_seconds: float
    period: timedelta
    disable_after: int


def generate_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` + base64 of 32 bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def check_endpoint_url(url: str, *, allow_loopback: bool) -> None:
    """Refuse a URL of the wrong form or whose host resolves where webhooks may not go."""
    host = check_url(url, allow_loopback=allow_loopback)
    try:
        refused = await refused_addresses(host, 443, allow_loopback=allow_loopback)
    except OSError:
        raise WebhookRefused(f"The host {host} cannot be resolved.") from None
    if refused:
        raise WebhookRefused(
            f"The host {host} resolves to {', '.join(refused)}: webhooks go only to public "
            "addresses."
        )


async def create_endpoint(
    db: Database,
    *,
    partner_id: str,
    url: str,
    events: list[str],
    now: datetime,
    allow_loopback: bool,
    box: SecretBox,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret (the only time the secret is shown;
    it is stored sealed with ``box``)."""
    patterns = check_patterns(events)
    await check_endpoint_url(url, allow_loopback=allow_loopback)
    if await db[ENDPOINTS].count_documents({"partner_id": partner_id}) >= MAX_ENDPOINTS_PER_PARTNER:
        raise WebhookRefused(f"At most {MAX_ENDPOINTS_PER_PARTNER} endpoints per partner.")
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        _id=new_id("whk"),
        partner_id=partner_id,
        url=url,
        events=patterns,
        status="active",
        created_at=now,
    )
    sealed = box.seal(secret)
    await db[ENDPOINTS].insert_one({**endpoint.model_dump(by_alias=True), SEALED: sealed})
    return endpoint, secret


async def list_endpoints(db: Database, *, partner_id: str | None = None) -> list[WebhookEndpoint]:
    """The endpoints of one partner, or every endpoint; oldest first."""
    query = {"partner_id": partner_id} if partner_id else {}
    documents = await db[ENDPOINTS].find(query, HIDDEN).sort("created_at", 1).to_list()
    return [WebhookEndpoint.model_validate(d) for d in documents]


async def delete_endpoint(db: Database, *, endpoint_id: str, partner_id: str | None = None) -> None:
    """Delete an endpoint and its deliveries; raises UnknownEndpoint."""
    query = {"_id": endpoint_id} | ({"partner_id": partner_id} if partner_id else {})
    if (await db[ENDPOINTS].delete_one(query)).deleted_count != 1:
        raise UnknownEndpoint(f"There is no webhook endpoint {endpoint_id}.")
    await db[DELIVERIES].delete_many({"endpoint_id": endpoint_id})


async def remove_partner_endpoints(db: Database, *, partner_id: str) -> int:
    """Delete every endpoint of a partner (revoked), with its deliveries."""
    endpoints = await list_endpoints(db, partner_id=partner_id)
    for endpoint in endpoints:
        await delete_endpoint(db, endpoint_id=endpoint.id)
    return len(endpoints)


async def enqueue_deliveries(
    db: Database, *, partner_id: str, event: dict[str, Any], now: datetime, period: timedelta
) -> int:
    """One delivery of ``event`` per endpoint of the partner that wants it; ``held`` for a
    disabled endpoint, so that enabling it again within the retry period sends it.

    Idempotent: the delivery id is endpoint and event, so a redelivered message adds none.
    """
    found = db[ENDPOINTS].find({"partner_id": partner_id}, {"events": 1, "status": 1})
    endpoints = await found.to_list()
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    deliveries = [
        {
            "_id": f"{endpoint['_id']}:{event['id']}",
            "endpoint_id": endpoint["_id"],
            "partner_id": partner_id,
            "event_id": event["id"],
            "event_type": event["type"],
            "body": body,  # signed as stored: the same bytes on every attempt
            "status": "pending" if endpoint["status"] == "active" else "held",
            "next_attempt_at": now,
            "expires_at": now + period,
            "attempt_count": 0,
            "attempts": [],
            "created_at": now,
            "updated_at": now,
            "claimed_by": None,
        }
        for endpoint in endpoints
        if event_matches(endpoint.get("events") or [], event["type"])
    ]
    if not deliveries:
        return 0
    try:
        await db[DELIVERIES].insert_many(deliveries, ordered=False)
    except BulkWriteError as exc:  # already there (a redelivered message): fine
        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
            raise
        return len(deliveries) - len(exc.details.get("writeErrors", []))
    return len(deliveries)


async def claim_due(
    db: Database, *, now: datetime, lease: timedelta, worker: str, skip: set[str]
) -> dict[str, Any] | None:
    """Claim one due delivery, earliest first, of an endpoint not in ``skip``; or None.

    A read of candidates, then an update conditional on what was read: of two workers
    racing for one delivery only one matches. A claim whose lease ended (its worker died) is
    due again.
    """
    deliveries = db[DELIVERIES]
    busy = {"endpoint_id": {"$nin": sorted(skip)}}
    for query in (
        {"status": "pending", "next_attempt_at": {"$lte": now}, **busy},
        {"status": "claimed", "lease_until": {"$lte": now}, **busy},
    ):
        candidates = (
            await deliveries.find(query).sort("next_attempt_at", 1).limit(CANDIDATES).to_list()
        )
        for candidate in candidates:
            claim = {
                "status": "claimed",
                "claimed_by": f"{worker}:{uuid.uuid4().hex}",
                "lease_until": now + lease,
            }
            result = await deliveries.update_one(
                {
                    "_id": candidate["_id"],
                    "status": candidate["status"],
                    "claimed_by": candidate.get("claimed_by"),
                },
                {"$set": claim},
            )
            if result.modified_count == 1:
                return {**candidate, **claim}
    return None


async def endpoint_secret(db: Database, endpoint_id: str) -> dict[str, Any] | None:
    """The stored endpoint, secret included, for signing; None if it was deleted."""
    found: dict[str, Any] | None = await db[ENDPOINTS].find_one({"_id": endpoint_id})
    return found


async def record_attempt(
    db: Database,
    delivery: dict[str, Any],
    outcome: AttemptOutcome,
    *,
    now: datetime,
    policy: RetryPolicy,
) -> DeliveryStatus:
    """Record one attempt of a claimed delivery and decide what comes next; the new status.

    Writes nothing if the claim was lost meanwhile (another worker took the delivery over).
    """
    attempt = {
        "at": now,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "excerpt": outcome.excerpt,
        "duration_ms": outcome.duration_ms,
    }
    count = int(delivery.get("attempt_count", 0)) + 1
    fields: dict[str, Any] = {
        "attempt_count": count,
        "attempts": [*delivery.get("attempts", []), attempt][-KEPT_ATTEMPTS:],
        "last_attempt_at": now,
        "updated_at": now,
        "claimed_by": None,
        "lease_until": None,
        "manual": False,
    }
    endpoint_id = delivery["endpoint_id"]
    status: DeliveryStatus
    if outcome.succeeded:
        status = "delivered"
        fields["delivered_at"] = now
    else:
        status = await _after_failure(db, delivery, outcome, count, now=now, policy=policy)
        if status == "pending":
            fields["next_attempt_at"] = now + retry_delay(
                count, base_seconds=policy.base_seconds, max_seconds=policy.max_seconds
            )
            if fields["next_attempt_at"] > delivery["expires_at"]:
                status = "failed"
    result = await db[DELIVERIES].update_one(
        {"_id": delivery["_id"], "status": "claimed", "claimed_by": delivery["claimed_by"]},
        {"$set": {**fields, "status": status}},
    )
    if result.matched_count == 1 and outcome.succeeded:
        await _after_success(db, endpoint_id, now=now)
    return status


async def _after_failure(
    db: Database,
    delivery: dict[str, Any],
    outcome: AttemptOutcome,
    count: int,
    *,
    now: datetime,
    policy: RetryPolicy,
) -> DeliveryStatus:
    endpoints = db[ENDPOINTS]
    endpoint = await endpoints.find_one_and_update(
        {"_id": delivery["endpoint_id"]},
        {
            "$inc": {"consecutive_failures": 1},
            "$set": {"last_failure_at": now, "last_error": outcome.error},
        },
        return_document=ReturnDocument.AFTER,
    )
    if endpoint is None:
        return "failed"  # deleted meanwhile; its deliveries go with it
    if endpoint["status"] == "disabled":
        return "held"
    if endpoint["consecutive_failures"] < policy.disable_after:
        return "pending"
    reason = (
        f"disabled after {endpoint['consecutive_failures']} consecutive failed deliveries; "
        f"the last, at {now.isoformat()}: {outcome.error}"
    )
    disabled = await endpoints.update_one(
        {"_id": endpoint["_id"], "status": "active"},
        {"$set": {"status": "disabled", "disabled_at": now, "disabled_reason": reason}},
    )
    if disabled.modified_count == 1:
        await db[DELIVERIES].update_many(
            {"endpoint_id": endpoint["_id"], "status": "pending"},
            {"$set": {"status": "held", "updated_at": now}},
        )
    return "held"


async def _after_success(db: Database, endpoint_id: str, *, now: datetime) -> None:
    """Reset the failure count; a disabled endpoint that answered is enabled again."""
    before = await db[ENDPOINTS].find_one_and_update(
        {"_id": endpoint_id},
        {
            "$set": {
                "consecutive_failures": 0,
                "last_success_at": now,
                "status": "active",
                "disabled_at": None,
                "disabled_reason": None,
            }
        },
    )
    if before is not None and before["status"] == "disabled":
        await release_held(db, endpoint_id, now=now)


async def release_held(db: Database, endpoint_id: str, *, now: datetime) -> None:
    """Deliveries held while the endpoint was disabled: due now, or failed if too old."""
    deliveries = db[DELIVERIES]
    await deliveries.update_many(
        {"endpoint_id": endpoint_id, "status": "held", "expires_at": {"$gt": now}},
        {"$set": {"status": "pending", "next_attempt_at": now, "updated_at": now}},
    )
    await deliveries.update_many(
        {"endpoint_id": endpoint_id, "status": "held"},
        {"$set": {"status": "failed", "updated_at": now}},
    )


async def hold_for_disabled(db: Database, delivery: dict[str, Any], *, now: datetime) -> None:
    """A claimed delivery of a disabled endpoint waits, unsent, until it is enabled."""
    await db[DELIVERIES].update_one(
        {"_id": delivery["_id"], "status": "claimed", "claimed_by": delivery["claimed_by"]},
        {"$set": {"status": "held", "claimed_by": None, "lease_until": None, "updated_at": now}},
    )


async def drop_orphan(db: Database, delivery: dict[str, Any]) -> None:
    """A delivery whose endpoint was deleted goes too."""
    await db[DELIVERIES].delete_one({"_id": delivery["_id"], "claimed_by": delivery["claimed_by"]})


async def redeliver(
    db: Database, *, delivery_id: str, now: datetime, period: timedelta, actor: str
) -> dict[str, Any]:
    """Ops send one delivery again now, whatever its state, even to a disabled endpoint
    (a success enables the endpoint again). Same ``webhook-id``; a fresh retry period."""
    found = await db[DELIVERIES].find_one_and_update(
        {"_id": delivery_id, "status": {"$ne": "claimed"}},
        {
            "$set": {
                "status": "pending",
                "next_attempt_at": now,
                "expires_at": now + period,
                "manual": True,
                "redelivered_by": actor,
                "redelivered_at": now,
                "updated_at": now,
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    if found is None:
        if await db[DELIVERIES].count_documents({"_id": delivery_id}):
            raise UnknownDelivery(f"Delivery {delivery_id} is being sent right now.")
        raise UnknownDelivery(f"There is no delivery {delivery_id}.")
    return dict(found)


async def recent_deliveries(
    db: Database, *, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The most recently changed deliveries, optionally of one status, without their body."""
    query = {"status": status} if status else {}
    cursor = db[DELIVERIES].find(query, {"body": 0}).sort("updated_at", -1).limit(limit)
    return list(await cursor.to_list())
