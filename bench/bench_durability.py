"""Durability benchmark: first start with 1,500 demo tickets, what each periodic save holds the event
pump for, Ctrl-C time, restart time.

Runs ``python -m chalicelib.local run`` as a subprocess (127.0.0.1, free ports, a temporary data
folder), as a newcomer's ``make run`` does, and reads the saver's own figures from ``/health``:
``max_lock_seconds`` is the longest a save held the embedded DynamoDB's writers' lock - the only
thing a save makes the pump's handlers (and API requests) wait for. For comparison it times a full
Scan of the table through moto's server, which is what the former save did while it held the pump.
Bounded: seeding is given at most ``BENCH_SEED_TIMEOUT`` seconds (default 900).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import write_result  # noqa: E402

DEMO_TICKETS = int(os.environ.get("BENCH_DEMO_TICKETS", "1500"))
INTERVAL = float(os.environ.get("BENCH_SNAPSHOT_INTERVAL", "60"))
SEED_TIMEOUT = float(os.environ.get("BENCH_SEED_TIMEOUT", "900"))
NEW_TICKETS = 20
COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "测试", "address": "苏州市姑苏区人民路1号"},
    "respondent": {"name": "某商店", "address": "苏州市姑苏区观前街1号"},
    "request": "退款", "facts": "购买的商品有质量问题，商家拒绝退款。",
}


class Runtime:
    """One ``make run``-style process; its output is collected in a thread."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        from chalicelib.local.runtime import free_port

        self.port, self.aws_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"PYTHONPATH": str(ROOT), "DEMO_TICKETS": str(DEMO_TICKETS)})
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local", "run", "--port", str(self.port), "--aws-port",
             str(self.aws_port), "--data-dir", str(data_dir), "--snapshot-interval", str(INTERVAL), *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[tuple[float, str]] = []
        self.last_report: dict = {}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ready = self._wait_ready()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line))

    def _wait_ready(self, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("runtime exited:\n" + "".join(line for _, line in self.lines[-40:]))
            try:
                if requests.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return time.monotonic() - self.started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("runtime not healthy in time")

    def line_with(self, text: str) -> tuple[float, str] | None:
        return next(((at, line) for at, line in self.lines if text in line), None)

    def snapshot(self) -> dict:
        self.last_report = requests.get(f"{self.base}/health", timeout=60).json()["snapshot"]
        return self.last_report

    def interrupt(self) -> float:
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=120)
        self.reader.join(timeout=5)
        if self.process.returncode != 0:
            raise RuntimeError(f"exit {self.process.returncode}:\n" + "".join(line for _, line in self.lines[-20:]))
        return time.monotonic() - started


def _login(base: str, user: str) -> dict[str, str]:
    token = requests.post(f"{base}/auth/dev-login", json={"username": user}, timeout=30).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _scan_seconds(aws_port: int) -> tuple[str, int]:
    """A full Scan of the table through moto's server (what the former save did), bounded."""
    import boto3
    from botocore.config import Config

    ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{aws_port}", region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local",
                       config=Config(read_timeout=120, retries={"max_attempts": 1}))
    table = ddb.list_tables()["TableNames"][0]  # the local runtime has one table
    started = time.monotonic()
    items = 0
    try:
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            items += len(page.get("Items", []))
    except Exception as exc:  # a page past the read timeout is itself the figure (issue 14's ReadTimeout)
        return f"failed after {time.monotonic() - started:.0f} s ({type(exc).__name__})", items
    return f"{time.monotonic() - started:.1f} s", items


def _row(rows: list[list[object]], *row: object) -> None:
    rows.append(list(row))
    print(" | ".join(str(x) for x in row), flush=True)


def main() -> None:
    rows: list[list[object]] = []
    restored_line = ""
    first = second = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "data"
            first = Runtime(data_dir)
            _row(rows, "first start: API ready (demo seeding then runs in the background)", f"{first.ready:.0f} s", "")
            deadline = time.monotonic() + SEED_TIMEOUT
            while first.line_with("demo data:") is None and time.monotonic() < deadline:
                time.sleep(5)
            seeded = first.line_with("demo data:")
            if seeded is None:  # a loaded machine: Ctrl-C is then measured mid-seeding, as a newcomer would
                _row(rows, f"first start: {DEMO_TICKETS} demo tickets seeded (from process start)",
                     f"not finished after {time.monotonic() - first.started:.0f} s", "")
            else:
                _row(rows, f"first start: {DEMO_TICKETS} demo tickets seeded (from process start)",
                     f"{seeded[0] - first.started:.0f} s", "")
            saves_before = first.snapshot()["saves"]
            while first.snapshot()["saves"] == saves_before:  # one more periodic save
                time.sleep(1)
            report = first.snapshot()
            agent = _login(first.base, "agent")
            for n in range(NEW_TICKETS):
                body = json.loads(json.dumps(COMPLAINT))
                body["complainant"]["phone"] = f"137{n:08d}"
                answer = requests.post(f"{first.base}/tickets", json=body, headers=agent, timeout=60)
                assert answer.status_code == 201, answer.text
            state = json.loads(data_dir.joinpath("state.json").read_text())  # the marker that prevents reseeding
            assert state["demo"]["requested"] == DEMO_TICKETS, state
            _row(rows, "periodic saves during the first start", f"{report['saves']}", "")
            _row(rows, "longest writers'-lock hold of a save (all the pump waits for)",
                 f"{report['max_lock_seconds'] * 1000:.0f} ms", "< 1 s")
            _row(rows, "last periodic save, all steps (the lock is held only for the copy)",
                 f"{report['last_save_seconds']:.2f} s", "")
            stop1 = first.interrupt()
            _row(rows, f"Ctrl-C to exit, {DEMO_TICKETS} demo tickets{'' if seeded else ' (seeding still running)'} "
                 f"+ {NEW_TICKETS} new (final save included)", f"{stop1:.1f} s", "< 10 s")
            journal = data_dir / "table.journal.jsonl"
            _row(rows, "data folder after the first run: journal / base",
                 f"{journal.stat().st_size / 1e6:.1f} MB / "
                 f"{(data_dir / 'table.jsonl').stat().st_size / 1e6 if (data_dir / 'table.jsonl').exists() else 0:.1f} MB", "")

            second = Runtime(data_dir)
            restored = second.line_with("restored")
            restored_line = restored[1].strip() if restored else ""
            _row(rows, "restart: restore and API ready", f"{second.ready:.0f} s", "")
            manager = _login(second.base, "manager")
            found = requests.get(f"{second.base}/tickets", params={"limit": 50}, headers=manager, timeout=120).json()
            assert found.get("items"), found
            second.snapshot()
            scan, items = _scan_seconds(second.aws_port)
            _row(rows, f"for comparison: one full Scan of the table ({items} items) through moto's server, which "
                 "the former save did while holding every pump source", scan, "")
            time.sleep(min(INTERVAL, 10))
            stop2 = second.interrupt()
            _row(rows, "Ctrl-C to exit after a restart", f"{stop2:.1f} s", "< 10 s")
            if second.last_report.get("saves"):
                _row(rows, "longest writers'-lock hold of a save after the restart",
                     f"{second.last_report['max_lock_seconds'] * 1000:.0f} ms", "< 1 s")
    finally:
        for runtime in (first, second):
            if runtime is not None and runtime.process.poll() is None:
                runtime.process.kill()  # a failed step must not leave a runtime writing to a deleted folder
        write_result(
            "durability", "Durability: saving, Ctrl-C and restart of the local runtime", rows,
            notes=(f"One run of `python -m chalicelib.local run` as a subprocess with {DEMO_TICKETS} demo tickets and "
                   f"the default save interval ({INTERVAL:g} s), on the shared 2-core machine while other work ran. "
                   "A save copies the items changed since the previous one under the embedded DynamoDB's writers' "
                   "lock and appends them to `table.journal.jsonl` with no lock held; the pump is never paused as a "
                   "whole. Before this, each save scanned the whole table through moto's server while holding every "
                   "pump source's lock (60-120 s per save, issue 14). Ctrl-C: stop serving, give the pump's current "
                   "handlers up to 3 s, save what changed, exit without the interpreter's teardown of moto's Step "
                   f"Functions threads. Restart banner: {restored_line}"))


if __name__ == "__main__":
    main()
