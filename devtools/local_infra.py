"""Local infrastructure without Docker: RabbitMQ, a MongoDB wire server and an SMTP sink.

``python -m devtools.local_infra up|down|status``. Idempotent: what already answers is used
as it is; what it starts is recorded in ``.run/infra.json`` so that ``down`` stops only that.
URLs given by the user (``AMQP_URL``, ``MONGODB_URL``, ``SMTP_HOST``) are used as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

RUN_DIR = Path(os.environ.get("RUN_DIR", ".run"))
STATE_FILE = RUN_DIR / "infra.json"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGO_PORT = 27017
DEFAULT_SMTP_PORT = 1025
MANAGEMENT_URL = "http://127.0.0.1:15672"


class InfraError(Exception):
    pass


def say(message: str) -> None:
    print(f"[infra] {message}", flush=True)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(check: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise InfraError(f"{what} did not come up within {timeout:.0f} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- RabbitMQ -------------------------------------------------------------------------------


def _management_answers() -> bool:
    request = urllib.request.Request(f"{MANAGEMENT_URL}/api/overview")
    request.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def ensure_rabbitmq() -> dict[str, Any]:
    """RabbitMQ with the management plugin on 127.0.0.1:5672, started if it does not answer."""
    url = os.environ.get("AMQP_URL")
    if url:
        say(f"RabbitMQ: using AMQP_URL as given ({urlsplit(url).hostname})")
        return {"url": url, "started": False}
    started = False
    if not port_open("127.0.0.1", 5672):
        if shutil.which("rabbitmq-server") is None:
            say("RabbitMQ: installing Debian's rabbitmq-server")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "rabbitmq-server"], check=True, env=env
            )
        say("RabbitMQ: starting rabbitmq-server -detached")
        subprocess.run(["rabbitmq-server", "-detached"], check=True)
        started = True
        wait_for(
            lambda: (
                subprocess.run(
                    ["rabbitmq-diagnostics", "-q", "check_running"], capture_output=True
                ).returncode
                == 0
            ),
            "RabbitMQ",
            120,
        )
    if not _management_answers():
        say("RabbitMQ: enabling the management plugin")
        subprocess.run(
            ["rabbitmq-plugins", "enable", "rabbitmq_management"], check=True, capture_output=True
        )
        wait_for(_management_answers, "RabbitMQ management API", 60)
    say("RabbitMQ: ready on 127.0.0.1:5672, management on 127.0.0.1:15672")
    return {"url": DEFAULT_AMQP_URL, "started": started}


def stop_rabbitmq() -> None:
    subprocess.run(["rabbitmqctl", "shutdown"], capture_output=True)


# --- MongoDB wire server ----------------------------------------------------------------------


def mongo_answers(url: str) -> bool:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(url, serverSelectionTimeoutMS=1500)
    try:
        client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        client.close()


def start_secantus(port: int, storage: Path, log_file: Path) -> subprocess.Popen[bytes]:
    """Start SecantusDB (a MongoDB wire-protocol server) on 127.0.0.1:``port``."""
    storage.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = secantus_url(port)
    try:
        wait_for(lambda: process.poll() is None and mongo_answers(url), "SecantusDB", 60)
    except InfraError:
        process.kill()
        raise InfraError(f"SecantusDB did not start; see {log_file}") from None
    return process


def secantus_url(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?retryWrites=false&directConnection=true"


def ensure_mongodb() -> dict[str, Any]:
    url = os.environ.get("MONGODB_URL")
    if url and mongo_answers(url):
        say("MongoDB: using MONGODB_URL as given")
        return {"url": url, "started": False}
    if url:
        say("MongoDB: MONGODB_URL does not answer; starting a local server instead")
    default = secantus_url(DEFAULT_MONGO_PORT)
    if mongo_answers(default):
        say(f"MongoDB: a server already answers on 127.0.0.1:{DEFAULT_MONGO_PORT}")
        return {"url": default, "started": False}
    process = start_secantus(DEFAULT_MONGO_PORT, RUN_DIR / "mongo", RUN_DIR / "logs/mongo.log")
    say(f"MongoDB: started SecantusDB on 127.0.0.1:{DEFAULT_MONGO_PORT} (pid {process.pid})")
    return {"url": default, "started": True, "pid": process.pid}


# --- SMTP sink --------------------------------------------------------------------------------


def start_smtp_sink(port: int, maildir: Path, log_file: Path) -> subprocess.Popen[bytes]:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devtools.smtp_sink",
                "--port",
                str(port),
                "--maildir",
                str(maildir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(lambda: port_open("127.0.0.1", port), "SMTP sink", 20)
    return process


def ensure_smtp() -> dict[str, Any]:
    host = os.environ.get("SMTP_HOST")
    port = int(os.environ.get("SMTP_PORT", DEFAULT_SMTP_PORT))
    if host and host not in ("127.0.0.1", "localhost"):
        say(f"SMTP: using SMTP_HOST as given ({host})")
        return {"host": host, "port": port, "started": False}
    maildir = RUN_DIR / "mail"
    if port_open("127.0.0.1", port):
        say(f"SMTP: something already answers on 127.0.0.1:{port}")
        return {"host": "127.0.0.1", "port": port, "started": False, "maildir": str(maildir)}
    process = start_smtp_sink(port, maildir, RUN_DIR / "logs/smtp.log")
    say(f"SMTP: started the sink on 127.0.0.1:{port}, mail in {maildir} (pid {process.pid})")
    return {
        "host": "127.0.0.1",
        "port": port,
        "started": True,
        "pid": process.pid,
        "maildir": str(maildir),
    }


# --- commands ---------------------------------------------------------------------------------


def load_state() -> dict[str, Any]:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def up() -> dict[str, Any]:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    previous = load_state()
    state = {"rabbitmq": ensure_rabbitmq(), "mongodb": ensure_mongodb(), "smtp": ensure_smtp()}
    # Keep ownership of what an earlier `up` started, so `down` still stops it.
    for name, entry in state.items():
        if previous.get(name, {}).get("started") and not entry["started"]:
            entry.update(started=True, pid=previous[name].get("pid"))
    STATE_FILE.write_text(json.dumps(state, indent=2))
    env_lines = [
        f"AMQP_URL={state['rabbitmq']['url']}",
        f"MONGODB_URL={state['mongodb']['url']}",
        f"SMTP_HOST={state['smtp']['host']}",
        f"SMTP_PORT={state['smtp']['port']}",
    ]
    (RUN_DIR / "infra.env").write_text("\n".join(env_lines) + "\n")
    say("ready; `make infra-down` stops what was started here")
    return state


def _kill(pid: int | None) -> None:
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def down() -> None:
    state = load_state()
    if not state:
        say("nothing was started here")
        return
    for name in ("smtp", "mongodb"):
        entry = state.get(name, {})
        if entry.get("started"):
            say(f"stopping {name} (pid {entry.get('pid')})")
            _kill(entry.get("pid"))
    if state.get("rabbitmq", {}).get("started"):
        say("stopping RabbitMQ")
        stop_rabbitmq()
    STATE_FILE.unlink(missing_ok=True)
    say("stopped what was started here")


def status() -> None:
    print(json.dumps(load_state(), indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description="regwatch local infrastructure")
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args()
    try:
        {"up": up, "down": down, "status": status}[args.command]()
    except (InfraError, subprocess.CalledProcessError) as exc:
        print(f"[infra] error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
