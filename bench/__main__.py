"""Run every benchmark under bench/ and write bench/RESULTS.md with machine facts and figures.

Each benchmark is a script (`bench/<name>.py`) run in its own process; what it prints is
its report. A benchmark that fails or runs past its time is reported as such, not hidden.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["intake", "validator", "scheduler", "soak"]
TIMEOUT_SECONDS = 600
# Sections written by hand, not by a benchmark run: a performance round's before and after
# (with its profile), and the figures of ``make test-faults`` (cluster, replicas, crashes).
# Each of these sections (its heading down to the next ``## `` heading) survives a rewrite.
KEPT_HEADINGS = ("## Performance round", "## Fault scenarios and the RabbitMQ cluster")


def kept_section(results: Path) -> list[str]:
    """The parts of ``results`` that ``make bench`` does not measure, kept as they are."""
    if not results.exists():
        return []
    kept: list[str] = []
    keeping = False
    for line in results.read_text().rstrip("\n").splitlines():
        if line.startswith("## "):
            keeping = line.startswith(KEPT_HEADINGS)
            if keeping and kept:
                kept.append("")
        if keeping:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return kept + [""] if kept else []


def machine_facts() -> list[str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    rabbit = subprocess.run(
        ["rabbitmqctl", "version"], capture_output=True, text=True, timeout=30
    ).stdout.strip()
    return [
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- cpu: {cpu} x {os.cpu_count()}",
        f"- memory: {memory}",
        f"- os: {platform.platform()}",
        f"- python: {platform.python_version()}",
        f"- RabbitMQ: {rabbit or 'unknown'} on 127.0.0.1",
        "- MongoDB wire server: SecantusDB (local stand-in, retryWrites=false) unless MONGODB_URL is set",
    ]


def benchmarks(selected: list[str]) -> list[Path]:
    found = {p.stem: p for p in HERE.glob("*.py") if not p.stem.startswith("_")}
    names = selected or [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))
    return [found[n] for n in names if n in found]


def main() -> None:
    selected = sys.argv[1:]
    sections = [
        "# Benchmark results",
        "",
        "Written by `make bench`. Machine:",
        "",
        *machine_facts(),
        "",
    ]
    for script in benchmarks(selected):
        print(f"== bench/{script.name}", flush=True)
        started = time.monotonic()
        try:
            result = subprocess.run(
                [sys.executable, "-m", f"bench.{script.stem}"],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                cwd=HERE.parent,
            )
            output, status = result.stdout, f"exit {result.returncode}"
            if result.returncode != 0:
                output += "\n" + result.stderr[-3000:]
        except subprocess.TimeoutExpired as exc:
            output, status = str(exc.stdout or ""), f"timed out after {TIMEOUT_SECONDS} s"
        elapsed = time.monotonic() - started
        print(output, flush=True)
        sections += [
            f"## {script.stem}",
            "",
            f"`bench/{script.name}` ({status}, {elapsed:.0f} s)",
            "",
            "```",
            output.strip(),
            "```",
            "",
        ]
    sections += kept_section(HERE / "RESULTS.md")
    (HERE / "RESULTS.md").write_text("\n".join(sections))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
