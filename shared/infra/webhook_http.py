"""Sending one signed webhook request, and only where a webhook may go.

The host is resolved when the connection is opened and every address it resolves to is
checked (``shared.domain.webhooks.address_allowed``), so a name that resolved to a public
address at registration cannot later point regwatch at the operator's network (DNS
rebinding): the connection is made to the address that was checked.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
from standardwebhooks import Webhook

from shared.domain.webhooks import address_allowed

EXCERPT_BYTES = 256  # of a response body: enough to see an error, never the whole body
USER_AGENT = "regwatch-webhooks/1"


class AddressRefused(httpcore.ConnectError):
    """The host resolves to an address a webhook may not reach."""


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for TCP."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def refused_addresses(host: str, port: int, *, allow_loopback: bool) -> list[str]:
    """The addresses of ``host`` a webhook may not reach (each one it resolves to must be)."""
    addresses = await resolve(host, port)
    return [a for a in addresses if not address_allowed(a, allow_loopback=allow_loopback)]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to allowed addresses, resolved here and checked."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_loopback = allow_loopback

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(resolve(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        refused = [
            a for a in addresses if not address_allowed(a, allow_loopback=self._allow_loopback)
        ]
        if refused or not addresses:
            raise AddressRefused(f"{host} resolves to {', '.join(refused)}: not a public address")
        failure: Exception | None = None
        for address in addresses:  # as a browser would: the next address if one is down
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("webhooks never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over ``GuardedBackend``.

    httpx has no option for the network backend; its connection pool (httpcore's public
    API) has, so the pool is replaced right after httpx built it. No proxy from the
    environment either: the checked address must be the one connected to.
    """

    def __init__(self, *, allow_loopback: bool) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            network_backend=GuardedBackend(allow_loopback=allow_loopback),
        )


def webhook_client(
    *, allow_loopback: bool, connect_seconds: float, read_seconds: float
) -> httpx.AsyncClient:
    """The client every delivery goes through: guarded, bounded, never following redirects."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_loopback=allow_loopback),
        timeout=httpx.Timeout(read_seconds, connect=connect_seconds),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


@dataclass(frozen=True)
class AttemptOutcome:
    """What one request did: the status (None if none came back), an error, an excerpt."""

    status_code: int | None
    error: str | None
    excerpt: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(
    secrets: list[str], *, webhook_id: str, body: str, at: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed with each of the endpoint's
    secrets (two while a rotation's grace period lasts), space-separated."""
    signature = " ".join(
        Webhook(secret).sign(msg_id=webhook_id, timestamp=at.astimezone(UTC), data=body)
        for secret in secrets
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


async def send_webhook(
    client: httpx.AsyncClient,
    *,
    url: str,
    secrets: list[str],
    webhook_id: str,
    body: str,
    content_type: str,
    total_seconds: float,
) -> AttemptOutcome:
    """POST ``body`` signed; never raises for what the endpoint or the network does.

    The timestamp is the wall clock, not regwatch's clock: receivers check it against theirs.
    """
    headers = signed_headers(secrets, webhook_id=webhook_id, body=body, at=datetime.now(UTC))
    started = time.monotonic()
    status_code, error, excerpt = None, None, b""
    try:
        async with asyncio.timeout(total_seconds):
            request = client.stream(
                "POST",
                url,
                content=body.encode(),
                headers={**headers, "Content-Type": content_type},
            )
            async with request as response:
                status_code = response.status_code
                async for chunk in response.aiter_raw():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
    except TimeoutError:
        if status_code is None:  # a status line came: the excerpt is what was read by then
            error = f"no answer within {total_seconds:g} s"
    except httpx.TimeoutException as exc:
        error = f"timed out ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    if status_code is not None and error is None and not 200 <= status_code < 300:
        error = f"answered {status_code}"
    return AttemptOutcome(
        status_code=status_code,
        error=error,
        excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace"),
        duration_ms=int((time.monotonic() - started) * 1000),
    )
