"""The embedded local runtime: the whole platform in one process tree on 127.0.0.1.

Start order: moto's server (the embedded AWS, Step Functions execution on) -> the bootstrap that
creates every resource from infra/ -> restore the last snapshot or seed demo data -> the Chalice
app behind the envelope gateway and the static portal -> the event pump -> the snapshot timer.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_INTERVAL_SECONDS = 60.0
REGION = "us-east-1"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_environment(aws_port: int) -> dict[str, str]:
    """Variables that point every AWS SDK call of this process at the embedded moto server."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "STAGE": "local",
        # botocore would address DynamoDB Streams at <account>.streams-ddb..., which moto does not route
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "complaint-platform",
        # moto's Step Functions reaches SQS/DynamoDB (service integrations) at localhost:$MOTO_PORT
        "MOTO_PORT": str(aws_port),
    }


@dataclass
class LocalRuntime:
    """Everything ``make run`` starts, as one object with start/stop."""

    port: int = 8000
    aws_port: int = 0
    data_dir: Path = field(default_factory=lambda: ROOT / ".data")
    reset: bool = False
    clock_speed: float = 1.0
    snapshot_interval: float = SNAPSHOT_INTERVAL_SECONDS
    demo_tickets: int = field(default_factory=lambda: int(os.environ.get("DEMO_TICKETS", "1500")))
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        """Bring everything up; returns when /health answers."""
        from moto.server import ThreadedMotoServer

        from chalicelib.local import moto_patches

        moto_patches.apply()
        if time.localtime().tm_gmtoff != 0:
            # moto's Wait state measures a UTC timestamp against the naive local clock: on a machine set
            # to Asia/Shanghai every timer would fire 8 hours early. The code uses aware datetimes only.
            os.environ["TZ"] = "UTC"
            time.tzset()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server would log every AWS call
        self.aws_port = self.aws_port or free_port()
        os.environ.update(local_environment(self.aws_port))
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.aws_port, verbose=False)
        self._moto.start()
        endpoint = f"http://127.0.0.1:{self.aws_port}"
        requests.post(f"{endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}},
                      timeout=5).raise_for_status()

        from chalicelib.aws import reset_clients
        from chalicelib.config import reset_settings
        from chalicelib.local.bootstrap import bootstrap

        self.env = bootstrap(endpoint, region=REGION)
        os.environ.update(self.env)
        reset_settings()
        reset_clients()
        from chalicelib.aws import client as aws_client
        from chalicelib.notifications.email import sender_address

        aws_client("ses").verify_email_identity(EmailAddress=sender_address())  # local SES sends from it

        from chalicelib.local import snapshot
        from chalicelib.local.seed import seed_reference_data

        self.seeding: threading.Thread | None = None
        if self.reset or not snapshot.exists(self.data_dir):
            self.seeded = seed_reference_data()
            self.restored: dict[str, int] | None = None
            if self.demo_tickets > 0:
                self.seeding = threading.Thread(target=self._seed_demo, name="demo-seed", daemon=True)
        else:
            self.restored = snapshot.restore(self.data_dir, self.env)
            self.seeded = {}

        from app import app
        from chalicelib.local.gateway import EnvelopeGateway
        from chalicelib.local.pump import Clock, EventPump
        from chalicelib.local.server import LocalHttpServer

        self.app = app
        self.pump = EventPump(app, self.env, clock=Clock(speed=self.clock_speed))
        if self.restored:
            # The workflow's timers are restored from the tickets: the stream replays the restored
            # items (the starter restarts each accepted ticket's flow) and the sweeper, run at once,
            # applies what fell due while the runtime was down.
            self.pump.force_due("sweeper")
        self.http = LocalHttpServer(self.port, EnvelopeGateway(app), ROOT / "portal" / "dist")
        self.http.start()
        self.pump.start()
        self._stop_snapshots = threading.Event()
        self._snapshot_thread = threading.Thread(target=self._snapshot_loop, name="snapshots", daemon=True)
        self._snapshot_thread.start()
        self._wait_healthy()
        if self.seeding is not None:
            self.seeding.start()

    def _seed_demo(self) -> None:
        """Fill the screens with demo tickets in the background (the API is already serving)."""
        from chalicelib.local.demo import seed_demo_tickets
        from chalicelib.observability import logger

        started = time.monotonic()
        result = seed_demo_tickets(self.demo_tickets)
        logger.info("demo tickets seeded", extra={**result, "seconds": round(time.monotonic() - started, 1)})
        print(f"  demo data: {result['tickets']} tickets seeded in {time.monotonic() - started:.0f} s", flush=True)

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("the local runtime did not become healthy")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _snapshot_loop(self) -> None:
        while not self._stop_snapshots.wait(self.snapshot_interval):
            self.save_snapshot()

    def save_snapshot(self) -> dict[str, int]:
        """Write .data/ now (the pump is paused meanwhile so a copy is not torn by handlers)."""
        from chalicelib.local import snapshot

        with self.pump.lock:
            return snapshot.save(self.data_dir, self.env)

    def stop(self, *, snapshot: bool = True) -> None:
        """Snapshot (unless told not to: a benchmark's throwaway data), then stop the pump, the HTTP
        server and moto."""
        self._stop_snapshots.set()
        if self.seeding is not None and self.seeding.is_alive():
            self.seeding.join(timeout=1)
        self.pump.stop()
        if snapshot:
            self.save_snapshot()
        self.http.shutdown()
        self.http.server_close()
        self._moto.stop()

    def banner(self) -> str:
        """What a newcomer needs to start clicking."""
        from chalicelib.store import directory

        users = directory.list_entries(directory.USERS)
        lines = [
            "投诉举报处置平台 · complaint and report handling platform — local runtime ready",
            f"  API     {self.base_url}/        (health: {self.base_url}/health)",
            f"  Portal  {self.base_url}/portal/",
            f"  AWS     {self.env.get('AWS_ENDPOINT_URL', os.environ.get('AWS_ENDPOINT_URL'))} (moto server)",
            f"  Data    {self.data_dir} ({'restored ' + str(self.restored) if self.restored else 'fresh demo data ' + str(self.seeded)})",
            *([f"  Demo    {self.demo_tickets} tickets over the last months are being added in the background"]
              if self.seeding is not None else []),
            "  Demo logins (POST /auth/dev-login {\"username\": ...}):",
        ]
        for user in users:
            dept = f" [{user['department']}]" if user.get("department") else ""
            lines.append(f"    {user['username']:<20} {user['role']}{dept}")
        lines.append("  Ctrl-C stops (data is saved to .data/; `make reset` starts over).")
        return "\n".join(lines)


def serve(port: int, aws_port: int, data_dir: Path, reset: bool, clock_speed: float, demo_tickets: int) -> int:
    """Run until Ctrl-C / SIGTERM."""
    runtime = LocalRuntime(port=port, aws_port=aws_port, data_dir=data_dir, reset=reset, clock_speed=clock_speed,
                           demo_tickets=demo_tickets)
    started = time.monotonic()
    runtime.start()
    print(runtime.banner(), flush=True)
    print(f"  (ready in {time.monotonic() - started:.1f} s)", flush=True)
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    # Wait in short slices: a signal the kernel hands to a worker thread only sets CPython's
    # "signal pending" flag, and the main thread runs the handler when it next wakes. A wait
    # without a timeout would sleep through Ctrl-C (seen in CI: the runtime ignored SIGINT).
    while not stop.wait(0.5):
        pass
    print("stopping: saving .data/ …", flush=True)
    runtime.stop()
    print("stopped.", flush=True)
    return 0
