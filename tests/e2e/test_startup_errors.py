"""Bad configuration gives one specific line and a non-zero exit, not a traceback wall."""

from __future__ import annotations

import socket

import pytest

from devtools.local_infra import free_port
from shared.infra.settings import Settings
from tests.processes import run_to_exit, service_env


@pytest.mark.parametrize("service", ["intake", "validator"])
def test_unreachable_broker_is_one_line_and_exit_2(settings: Settings, service: str) -> None:
    env = service_env(settings, amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    result = run_to_exit(service, env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "cannot reach RabbitMQ" in lines[0]
    assert "AMQP_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_wrong_broker_credentials_are_named(settings: Settings) -> None:
    url = settings.amqp_url.replace("guest:guest@", "guest:wrong-password@")
    result = run_to_exit("intake", service_env(settings, amqp_url=url))
    assert result.returncode == 2
    assert "refused the credentials" in result.stderr
    assert "wrong-password" not in result.stderr  # the password is never printed
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_database_is_one_line_and_exit_2(settings: Settings) -> None:
    url = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    result = run_to_exit(
        "validator", service_env(settings, mongodb_url=url, mongodb_timeout_ms=1500)
    )
    assert result.returncode == 2
    assert "cannot reach MongoDB" in result.stderr
    assert "MONGODB_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_setting_is_reported(settings: Settings) -> None:
    result = run_to_exit("intake", service_env(settings, regwatch_now="not-a-date"))
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("service", "variable"), [("intake", "INTAKE_HTTP_PORT"), ("dashboard", "DASHBOARD_PORT")]
)
def test_a_taken_http_port_is_one_line_naming_the_setting(
    settings: Settings, service: str, variable: str
) -> None:
    with socket.socket() as holder:  # another program on the port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = service_env(settings, intake_http_port=port, dashboard_port=port)
        result = run_to_exit(service, env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
    assert variable in lines[0]
