"""Real servers for the test session: testcontainers when a Docker engine answers,
the local servers of ``devtools.local_infra`` otherwise. Tests see only a Settings object."""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from devtools import local_infra
from devtools.smtp_sink import start_sink
from shared.infra.settings import Settings


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def management_request(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    auth: tuple[str, str] = ("guest", "guest"),
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base_url}/api/{path}", data=data, method=method)
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


@contextmanager
def rabbitmq_vhost() -> Iterator[dict[str, str]]:
    """A RabbitMQ vhost of its own for this test session, removed afterwards."""
    with ExitStack() as stack:
        if docker_answers():
            from testcontainers.rabbitmq import RabbitMqContainer

            container = stack.enter_context(
                RabbitMqContainer("rabbitmq:4-management", username="guest", password="guest")
            )
            host = container.get_container_host_ip()
            amqp_port = int(container.get_exposed_port(5672))
            management = f"http://{host}:{container.get_exposed_port(15672)}"
        else:
            local_infra.ensure_rabbitmq()
            host, amqp_port, management = "127.0.0.1", 5672, local_infra.MANAGEMENT_URL
        vhost = f"regwatch-test-{uuid.uuid4().hex[:10]}"
        management_request(management, "PUT", f"vhosts/{quote(vhost, safe='')}")
        management_request(
            management,
            "PUT",
            f"permissions/{quote(vhost, safe='')}/guest",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
        try:
            yield {
                "amqp_url": f"amqp://guest:guest@{host}:{amqp_port}/{quote(vhost, safe='')}",
                "management_url": management,
                "vhost": vhost,
            }
        finally:
            try:
                management_request(management, "DELETE", f"vhosts/{quote(vhost, safe='')}")
            except OSError:
                pass


@contextmanager
def mongodb_server() -> Iterator[str]:
    """A MongoDB wire server URL: MONGODB_URL if it answers, a container, or SecantusDB."""
    given = os.environ.get("MONGODB_URL")
    if given and local_infra.mongo_answers(given):
        yield given
        return
    if docker_answers():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:8") as container:
            yield container.get_connection_url()
        return
    storage = Path(tempfile.mkdtemp(prefix="regwatch-mongo-"))
    port = local_infra.free_port()
    process = local_infra.start_secantus(port, storage / "data", storage / "server.log")
    try:
        yield local_infra.secantus_url(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except Exception:
            process.kill()
        shutil.rmtree(storage, ignore_errors=True)


@contextmanager
def smtp_sink() -> Iterator[dict[str, Any]]:
    maildir = Path(tempfile.mkdtemp(prefix="regwatch-mail-"))
    port = local_infra.free_port()
    controller = start_sink("127.0.0.1", port, maildir)
    try:
        yield {"host": "127.0.0.1", "port": port, "maildir": maildir, "controller": controller}
    finally:
        controller.stop()
        shutil.rmtree(maildir, ignore_errors=True)


@contextmanager
def reading_settings(settings: Settings, **changes: Any) -> Iterator[Settings]:
    """``settings`` with the reader on, in a vhost of its own: validators of other tests
    (reader off) share the session's queues and would take these events."""
    with rabbitmq_vhost() as vhost:
        yield settings.model_copy(
            update={
                "reader_enabled": True,
                "amqp_url": vhost["amqp_url"],
                "rabbitmq_management_url": vhost["management_url"],
                **changes,
            }
        )
