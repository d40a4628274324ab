"""A loopback TCP forwarder that stands for one broker node: closing it drops every
connection through it and refuses new ones, as a node that went away does."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self


class NodeProxy:
    """Forwards ``127.0.0.1:<port>`` to ``host:target_port`` until ``go_away``."""

    def __init__(self, host: str, target_port: int) -> None:
        self.host = host
        self.target_port = target_port
        self.port = 0
        self.accepted = 0  # connections taken so far
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.go_away()

    @property
    def open_connections(self) -> int:
        return len(self._writers) // 2

    async def go_away(self) -> None:
        """Stop listening and reset every connection through this node."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.transport.abort()  # a reset, not a goodbye: no AMQP close frames
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        self._writers.clear()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client.transport.abort()
            return
        self.accepted += 1
        self._writers |= {client, upstream}
        pipes = [
            asyncio.create_task(self._pipe(client_reader, upstream)),
            asyncio.create_task(self._pipe(upstream_reader, client)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            self._writers -= {client, upstream}
            for writer in (client, upstream):
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        # One side closed: close the other so neither end waits on a half-open pipe.
        writer.transport.abort()
