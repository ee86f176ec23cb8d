"""Run every benchmark script under bench/ and render docs/benchmarks.md from their results.

Each ``bench/bench_<name>.py`` writes ``bench/results/<name>.json``:
``{"title": str, "rows": [[metric, value, goal_or_empty], ...], "notes": str}``. Usage:
``python bench/run.py`` (all), ``python bench/run.py platform dispatch`` (some), ``--render-only``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    """A one-line description of the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def run(names: list[str]) -> None:
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    for script in scripts:
        name = script.stem[len("bench_"):]
        if names and name not in names:
            continue
        print(f"== {name}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        print(f"   exit {result.returncode} in {time.monotonic() - started:.0f} s", flush=True)


# Sections in the order of the issues they measure (foundation and lifecycle first).
SECTION_ORDER = ("platform", "workflow", "dispatch", "webhooks", "analytics", "analytics_month_feed", "load")


def render() -> str:
    lines = ["# Benchmarks", "",
             "Measured by the scripts under `bench/` (`make bench` runs them all and rewrites this page).",
             "Figures are from one run on the machine named in each section; they are not asserted by tests.",
             "",
             "Most figures are taken on the embedded local runtime: the whole platform and moto's server in one",
             "Python process on a 2-core machine, every storage call an HTTP round trip to moto, one Chalice app",
             "object serving requests one at a time (as one Lambda container would). They compare the platform's",
             "work with the storage it must touch and show where time goes; they are not AWS figures, where",
             "functions scale out and DynamoDB answers in single-digit milliseconds. A goal a figure misses is",
             "left visible, with the reason in its section's notes.", ""]
    order = {name: n for n, name in enumerate(SECTION_ORDER)}
    for path in sorted(RESULTS.glob("*.json"), key=lambda p: (order.get(p.stem, len(order)), p.stem)):
        data = json.loads(path.read_text(encoding="utf-8"))
        lines += [f"## {data['title']}", "",
                  f"Machine: {data.get('machine', '?')}  ", f"Date: {data.get('date', '?')}", "",
                  "| metric | value | goal |", "| --- | --- | --- |"]
        lines += [f"| {r[0]} | {r[1]} | {r[2] if len(r) > 2 else ''} |" for r in data["rows"]]
        if data.get("notes"):
            lines += ["", data["notes"]]
        lines.append("")
    return "\n".join(lines)


def write_result(name: str, title: str, rows: list[list[object]], notes: str = "") -> None:
    """Helper for bench scripts: store one result file with the machine and date."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"title": title, "rows": rows, "notes": notes, "machine": machine(),
               "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if not args.render_only:
        run(args.names)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
