"""Webhook rules with no I/O: which events an endpoint wants, which URLs and addresses it
may use, and when a failed delivery is tried again.

Deliveries follow the Standard Webhooks specification; the signing itself is done with the
``standardwebhooks`` package where the request is sent (``shared.infra.webhook_http``).
"""

from __future__ import annotations

import ipaddress
import random
import re
from datetime import timedelta
from urllib.parse import urlsplit

# A pattern is an event type, or one with ``*`` standing for exactly one word
# (``deadline.*``), as in the AMQP topic bindings of the partner events queue.
_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*)(\.(\*|[a-z][a-z0-9_]*))*$")
MAX_PATTERNS = 20
LOOPBACK_NAMES = ("localhost",)


class WebhookRefused(ValueError):
    """An endpoint cannot be registered as asked; the message says what to change."""


def check_patterns(patterns: list[str]) -> list[str]:
    """The event type patterns, without repeats; raises WebhookRefused on a malformed one."""
    if len(patterns) > MAX_PATTERNS:
        raise WebhookRefused(f"At most {MAX_PATTERNS} event type patterns per endpoint.")
    for pattern in patterns:
        if not _PATTERN.match(pattern):
            raise WebhookRefused(
                f"Event type pattern {pattern!r} is malformed: use an event type such as "
                "'application.validated', or '*' for one word, as in 'deadline.*'."
            )
    return list(dict.fromkeys(patterns))


def event_matches(patterns: list[str], event_type: str) -> bool:
    """Whether ``event_type`` is wanted; no patterns at all means every event."""
    if not patterns:
        return True
    words = event_type.split(".")
    for pattern in patterns:
        parts = pattern.split(".")
        if len(parts) == len(words) and all(
            p in ("*", w) for p, w in zip(parts, words, strict=True)
        ):
            return True
    return False


def check_url(url: str, *, allow_loopback: bool) -> str:
    """The host of an acceptable endpoint URL; raises WebhookRefused otherwise.

    ``https://`` only; ``http://`` only to a loopback host and only when loopback is allowed
    (a developer machine, the tests). Where the host's addresses point is checked when it is
    resolved (``address_allowed``), at registration and again at every connection.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise WebhookRefused("The URL must be an absolute https:// URL.")
    if parts.username or parts.password:
        raise WebhookRefused("The URL must not carry credentials; verify the signature instead.")
    if parts.fragment:
        raise WebhookRefused("The URL must not carry a fragment.")
    try:
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise WebhookRefused("The URL's port is not a number from 0 to 65535.") from None
    if parts.scheme == "http" and not (allow_loopback and is_loopback_host(host)):
        raise WebhookRefused("The URL must use https://.")
    return host


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Whether a webhook may connect to ``address``: a public one, or loopback if allowed.

    Private, link-local, shared, reserved and multicast addresses are never reached: a
    partner must not make regwatch send requests into the operator's network.
    """
    ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def retry_delay(
    attempt: int, *, base_seconds: float, max_seconds: float, rng: random.Random | None = None
) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, ...): doubling from
    ``base_seconds`` up to ``max_seconds``, with jitter (half to all of it) so that the
    deliveries of one outage do not all come back at the same instant."""
    ceiling = min(max_seconds, base_seconds * 2 ** min(attempt - 1, 32))
    return timedelta(seconds=ceiling * (rng or random).uniform(0.5, 1.0))
