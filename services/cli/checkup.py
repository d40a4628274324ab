"""The checks of ``regwatch doctor``: each answers one question about the setup, with the fix.

A check never raises: whatever goes wrong becomes a finding. ``fail`` is something that
stops regwatch working; ``warn`` is worth a look but regwatch runs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import aio_pika
import aiosmtplib
from aio_pika.exceptions import ChannelClosed, ProbableAuthenticationError
from pymongo.errors import PyMongoError

from shared.domain.catalog import CatalogError, load_catalog
from shared.infra import db as mongo
from shared.infra.runtime import redact
from shared.infra.settings import Settings
from shared.infra.topology import (
    DEAD_LETTER_QUEUE_NAME,
    INTAKE_APPLICATIONS,
    INTAKE_DOCUMENTS,
    NOTIFIER_EVENTS,
    READER_DOCUMENTS,
    VALIDATOR_EVENTS,
)

Verdict = Literal["ok", "warn", "fail"]
TIMEOUT = 5.0
START_SERVERS = "start the local servers with `make infra-up`, or correct"
# Which service consumes each queue: the fix for a queue nobody reads.
CONSUMERS = {
    INTAKE_DOCUMENTS.name: "intake",
    INTAKE_APPLICATIONS.name: "intake",
    VALIDATOR_EVENTS.name: "validator",
    NOTIFIER_EVENTS.name: "notifier",
    READER_DOCUMENTS.name: "reader",
}


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: Verdict
    detail: str
    fix: str = ""


def _first_line(exc: BaseException) -> str:
    """The gist of a driver's error: its first clause, without the timeouts it lists."""
    text = str(exc).split("\n")[0].split(" (configured timeouts")[0]
    if "[Errno 111]" in text or "Connection refused" in text:
        return "connection refused"
    return (text[:80] or type(exc).__name__).strip()


def _vhost_and_user(amqp_url: str) -> tuple[str, str]:
    parts = urlsplit(amqp_url)
    return unquote(parts.path[1:]) or "/", unquote(parts.username or "guest")


def management_get(settings: Settings, path: str) -> Any:
    """GET ``/api/<path>`` of the RabbitMQ management API, parsed."""
    request = urllib.request.Request(f"{settings.rabbitmq_management_url}/api/{path}")
    pair = f"{settings.rabbitmq_management_user}:{settings.rabbitmq_management_password}"
    request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read())


async def check_broker(settings: Settings) -> list[Finding]:
    url = redact(settings.amqp_url)
    try:
        connection = await asyncio.wait_for(aio_pika.connect(settings.amqp_url), TIMEOUT)
    except ProbableAuthenticationError:
        return [
            Finding(
                "broker",
                "fail",
                f"RabbitMQ at {url} refused the user or password",
                "correct the user and password in AMQP_URL",
            )
        ]
    except Exception as exc:
        return [
            Finding(
                "broker",
                "fail",
                f"cannot reach RabbitMQ at {url}: {_first_line(exc)}",
                f"{START_SERVERS} AMQP_URL",
            )
        ]
    await connection.close()
    found = [Finding("broker", "ok", f"RabbitMQ at {url} answers")]
    vhost, user = _vhost_and_user(settings.amqp_url)
    try:
        granted = await asyncio.to_thread(
            management_get, settings, f"permissions/{quote(vhost, safe='')}/{quote(user)}"
        )
    except Exception:  # the management check says why
        return found
    narrow = [k for k in ("configure", "write", "read") if granted.get(k) != ".*"]
    if narrow:
        rights = ", ".join(f"{k} {granted.get(k)!r}" for k in narrow)
        found.append(
            Finding(
                "permissions",
                "warn",
                f"user {user} on vhost {vhost} has only {rights}",
                f"grant '.*' with `rabbitmqctl set_permissions -p {vhost} {user} '.*' '.*' '.*'`",
            )
        )
    else:
        found.append(Finding("permissions", "ok", f"user {user} may configure, write and read"))
    return found


async def check_management(settings: Settings) -> list[Finding]:
    where = settings.rabbitmq_management_url
    try:
        overview = await asyncio.to_thread(management_get, settings, "overview")
    except urllib.error.HTTPError as exc:
        return [
            Finding(
                "management",
                "fail",
                f"management API at {where} answered {exc.code}",
                "set RABBITMQ_MANAGEMENT_USER and RABBITMQ_MANAGEMENT_PASSWORD",
            )
        ]
    except Exception as exc:
        return [
            Finding(
                "management",
                "warn",
                f"no management API at {where}: {_first_line(exc)}",
                "enable the rabbitmq_management plugin or correct "
                "RABBITMQ_MANAGEMENT_URL (the dashboard's queue figures need it)",
            )
        ]
    version = overview.get("rabbitmq_version", "?")
    return [Finding("management", "ok", f"management API at {where} (RabbitMQ {version})")]


async def check_mongodb(settings: Settings) -> list[Finding]:
    url = redact(settings.mongodb_url)
    client = mongo.connect(settings)
    try:
        hello = await client.admin.command("hello")
        build = await client.admin.command("buildInfo")
        found = [_topology(url, hello, build)]
        found.append(await _indexes(mongo.database(client, settings)))
        return found
    except PyMongoError as exc:
        return [
            Finding(
                "mongodb",
                "fail",
                f"cannot reach MongoDB at {url}: {_first_line(exc)}",
                f"{START_SERVERS} MONGODB_URL",
            ),
            Finding(
                "indexes",
                "fail",
                "not checked: MongoDB did not answer",
                "fix the MongoDB check first",
            ),
        ]
    finally:
        await client.close()


def _topology(url: str, hello: dict[str, Any], build: dict[str, Any]) -> Finding:
    if "secantusVersion" in build:
        return Finding("mongodb", "ok", f"{url}: the local stand-in (SecantusDB), transactions")
    if hello.get("setName"):
        return Finding("mongodb", "ok", f"{url}: replica set {hello['setName']}, transactions")
    return Finding(
        "mongodb",
        "fail",
        f"{url}: a standalone server, no transactions",
        "run MongoDB as a replica set (mongod --replSet rs0, then rs.initiate())",
    )


async def _indexes(db: Any) -> Finding:
    missing: list[str] = []
    for collection, wanted in mongo.INDEXES.items():
        present = [
            list(index["key"].items()) async for index in await db[collection].list_indexes()
        ]
        for model in wanted:
            key = list(model.document["key"].items())
            if key not in present:
                missing.append(f"{collection}({', '.join(name for name, _ in key)})")
    if missing:
        return Finding(
            "indexes",
            "fail",
            f"{len(missing)} missing: {', '.join(missing[:4])}"
            + (" ..." if len(missing) > 4 else ""),
            "start any regwatch service once: each creates every index at start",
        )
    total = sum(len(v) for v in mongo.INDEXES.values())
    return Finding("indexes", "ok", f"all {total} indexes in place")


async def check_smtp(settings: Settings) -> list[Finding]:
    where = f"{settings.smtp_host}:{settings.smtp_port} (SMTP_TLS={settings.smtp_tls})"
    smtp = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_tls == "tls",
        start_tls=settings.smtp_tls == "starttls",
        timeout=TIMEOUT,
    )
    try:
        await smtp.connect()
        if settings.smtp_user:
            await smtp.login(settings.smtp_user, settings.smtp_password or "")
        await smtp.quit()
    except aiosmtplib.SMTPAuthenticationError:
        return [
            Finding(
                "smtp",
                "fail",
                f"mail server at {where} refused the login",
                "correct SMTP_USER and SMTP_PASSWORD",
            )
        ]
    except Exception as exc:
        return [
            Finding(
                "smtp",
                "fail",
                f"no mail server at {where}: {_first_line(exc)}",
                f"{START_SERVERS} SMTP_HOST, SMTP_PORT and SMTP_TLS",
            )
        ]
    return [Finding("smtp", "ok", f"mail server at {where} answers")]


async def check_catalog(settings: Settings) -> list[Finding]:
    where = settings.catalog_dir or "the built-in catalog/"
    try:
        catalog = load_catalog(settings.catalog_dir)
    except CatalogError as exc:
        return [
            Finding(
                "catalog",
                "fail",
                f"{where}: {exc}",
                "correct the file it names; `regwatch catalog check` checks again",
            )
        ]
    return [
        Finding(
            "catalog",
            "ok",
            f"{where}: version {catalog.version}, "
            f"{len(catalog.categories)} categories, {len(catalog.document_types)} document types",
        )
    ]


async def check_ports(settings: Settings) -> list[Finding]:
    ports = (
        ("intake", "INTAKE_HTTP_PORT", settings.intake_http_port),
        ("dashboard", "DASHBOARD_PORT", settings.dashboard_port),
    )
    return [await asyncio.to_thread(port_finding, settings.http_host, *port) for port in ports]


def port_finding(host: str, service: str, variable: str, port: int) -> Finding:
    """Free, or answering ``/healthz`` as a regwatch service (the one page open to anyone)."""
    check, where = f"port {service}", f"{host}:{port}"
    try:
        with urllib.request.urlopen(f"http://{where}/healthz", timeout=TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:  # a regwatch service that is up but unwell
        body = exc.read()
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return Finding(check, "ok", f"{where} free (the {service} is not running)")
        body = b""
    except Exception:
        body = b""
    name = _service_name(body)
    if name.startswith("regwatch"):
        return Finding(check, "ok", f"{where} served by regwatch ({name})")
    return Finding(
        check,
        "fail",
        f"{where} is taken by another program",
        f"stop that program or set {variable} to a free port",
    )


def _service_name(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    name = answer.get("service") if isinstance(answer, dict) else None
    return name if isinstance(name, str) else ""


async def check_clock(settings: Settings) -> list[Finding]:
    if settings.regwatch_now is None:
        return [Finding("clock", "ok", "system clock (REGWATCH_NOW not set)")]
    return [
        Finding(
            "clock",
            "warn",
            f"REGWATCH_NOW={settings.regwatch_now.isoformat()}: "
            "deadlines and reminders run at that shifted date",
            "unset REGWATCH_NOW outside demos and tests",
        )
    ]


async def check_queues(settings: Settings) -> list[Finding]:
    try:
        connection = await asyncio.wait_for(aio_pika.connect(settings.amqp_url), TIMEOUT)
    except Exception:
        return [
            Finding(
                "queues",
                "fail",
                "not checked: RabbitMQ did not answer",
                "fix the broker check first",
            )
        ]
    found: list[Finding] = []
    async with connection:
        for name in (*CONSUMERS, DEAD_LETTER_QUEUE_NAME):
            found.append(await _queue(connection, name))
    return found


async def _queue(connection: aio_pika.abc.AbstractConnection, name: str) -> Finding:
    channel = await connection.channel()
    try:
        declared = (await channel.declare_queue(name, passive=True)).declaration_result
    except ChannelClosed:
        return Finding(
            f"queue {CONSUMERS[name]}" if name in CONSUMERS else "dead letters",
            "fail",
            f"{name} not declared",
            "start the services once (`make run`): they declare the topology",
        )
    finally:
        if not channel.is_closed:
            await channel.close()
    ready, consumers = declared.message_count or 0, declared.consumer_count or 0
    if name == DEAD_LETTER_QUEUE_NAME:
        if ready:
            return Finding(
                "dead letters",
                "warn",
                f"{ready} message(s) wait in {name}",
                "read them with `regwatch dlq list` or the dashboard's Dead "
                "letters page, then replay or discard them",
            )
        return Finding("dead letters", "ok", f"{name} is empty")
    service = CONSUMERS[name]
    if not consumers:
        return Finding(
            f"queue {service}",
            "warn",
            f"{name}: no consumer ({ready} ready)",
            f"start the {service}: `make run` or `python -m services.{service}`",
        )
    return Finding(f"queue {service}", "ok", f"{name}: {consumers} consumer(s), {ready} ready")


CHECKS: tuple[Callable[[Settings], Awaitable[list[Finding]]], ...] = (
    check_broker,
    check_management,
    check_mongodb,
    check_smtp,
    check_catalog,
    check_ports,
    check_clock,
    check_queues,
)


async def run_checks(settings: Settings) -> list[Finding]:
    """Every check, concurrently; findings in the order of ``CHECKS``."""
    results = await asyncio.gather(*(check(settings) for check in CHECKS))
    return [finding for found in results for finding in found]
