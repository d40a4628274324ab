"""Webhook signing secrets: sealed at rest, rotated with a grace period.

A rotation gives the endpoint a new secret (shown once) and keeps the old one for the
grace period: meanwhile every delivery carries two signatures in ``webhook-signature``
(Standard Webhooks allows several, space-separated), so a receiver still holding the old
secret verifies, and one that switched verifies too. Secrets stored in plain text before
sealing existed are sealed at the webhooks service's start (and on the endpoint's next
rotation); those sealed with an older key are sealed again with the first key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from shared.app.webhooks import (
    ENDPOINTS,
    HIDDEN,
    PLAIN,
    PREVIOUS_SEALED,
    SEALED,
    UnknownEndpoint,
    WebhookEndpoint,
    generate_secret,
)
from shared.infra.mongo_types import Database
from shared.infra.secret_box import SecretBox


class RotationRaced(UnknownEndpoint):
    """The endpoint changed (another rotation) between reading and rotating: try again."""


def current_secret(endpoint: dict[str, Any], box: SecretBox) -> str:
    """The endpoint's secret (sealed, or plain from before sealing)."""
    if endpoint.get(SEALED):
        return box.open(str(endpoint[SEALED]))
    return str(endpoint[PLAIN])


def signing_secrets(endpoint: dict[str, Any], box: SecretBox, *, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one
    while the grace period of a rotation lasts."""
    secrets = [current_secret(endpoint, box)]
    until = endpoint.get("previous_secret_until")
    if endpoint.get(PREVIOUS_SEALED) and until is not None and until > now:
        secrets.append(box.open(str(endpoint[PREVIOUS_SEALED])))
    return secrets


async def rotate_secret(
    db: Database,
    *,
    endpoint_id: str,
    box: SecretBox,
    now: datetime,
    grace: timedelta,
    partner_id: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new secret (returned: the only time it is shown); the current
    one signs too until ``now + grace``. Raises UnknownEndpoint."""
    query = {"_id": endpoint_id} | ({"partner_id": partner_id} if partner_id else {})
    found = await db[ENDPOINTS].find_one(query)
    if found is None:
        raise UnknownEndpoint(f"There is no webhook endpoint {endpoint_id}.")
    secret = generate_secret()
    previous = box.seal(current_secret(found, box))
    # Conditional on what was read: of two rotations at once, one wins, the other retries.
    condition: dict[str, Any] = {"_id": endpoint_id}
    for field in (SEALED, PLAIN):
        condition[field] = found[field] if found.get(field) else {"$exists": False}
    updated = await db[ENDPOINTS].find_one_and_update(
        condition,
        {
            "$set": {
                SEALED: box.seal(secret),
                PREVIOUS_SEALED: previous,
                "previous_secret_until": now + grace,
                "secret_rotated_at": now,
            },
            "$unset": {PLAIN: ""},
        },
        projection=HIDDEN,
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise RotationRaced(
            f"Webhook endpoint {endpoint_id} changed while rotating its secret: try again."
        )
    return WebhookEndpoint.model_validate(updated), secret


async def seal_stored_secrets(db: Database, box: SecretBox) -> int:
    """Seal the secrets still stored in plain text, and seal again with the first key those
    sealed with another; how many endpoints changed. Idempotent, safe with several
    replicas (each update is conditional on the value it replaces)."""
    changed = 0
    async for endpoint in db[ENDPOINTS].find({}):
        updates: dict[str, str] = {}
        for field in (SEALED, PREVIOUS_SEALED):
            sealed = endpoint.get(field)
            if sealed and not box.is_current(sealed):
                updates[field] = box.seal(box.open(sealed))
        condition: dict[str, Any] = {"_id": endpoint["_id"]}
        change: dict[str, Any] = {}
        if endpoint.get(PLAIN) is not None and not endpoint.get(SEALED):
            updates[SEALED] = box.seal(str(endpoint[PLAIN]))
            condition[PLAIN] = endpoint[PLAIN]
            change["$unset"] = {PLAIN: ""}
        if not updates:
            continue
        for field in (SEALED, PREVIOUS_SEALED):
            if field in updates and endpoint.get(field):
                condition[field] = endpoint[field]
        change["$set"] = updates
        result = await db[ENDPOINTS].update_one(condition, change)
        changed += result.modified_count
    return changed
