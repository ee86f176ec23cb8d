"""The embedded local runtime, started the way `make run` starts it, on free loopback ports."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from chalicelib.local.runtime import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.runtime


def _start(data_dir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local", "run", "--port", str(port), "--data-dir", str(data_dir), *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a loaded 2-core machine (CI, parallel test workers) starts slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"runtime exited early:\n{process.stdout.read()}")
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError("runtime not healthy within 180 s")


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise AssertionError(f"runtime did not stop on Ctrl-C:\n{out}")
    assert process.returncode == 0, out
    return out


def _count_recent(base: str, headers: dict[str, str]) -> int:
    from datetime import date, timedelta

    today = date.today()
    total = 0
    for start in range(0, 120, 90):
        period = {"from": (today - timedelta(days=start + 89)).isoformat(), "to": (today - timedelta(days=start)).isoformat()}
        answer = requests.get(f"{base}/tickets", params={**period, "limit": 200}, headers=headers, timeout=60)
        total += len(answer.json().get("items", []))
    return total


def _login(base: str, username: str) -> dict[str, str]:
    answer = requests.post(f"{base}/auth/dev-login", json={"username": username}, timeout=60)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_runtime_starts_serves_two_roles_and_survives_a_restart(tmp_path):
    data_dir = tmp_path / "data"
    process, base = _start(data_dir, "--reset", "--demo-tickets", "25")
    try:
        health = requests.get(f"{base}/health", timeout=60).json()
        assert health["status"] == "ok" and health["stage"] == "local"
        admin, agent = _login(base, "admin"), _login(base, "agent")
        assert requests.get(f"{base}/admin/users", headers=admin, timeout=60).status_code == 200
        refused = requests.get(f"{base}/admin/users", headers=agent, timeout=60)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert requests.get(f"{base}/admin/users", timeout=60).status_code == 401
        created = requests.put(f"{base}/admin/users/night-agent", headers=admin, timeout=5,
                               json={"role": "agent", "name": "夜班座席"})
        assert created.status_code == 200, created.text
        manager = _login(base, "manager")
        deadline = time.monotonic() + 60
        found = 0
        while time.monotonic() < deadline and found < 25:
            found = _count_recent(base, manager)
            time.sleep(0.5)
        assert found >= 20, found  # demo tickets fill the screens (a few may fall outside the window)
    finally:
        out = _stop(process)
    assert "Demo logins" in out and "handler-urban" in out
    from chalicelib.local import snapshot

    assert snapshot.has_table_data(data_dir) and snapshot.read_state(data_dir)["demo"]["requested"] == 25

    process, base = _start(data_dir)
    try:
        users = requests.get(f"{base}/admin/users", headers=_login(base, "admin"), timeout=60).json()["items"]
        assert "night-agent" in {u["username"] for u in users}
    finally:
        _stop(process)
