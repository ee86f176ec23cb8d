"""The embedded local runtime, started the way `make run` starts it, on free loopback ports: it serves
the roles, seeds demo data once, and loses nothing older than one save interval when killed (-9) after
save errors and in the middle of a save; restarted, it finds its tickets and users and does not seed
demo data over them.

Each start of the runtime takes seconds to tens of seconds on a loaded 2-core machine, so one scenario
of two starts proves what once took seven: every start is followed by the checks of what it must show,
and what the last one saved on Ctrl-C is read the way the next start would restore it.
(A folder whose first run died before its first save is started in-process: tests/local/test_saver.py.)"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from chalicelib.local.runtime import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.runtime
INTERVAL = "1"
BODY = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "周八", "phone": "13700001111", "address": "苏州市姑苏区人民路8号"},
    "respondent": {"name": "某培训机构", "address": "苏州市姑苏区干将路2号"},
    "request": "要求退还学费", "facts": "课程未开课机构即关门，学费不退。",
}


class Run:
    """One ``python -m chalicelib.local run`` process, its output in a file."""

    def __init__(self, data_dir: Path, log: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = log
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCAL_SAVE_"))}
        environment.update({"PYTHONPATH": str(ROOT), **(env or {})})
        self.output = open(log, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local", "run", "--port", str(self.port), "--data-dir", str(data_dir),
             "--demo-tickets", "3", "--snapshot-interval", INTERVAL, *extra],
            cwd=ROOT, env=environment, stdout=self.output, stderr=subprocess.STDOUT, text=True)
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait(lambda: "local runtime ready" in self.text(), 120, "ready")

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def _wait(self, condition, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runtime exited ({self.process.returncode}) waiting for {what}:\n{self.text()[-3000:]}")
            try:
                if condition():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.kill()
        raise AssertionError(f"not {what} within {seconds} s:\n{self.text()[-3000:]}")

    def snapshot(self) -> dict:
        return requests.get(f"{self.base}/health", timeout=60).json()["snapshot"]

    def wait_saved_after(self, moment: datetime) -> None:
        """Until every change made before ``moment`` is on disk."""
        def saved() -> bool:
            report = self.snapshot()
            return (report["status"] == "ok" and report["saved_through"] is not None
                    and datetime.fromisoformat(report["saved_through"]) > moment)
        self._wait(saved, 60, "saved")

    def wait_demo_seeded(self) -> None:
        self._wait(lambda: "demo data:" in self.text(), 90, "demo seeded")

    def login(self, user: str) -> dict[str, str]:
        answer = requests.post(f"{self.base}/auth/dev-login", json={"username": user}, timeout=60)
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def register(self, phone: str) -> str:
        body = {**BODY, "complainant": {**BODY["complainant"], "phone": phone}}
        answer = requests.post(f"{self.base}/tickets", json=body, headers=self.login("agent"), timeout=60)
        assert answer.status_code == 201, answer.text
        return answer.json()["tickets"][0]["id"]

    def has(self, ticket_id: str) -> bool:
        answer = requests.get(f"{self.base}/tickets/{ticket_id}", headers=self.login("agent"), timeout=60)
        assert answer.status_code in (200, 404), answer.text
        return answer.status_code == 200

    def ticket_ids(self) -> set[str]:
        """Every ticket received in the last 180 days (the demo spreads its tickets over 120)."""
        manager, today, ids = self.login("manager"), date.today() + timedelta(days=1), set()  # UTC+8 is ahead
        for start in (0, 90):
            period = {"from": (today - timedelta(days=start + 89)).isoformat(),
                      "to": (today - timedelta(days=start)).isoformat(), "limit": 200}
            answer = requests.get(f"{self.base}/tickets", params=period, headers=manager, timeout=60)
            assert answer.status_code == 200, answer.text
            ids |= {item["id"] for item in answer.json()["items"]}
        return ids

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)
        self.output.close()

    def interrupt(self) -> str:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"runtime did not stop on Ctrl-C:\n{self.text()[-3000:]}")
        self.output.close()
        assert self.process.returncode == 0, self.text()[-3000:]
        return self.text()


def _saved_keys(data: Path) -> set[tuple[str, str]]:
    """(PK, SK) of every item a restart would restore from ``data``, read as the restore reads it."""
    from chalicelib.local import snapshot

    def plain(value: object) -> str:
        return str(next(iter(value.values())) if isinstance(value, dict) else value)

    items, _ = snapshot.load_items(data, ("PK", "SK"))
    return {(plain(item["PK"]), plain(item["SK"])) for item in items.values()}


def _users(run: Run) -> set[str]:
    answer = requests.get(f"{run.base}/admin/users", headers=run.login("admin"), timeout=60)
    assert answer.status_code == 200, answer.text
    return {user["username"] for user in answer.json()["items"]}


def test_kill_9_after_save_errors_and_mid_save_loses_nothing_older_than_one_interval(tmp_path):
    from chalicelib.local import snapshot

    data = tmp_path / "data"
    pause = tmp_path / "pause-saves"
    fail = tmp_path / "fail-saves"

    # 1. A fresh start (`make reset`) whose saves fail while the fail file exists: /health says so, the
    #    saver retries. Once saves work: the roles are served, an admin adds a user, and then a save is
    #    held before its commit (the pause file) and the runtime killed mid-save.
    fail.touch()
    run = Run(data, tmp_path / "1.log", "--reset",
              env={"LOCAL_SAVE_FAIL_FILE": str(fail), "LOCAL_SAVE_PAUSE_FILE": str(pause)})
    try:
        health = requests.get(f"{run.base}/health", timeout=60)
        assert health.status_code == 200
        assert health.json()["status"] == "degraded" and health.json()["degraded"] == ["snapshot"]
        assert "InjectedSaveFailure" in health.json()["snapshot"]["last_error"]
        run.wait_demo_seeded()
        first = run.register("13700000001")
        created = datetime.now(timezone.utc)
        run._wait(lambda: "no successful save" in run.snapshot().get("reason", ""), 30, "stale")
        assert run.snapshot()["consecutive_failures"] >= 2
        fail.unlink()
        run.wait_saved_after(created)  # the saver got past its errors and saved the ticket
        health = requests.get(f"{run.base}/health", timeout=60).json()
        assert health["status"] == "ok" and health["stage"] == "local"
        demo = run.ticket_ids() - {first}
        assert len(demo) == 3  # the demo tickets fill the screens

        assert "night-agent" not in _users(run)
        refused = requests.get(f"{run.base}/admin/users", headers=run.login("agent"), timeout=60)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert requests.get(f"{run.base}/admin/users", timeout=60).status_code == 401
        added = requests.put(f"{run.base}/admin/users/night-agent", headers=run.login("admin"), timeout=60,
                             json={"role": "agent", "name": "夜班座席"})
        assert added.status_code == 200, added.text

        second = run.register("13700000002")
        created = datetime.now(timezone.utc)
        run.wait_saved_after(created)
        pause.write_text("hold the next save")
        third = run.register("13700000003")  # only ever in the save the kill interrupts
        run._wait(lambda: Path(f"{pause}.waiting").exists(), 30, "mid-save")
    finally:
        run.kill()
    pause.unlink()
    out = run.text()
    assert "snapshot save failed" in out  # each failure was logged
    assert "Demo logins" in out and "handler-urban" in out
    assert snapshot.has_table_data(data) and snapshot.read_state(data)["demo"]["requested"] == 3
    (data / ".snapshot-k2j3h4").mkdir()  # leftovers of the former format's interrupted save
    (data / ".tmp-table.jsonl-x1").write_text("half a file")

    # 2. Restart: everything saved before the interrupted save is there (the tickets, the admin's user);
    #    that save's batch is not; the demo data is not seeded again; leftovers are gone. Work goes on
    #    (the torn journal tail was cut off) and Ctrl-C saves it.
    run = Run(data, tmp_path / "2.log")
    try:
        assert "restored" in run.text() and "being added in the background" not in run.text()
        assert "'torn_bytes': 0" not in run.text()
        assert run.has(first) and run.has(second) and not run.has(third)
        assert run.ticket_ids() == demo | {first, second}
        assert not list(data.glob(".snapshot-*")) and not list(data.glob(".tmp-*"))
        assert "night-agent" in _users(run)
        fourth = run.register("13700000004")
    finally:
        out = run.interrupt()
    assert "stopped in" in out

    # 3. Ctrl-C's final save kept the work: what a restart restores (snapshot.load_items, which the
    #    restore of step 2 read) holds the tickets and the admin's user, and no ticket more (never reseeded).
    saved = _saved_keys(data)
    tickets = {pk.removeprefix("T#") for pk, _ in saved if pk.startswith("T#")}
    assert tickets == demo | {first, second, fourth}
    assert [sk for pk, sk in saved if pk == "USER" and sk.endswith("night-agent")]
