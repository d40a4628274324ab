"""Serving HTTP inside a service whose stop is driven by the runtime's signal handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn


class Server(uvicorn.Server):
    """uvicorn's server without its own SIGTERM/SIGINT handlers.

    uvicorn would take the signal for itself and raise it again once it has stopped, which
    then cancels the service in the middle of its cleanup.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield


async def serve_until_cancelled(server: uvicorn.Server) -> None:
    """Serve; when cancelled, let uvicorn finish open requests and close, then re-raise."""
    serving = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise
