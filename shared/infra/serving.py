"""Serving HTTP inside a service whose stop is driven by the runtime's signal handlers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn

from shared.infra.runtime import StartupError


class Server(uvicorn.Server):
    """uvicorn's server without its own SIGTERM/SIGINT handlers.

    uvicorn would take the signal for itself and raise it again once it has stopped, which
    then cancels the service in the middle of its cleanup.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield


def listen(host: str, port: int, variable: str) -> socket.socket:
    """The bound listening socket, or a ``StartupError`` naming the setting that moves it.

    Bound before the service says it is ready; uvicorn would exit from inside a task.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(
            f"cannot listen on {host}:{port} ({exc.strerror}): "
            f"stop the program that holds it or set {variable} to a free port"
        ) from None
    return sock


async def serve_until_cancelled(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve on ``sock``; when cancelled, let uvicorn finish open requests and close, then
    re-raise."""
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise
