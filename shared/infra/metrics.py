"""Prometheus metrics: request metrics for HTTP apps, message metrics for the broker, an
exporter for processes without HTTP.

The consumers' message metrics are FastStream's (``faststream_received_messages_total`` and
the rest, see ``MessageMetrics``); everything lands in prometheus_client's default registry,
so one ``/metrics`` per process shows it all.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aio_pika import IncomingMessage
from fastapi import FastAPI, Request, Response
from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from faststream.exceptions import IgnoredException
from faststream.message import SourceType, StreamMessage
from faststream.prometheus.consts import (
    PROCESSING_STATUS_BY_ACK_STATUS,
    PROCESSING_STATUS_BY_HANDLER_EXCEPTION_MAP,
)
from faststream.prometheus.container import MetricsContainer
from faststream.prometheus.types import ProcessingStatus, PublishingStatus
from faststream.rabbit.response import RabbitPublishCommand
from faststream.response import PublishType
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


class MessageMetrics:
    """FastStream's message metrics, as its ``RabbitPrometheusMiddleware`` keeps them (the same
    names, labels, buckets and statuses), for a fraction of its CPU per message.

    FastStream's middleware builds a settings provider and a label dict for every message and
    looks each of its six metrics up by keyword labels; here the labelled metrics of each
    handler (``<exchange>.<routing key>``) and publish destination are looked up once and
    kept, and a message costs its increments and observations.
    """

    def __init__(self, *, registry: Any, app_name: str) -> None:
        self.metrics = MetricsContainer(registry, custom_label_names=())
        self.app_name = app_name
        self._consumers: dict[tuple[str | None, str], _Consumed] = {}
        self._destinations: dict[str, _Published] = {}

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> _Measured:
        return _Measured(msg, context=context, metrics=self)

    def consumed(self, exchange: str | None, routing_key: str) -> _Consumed:
        found = self._consumers.get((exchange, routing_key))
        if found is None:
            found = self._consumers[(exchange, routing_key)] = _Consumed(
                self, f"{exchange or 'default'}.{routing_key}"
            )
        return found

    def published(self, destination: str) -> _Published:
        found = self._destinations.get(destination)
        if found is None:
            found = self._destinations[destination] = _Published(self, destination)
        return found


class _Consumed:
    """The labelled metrics of one handler."""

    def __init__(self, owner: MessageMetrics, handler: str) -> None:
        metrics, labels = owner.metrics, (owner.app_name, "rabbitmq", handler)
        self.labels = labels
        self.owner = owner
        self.received = metrics.received_messages_total.labels(*labels)
        self.size = metrics.received_messages_size_bytes.labels(*labels)
        self.in_process = metrics.received_messages_in_process.labels(*labels)
        self.duration = metrics.received_processed_messages_duration_seconds.labels(*labels)
        self._processed: dict[ProcessingStatus, Any] = {}

    def processed(self, status: ProcessingStatus) -> Any:
        found = self._processed.get(status)
        if found is None:
            found = self._processed[status] = (
                self.owner.metrics.received_processed_messages_total.labels(
                    *self.labels, status.value
                )
            )
        return found

    def failed(self, exception_type: str) -> Any:
        return self.owner.metrics.received_processed_messages_exceptions_total.labels(
            *self.labels, exception_type
        )


class _Published:
    """The labelled metrics of one publish destination."""

    def __init__(self, owner: MessageMetrics, destination: str) -> None:
        metrics, labels = owner.metrics, (owner.app_name, "rabbitmq", destination)
        self.labels = labels
        self.owner = owner
        self.duration = metrics.published_messages_duration_seconds.labels(*labels)
        self.success = metrics.published_messages_total.labels(
            *labels, PublishingStatus.success.value
        )

    def error(self) -> Any:
        # Looked up when needed, as FastStream does: no error series until an error.
        return self.owner.metrics.published_messages_total.labels(
            *self.labels, PublishingStatus.error.value
        )

    def failed(self, exception_type: str) -> Any:
        return self.owner.metrics.published_messages_exceptions_total.labels(
            *self.labels, exception_type
        )


class _Measured(BaseMiddleware[RabbitPublishCommand, Any]):
    """One message (or one publish) measured."""

    __slots__ = ("metrics",)

    def __init__(self, msg: Any, /, *, context: ContextRepo, metrics: MessageMetrics) -> None:
        super().__init__(msg, context=context)
        self.metrics = metrics

    async def consume_scope(
        self,
        call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
        msg: StreamMessage[IncomingMessage],
    ) -> Any:
        if msg.source_type is SourceType.RESPONSE:
            return await call_next(msg)
        raw = msg.raw_message
        consumed = self.metrics.consumed(raw.exchange, raw.routing_key or "")
        consumed.received.inc()
        consumed.size.observe(len(msg.body))
        consumed.in_process.inc()
        error: Exception | None = None
        started = time.perf_counter()
        try:
            return await call_next(msg)
        except Exception as exc:
            error = exc
            if not isinstance(exc, IgnoredException):
                consumed.failed(type(exc).__name__).inc()
            raise
        finally:
            consumed.duration.observe(time.perf_counter() - started)
            consumed.in_process.dec()
            status = ProcessingStatus.acked
            if msg.committed or error:
                status = (
                    PROCESSING_STATUS_BY_ACK_STATUS.get(msg.committed)  # type: ignore[arg-type]
                    or PROCESSING_STATUS_BY_HANDLER_EXCEPTION_MAP.get(type(error))
                    or ProcessingStatus.error
                )
            consumed.processed(status).inc()

    async def publish_scope(
        self,
        call_next: Callable[[RabbitPublishCommand], Awaitable[Any]],
        cmd: RabbitPublishCommand,
    ) -> Any:
        if cmd.publish_type is PublishType.REPLY:
            return await call_next(cmd)
        published = self.metrics.published(f"{cmd.exchange.name or 'default'}.{cmd.destination}")
        failed = False
        started = time.perf_counter()
        try:
            return await call_next(cmd)
        except Exception as exc:
            failed = True
            published.failed(type(exc).__name__).inc()
            raise
        finally:
            published.duration.observe(time.perf_counter() - started)
            (published.error() if failed else published.success).inc(len(cmd.batch_bodies))


def start_exporter(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` on ``port`` from a background thread (0 = off)."""
    if port:
        start_http_server(port, addr=host)
