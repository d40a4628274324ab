"""``regwatch doctor`` against the test servers, and against a setting that is wrong."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from devtools.local_infra import free_port
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests.processes import service_env


def run_doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "doctor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_doctor_finds_the_test_servers_healthy(
    settings: Settings, services: list[ServiceContext]
) -> None:
    env = service_env(settings, intake_http_port=free_port(), dashboard_port=free_port())
    result = await asyncio.to_thread(run_doctor, env, "--json")
    verdicts = {f["check"]: f["verdict"] for f in json.loads(result.stdout)}
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("broker", "permissions", "management", "mongodb", "indexes", "smtp",
                  "catalog", "port intake", "port dashboard", "clock",
                  "queue intake", "queue validator"):  # fmt: skip
        assert verdicts[check] == "ok", (check, result.stdout)
    # Other tests of the session leave dead letters on purpose: a warning, not a fault.
    assert verdicts["dead letters"] in ("ok", "warn"), result.stdout
    # No notifier runs in this test session: its queue has no consumer, a warning only.
    assert verdicts["queue notifier"] == "warn"


def test_doctor_exits_non_zero_naming_the_fix_for_an_unreachable_database(
    settings: Settings,
) -> None:
    url = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    env = service_env(
        settings,
        mongodb_url=url,
        mongodb_timeout_ms=1000,
        intake_http_port=free_port(),
        dashboard_port=free_port(),
    )
    result = run_doctor(env)
    assert result.returncode == 1, result.stdout
    text = " ".join(result.stdout.split())  # the report wraps at 80 columns
    assert "FAIL mongodb cannot reach MongoDB" in text
    assert "fix: start the local servers with `make infra-up`, or correct MONGODB_URL" in text
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("doctor: ")


def test_doctor_brief_shows_only_what_needs_attention(settings: Settings) -> None:
    env = service_env(settings, regwatch_now="2030-01-01T00:00:00Z")
    result = run_doctor(env, "--brief")
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("ok")], result.stdout
    assert any(line.startswith("WARN  clock") for line in lines), result.stdout
    assert lines[-1].startswith("doctor: ")
