"""Where the intake's CPU goes per document: a burst under py-spy, summarised.

    python -m bench._profile amqp 400      # or: http 300
    PY_SPY=/path/to/py-spy python -m bench._profile amqp 400

py-spy is not a project dependency: install it apart (``python3 -m venv /tmp/spy &&
/tmp/spy/bin/pip install py-spy``) and point PY_SPY at it. It samples the intake process
(``python -m services.intake``, started as the benchmark starts it) only while the GIL is
held (``--gil``), so the shares are of the process's Python CPU, not of its waiting. Each
sample is attributed to the innermost frame of the project (``services/``, ``shared/``)
and the library running below it; samples outside the project's frames (the event loop,
FastStream's consume path, aio-pika's frames, uvicorn) are attributed to the first
library frame under the event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench._env import bench_settings
from bench._services import service
from bench.intake import (
    PER_APPLICATION,
    Meter,
    breakdown,
    document,
    seed,
    through_amqp,
    through_http,
    warm_http,
)

RATE_HZ = 250
OWN = re.compile(r"\((services|shared)/")
LOOP = re.compile(r"\((asyncio|runpy|threading|concurrent|<frozen)")


def library(frame: str) -> str:
    found = re.search(r"\(([^/)]+)/", frame)
    return found.group(1) if found else re.sub(r" \(.*", "", frame)


def summarise(raw: Path, top: int = 30) -> list[str]:
    """py-spy's raw (collapsed) stacks as shares per project frame -> library."""
    shares: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [re.sub(r":\d+\)", ")", f) for f in stack.split(";")[1:]]
        own = [
            i
            for i, f in enumerate(frames)
            if OWN.search(f) and "run_service" not in f and "__main__" not in f
        ]
        if own:
            name = re.sub(r" \(.*", "", frames[own[-1]])
            below = frames[own[-1] + 1] if own[-1] + 1 < len(frames) else "(its own code)"
            key = f"{name} -> {library(below) if below != '(its own code)' else below}"
        else:
            libraries = [library(f) for f in frames if not LOOP.search(f) and not OWN.search(f)]
            key = f"outside the project: {libraries[0] if libraries else 'event loop'}"
        shares[key] += int(count)
    total = sum(shares.values())
    return [f"{100 * n / total:5.1f}%  {key}" for key, n in shares.most_common(top)] + [
        f"({total} samples)"
    ]


async def run(channel: str, documents: int, raw: Path) -> None:
    with bench_settings() as (settings, _):
        api_key, applications = await seed(settings, 4 + documents // PER_APPLICATION + 1)
        async with service("intake", settings) as intake:
            warm = [document(-i) for i in range(1, 21)]
            await through_amqp(settings, applications[:4], warm, prefix="warm", pace="burst")
            base_url = intake.metrics_url.removesuffix("/metrics")
            await warm_http(base_url, api_key)
            bodies = [document(i) for i in range(documents)]
            meter = Meter(intake)
            await meter.start()
            spy = await asyncio.create_subprocess_exec(
                os.environ.get("PY_SPY", "py-spy"),
                *("record", "--pid", str(intake.process.pid), "--format", "raw"),
                *("--rate", str(RATE_HZ), "--gil", "--nonblocking", "--output", str(raw)),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await asyncio.sleep(1.0)  # py-spy attaches
            apps = applications[4:]
            if channel == "amqp":
                rate, _ = await through_amqp(settings, apps, bodies, prefix="p", pace="burst")
            else:
                rate, _ = await through_http(
                    settings, base_url, api_key, apps, bodies, prefix="p", pace="burst"
                )
            usage = await meter.stop(documents)
            spy.send_signal(signal.SIGINT)
            await asyncio.wait_for(spy.wait(), 60)
    print(
        f"{channel}, {documents} documents: {rate:.1f} docs/s, intake CPU {usage.cpu_ms:.2f} "
        f"ms per document, {usage.round_trips:.2f} MongoDB round trips "
        f"({breakdown(usage.commands)})"
    )
    print("\n".join(summarise(raw)))


def main() -> None:
    channel = sys.argv[1] if len(sys.argv) > 1 else "amqp"
    documents = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(channel, documents, Path(folder) / "profile.txt"))


if __name__ == "__main__":
    main()
