"""A lean HTTP/1.1 load generator: keep-alive connections, requests encoded beforehand.

The AMQP side of the benchmark publishes messages built beforehand with aio-pika, about
1 ms of the benchmark process's CPU per document. httpx spent 8 ms per 100 KiB multipart
upload with 32 in flight (encoding the form, its connection pool): on a 2-core machine
the load generator then takes the CPU the service under test needs, and the HTTP figures
measure the client. Here each upload is one prepared byte string written to a pooled
connection, and the answer is read by its Content-Length.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit


def multipart(
    fields: dict[str, str], *, name: str, filename: str, content_type: str, body: bytes
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with ``fields`` and one file; returns (bytes, header)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
    ).encode()
    closing = f"\r\n--{boundary}--\r\n".encode()
    return b"".join([*parts, head, body, closing]), f"multipart/form-data; boundary={boundary}"


class LeanClient:
    """POSTs over ``connections`` keep-alive connections to one server."""

    def __init__(self, base_url: str, headers: dict[str, str], connections: int) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.size = connections
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.opened: list[asyncio.StreamWriter] = []

    def request(self, path: str, body: bytes, content_type: str) -> bytes:
        """The bytes of one POST, to send with ``send``."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.headers}"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send a prepared request; returns the status code and the body of the answer."""
        if self.idle.empty() and len(self.opened) < self.size:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.opened.append(writer)
        else:
            reader, writer = await self.idle.get()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-length":
                length = int(value)
            elif key.strip().lower() == "transfer-encoding":
                raise RuntimeError(f"unexpected Transfer-Encoding: {value.strip()}")
        answer = await reader.readexactly(length)
        self.idle.put_nowait((reader, writer))
        return status, answer


@asynccontextmanager
async def lean_client(
    base_url: str, headers: dict[str, str], connections: int
) -> AsyncIterator[LeanClient]:
    client = LeanClient(base_url, headers, connections)
    try:
        yield client
    finally:
        for writer in client.opened:
            writer.close()
