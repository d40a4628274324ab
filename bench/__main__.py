"""Run every benchmark under bench/ and write bench/RESULTS.md with machine facts and figures.

Each benchmark is a script (`bench/<name>.py`) run in its own process; what it prints is
its report. A benchmark that fails or runs past its time is reported as such, not hidden.
``python -m bench NAME ...`` runs only those and replaces only their sections: the others
stay as an earlier run wrote them, each section line saying when it was measured.
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
ORDER = ["intake", "validator", "scheduler", "reader", "soak"]
TIMEOUT_SECONDS = 600
# Sections written by hand, not by a benchmark run: a performance round's before and after
# (with its profile), and the figures of ``make test-faults`` (cluster, replicas, crashes).
# Each of these sections (its heading down to the next ``## `` heading) survives a rewrite.
KEPT_HEADINGS = (
    "## Performance round",
    "## Validator round trips and CPU",
    "## Fault scenarios and the RabbitMQ cluster",
)


def measured_part(text: str) -> str:
    """``text`` up to its first kept section: the machine facts and the benchmarks' output."""
    found = [i for i in (text.find("\n" + heading) for heading in KEPT_HEADINGS) if i >= 0]
    return text[: min(found)] if found else text


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


def earlier_sections(results: Path) -> dict[str, list[str]]:
    """The benchmark sections of ``results`` by name, as an earlier run wrote them."""
    if not results.exists():
        return {}
    sections: dict[str, list[str]] = {}
    name = None
    for line in measured_part(results.read_text()).splitlines():
        if line.startswith("## "):
            name = line.removeprefix("## ").strip()
            sections[name] = [line]
        elif name is not None:
            sections[name].append(line)
    return {
        name: [*"\n".join(lines).rstrip("\n").splitlines(), ""] for name, lines in sections.items()
    }


def earlier_facts(results: Path) -> dict[str, str]:
    """The machine facts ``results`` has (``- name: value`` lines), by name."""
    if not results.exists():
        return {}
    facts = {}
    for line in measured_part(results.read_text()).splitlines():
        name, colon, value = line.removeprefix("- ").partition(": ")
        if line.startswith("- ") and colon and name in ("date", "cpu"):
            facts[name] = value
    return facts


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
    results = HERE / "RESULTS.md"
    earlier = earlier_sections(results) if selected else {}
    facts = machine_facts()
    if earlier:
        before = earlier_facts(results)
        facts.append(
            f"- this run: {', '.join(selected)}; the other sections are from an earlier run"
            + (f" ({', '.join(f'{k} {v}' for k, v in before.items())})" if before else "")
        )
    sections = ["# Benchmark results", "", "Written by `make bench`. Machine:", "", *facts, ""]
    measured: dict[str, list[str]] = {}
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
        measured_at = datetime.now(UTC).isoformat(timespec="seconds")
        measured[script.stem] = [
            f"## {script.stem}",
            "",
            f"`bench/{script.name}` ({status}, {elapsed:.0f} s, {measured_at})",
            "",
            "```",
            output.strip(),
            "```",
            "",
        ]
    for script in benchmarks([]):
        sections += measured.get(script.stem) or earlier.get(script.stem, [])
    sections += kept_section(results)
    results.write_text("\n".join(sections))
    print(f"wrote {results}")


if __name__ == "__main__":
    main()
