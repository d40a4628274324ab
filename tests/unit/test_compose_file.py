"""docker-compose.yml stays valid and production-like."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_config_is_valid() -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr


def test_every_service_restarts_and_infrastructure_is_health_checked() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    for name in (
        "rabbitmq",
        "mongodb",
        "mailpit",
        "intake",
        "validator",
        "scheduler",
        "notifier",
        "dashboard",
    ):
        assert name in services, name
        assert services[name].get("restart") == "unless-stopped", name
    for name in ("rabbitmq", "mongodb", "intake", "dashboard"):
        assert "healthcheck" in services[name], name
    assert "--replSet" in services["mongodb"]["command"]
    assert services["rabbitmq"]["image"].startswith("rabbitmq:4-management")
    assert services["mongodb"]["image"] == "mongo:8"


def test_every_service_module_in_compose_exists() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    for service in spec["services"].values():
        command = service.get("command") or []
        if command[:2] == ["python", "-m"]:
            module = command[2].replace(".", "/")
            assert (ROOT / module / "__main__.py").exists(), module
