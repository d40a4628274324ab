"""Prometheus metrics: request metrics for HTTP apps, an exporter for processes without HTTP.

The consumers' message metrics come from FastStream's ``RabbitPrometheusMiddleware``
(see ``shared.infra.broker``); everything lands in prometheus_client's default registry, so one
``/metrics`` per process shows it all.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "regwatch_http_requests_total",
    "HTTP requests by service, method, route template and status code",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "regwatch_http_request_duration_seconds",
    "HTTP request duration by service, method and route template",
    ["service", "method", "route"],
)


class RequestMetrics:
    """Counts and times every request, labelled by route template (not raw path).

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` runs every request in a
    task group of its own and relays the request body through it, which costs more CPU
    than the measuring (an upload's body passes through in many pieces).
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self._service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # Unmatched paths share one label so that scanners cannot blow up cardinality.
            template = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(self._service, method, template, str(status)).inc()
            HTTP_LATENCY.labels(self._service, method, template).observe(
                time.perf_counter() - started
            )


def instrument_http(
    app: FastAPI,
    service: str,
    *,
    access: str = "open",
    is_ops: Callable[[Request], Awaitable[bool]] | None = None,
) -> None:
    """Add request metrics to ``app`` and serve the process's metrics at ``/metrics``.

    ``access`` (``METRICS_ACCESS``): "open", "login" (only requests ``is_ops`` accepts) or
    "off" (no route; ``METRICS_PORT`` serves them on a listener of its own).
    """
    app.add_middleware(RequestMetrics, service=service)
    if access == "off":
        return

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        # Route names, queue depths and error rates tell an attacker where to push.
        if access != "open" and (is_ops is None or not await is_ops(request)):
            return Response("Metrics are for ops: send the ops token.", status_code=401)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def start_exporter(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` on ``port`` from a background thread (0 = off)."""
    if port:
        start_http_server(port, addr=host)
