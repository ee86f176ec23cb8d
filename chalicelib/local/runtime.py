"""The embedded local runtime: the whole platform in one process tree on 127.0.0.1.

Start order: moto's server (the embedded AWS, Step Functions execution on) -> the bootstrap that
creates every resource from infra/ -> restore the last snapshot or (a data folder that never held
data only) seed demo data -> the Chalice app behind the envelope gateway and the static portal -> the
event pump -> the saver (:mod:`chalicelib.local.saver`: what changed, every interval, and on stop).
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
PUMP_STOP_SECONDS = 3.0  # on stop, how long the pump's current handlers may finish before the final save
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

        from chalicelib.local import changes, moto_patches

        moto_patches.apply()
        changes.enable()  # every write from here on is recorded for the incremental save
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

        self._prepare_data()

        from app import app
        from chalicelib.local.gateway import EnvelopeGateway
        from chalicelib.local.pump import Clock, EventPump
        from chalicelib.local.server import LocalHttpServer

        self.app = app
        self.pump = EventPump(app, self.env, clock=Clock(speed=self.clock_speed))
        if self.restored and self.restored.get("items"):
            # The workflow's timers are restored from the tickets: the stream replays the restored
            # items (the starter restarts each accepted ticket's flow) and the sweeper, run at once,
            # applies what fell due while the runtime was down.
            self.pump.force_due("sweeper")
        self.pump.force_due("wall_refresh")  # the manager's wall is stored at once, not a minute after start
        self.http = LocalHttpServer(self.port, EnvelopeGateway(app), ROOT / "portal" / "dist")
        self.http.start()
        self.pump.start()
        self.saver.start(sequence=self.restored.get("sequence") if self.restored else None)
        from chalicelib.services.health import register_reporter

        register_reporter("snapshot", self.saver.health)
        self._wait_healthy()
        if self.seeding is not None:
            self.seeding.start()

    def _prepare_data(self) -> None:
        """Restore the data folder, or seed it if it never held data; the first save of a fresh one.

        A folder with ``state.json`` began to be seeded once: it is restored, never seeded again (a
        crash must not turn into demo data over the user's work); ``--reset`` wipes it first."""
        from chalicelib.local import changes, snapshot
        from chalicelib.local.saver import Saver
        from chalicelib.local.seed import seed_reference_data
        from chalicelib.services.mine_backfill import BackfillReport, mark_done, run_once

        self.notes: list[str] = []
        removed = snapshot.clean_leftovers(self.data_dir)
        if removed:
            self.notes.append(f"removed {len(removed)} leftovers of interrupted saves")
        if self.reset:
            snapshot.wipe(self.data_dir)
        self.saver = Saver(self.data_dir, self.env, interval=self.snapshot_interval)
        self.seeding: threading.Thread | None = None
        self.restored: dict[str, int] | None = None
        self.seeded: dict[str, int] = {}
        if not snapshot.exists(self.data_dir):
            snapshot.write_state(self.data_dir, {
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "demo": {"requested": self.demo_tickets, "complete": self.demo_tickets <= 0}})
            self.seeded = seed_reference_data(platforms=True)
            mark_done(BackfillReport())  # a fresh folder: "my tickets" backfill has nothing to do, ever
            self._first_save()
            if self.demo_tickets > 0:
                self.seeding = threading.Thread(target=self._seed_demo, name="demo-seed", daemon=True)
            return
        state = snapshot.read_state(self.data_dir)
        if not snapshot.has_table_data(self.data_dir):
            # seeding began and the run died before its first save: nothing of it was kept
            self.seeded = seed_reference_data(platforms=True)
            self._first_save()
            self.notes.append("the previous run stopped before its first save: reference data only, no demo "
                              "tickets (`make reset` seeds them)")
            return
        self.restored = snapshot.restore(self.data_dir, self.env)
        changes.forget(self.env["TABLE_NAME"])  # what the restore wrote is what is on disk
        backfilled = run_once()  # a folder saved before "my tickets" existed: once, then marked
        if backfilled is not None and backfilled.entries:
            self.notes.append(f"my tickets: {backfilled.entries} entries backfilled for "
                              f"{len(backfilled.backfilled)} tickets stored before that list existed")
        if not state.get("demo", {}).get("complete", True):
            self.notes.append("demo seeding was interrupted in an earlier run: the demo tickets saved by then "
                              "are kept (`make reset` starts over)")

    def _first_save(self) -> None:
        """Save the reference data at once, so the folder holds data before anything is served."""
        try:
            self.saver.save_now(compact=False)
        except Exception:  # logged by the saver; it retries on its timer and /health says degraded
            self.notes.append("the first save failed: see the log; retrying every few seconds")

    def _seed_demo(self) -> None:
        """Fill the screens with demo tickets in the background (the API is already serving)."""
        from chalicelib.local import snapshot
        from chalicelib.local.cti_demo import calls_per_day, seed_demo_calls
        from chalicelib.local.demo import seed_demo_tickets
        from chalicelib.observability import logger

        started = time.monotonic()
        try:
            result = seed_demo_tickets(self.demo_tickets)
            result.update(seed_demo_calls(per_day=calls_per_day(self.demo_tickets)))  # calls and today's roster
        except Exception:
            logger.exception("demo seeding failed; the tickets seeded so far are kept")
            print("  demo data: seeding failed (see the log); the tickets seeded so far are kept", flush=True)
            return
        seconds = time.monotonic() - started
        logger.info("demo tickets seeded", extra={**result, "seconds": round(seconds, 1)})
        state = snapshot.read_state(self.data_dir)
        state["demo"] = {**state.get("demo", {}), "complete": True, "tickets": result["tickets"],
                         "seconds": round(seconds, 1)}
        snapshot.write_state(self.data_dir, state)
        print(f"  demo data: {result['tickets']} tickets seeded in {seconds:.0f} s", flush=True)
        self.pump.force_due("wall_refresh")  # the wall shows the seeded tickets on the next pass

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

    def save_snapshot(self) -> dict[str, Any]:
        """Save what changed now (the pump keeps running: the copy holds the writers' lock only)."""
        result = self.saver.save_now()
        return {"items": result.items, "seconds": round(result.seconds, 3),
                "held_seconds": round(result.held_seconds, 4), **result.objects}

    def stop(self, *, snapshot: bool = True) -> bool:
        """Stop serving and pumping, save what is left (unless told not to: a benchmark's throwaway
        data), stop moto. Returns False when the final save failed (the last good one is kept).

        Demo seeding still running is not waited for: what it stored so far is saved."""
        from chalicelib.services.health import unregister_reporter

        self.http.shutdown()
        self.pump.stop(timeout=PUMP_STOP_SECONDS)
        saved = self.saver.stop(final=snapshot)
        unregister_reporter("snapshot")
        self.http.server_close()
        self._moto.stop()
        return saved is not None or not snapshot

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
            *[f"  Note    {note}" for note in self.notes],
            f"  Saving  what changed every {self.snapshot_interval:g} s and on Ctrl-C (/health says degraded "
            "when saving falls behind)",
            "  Demo logins (POST /auth/dev-login {\"username\": ...}):",
        ]
        for user in users:
            dept = f" [{user['department']}]" if user.get("department") else ""
            lines.append(f"    {user['username']:<20} {user['role']}{dept}")
        lines.append("  Ctrl-C stops (data is saved to .data/; `make reset` starts over).")
        return "\n".join(lines)


def serve(port: int, aws_port: int, data_dir: Path, reset: bool, clock_speed: float, demo_tickets: int,
          snapshot_interval: float = SNAPSHOT_INTERVAL_SECONDS) -> int:
    """Run until Ctrl-C / SIGTERM."""
    runtime = LocalRuntime(port=port, aws_port=aws_port, data_dir=data_dir, reset=reset, clock_speed=clock_speed,
                           demo_tickets=demo_tickets, snapshot_interval=snapshot_interval)
    started = time.monotonic()
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    # Installed before the start: a Ctrl-C while starting (a restore can take a while) stops right after
    # it, with the final save, instead of a KeyboardInterrupt somewhere in the start.
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    runtime.start()

    def _on_refresh(signum: int, frame: Any) -> None:
        runtime.pump.force_due("wall_refresh")

    # `kill -USR1 <pid>` stores the manager's wall on the pump's next pass instead of at the next
    # minute (after loading data by hand; the browser tests use it rather than wait a minute).
    signal.signal(signal.SIGUSR1, _on_refresh)
    print(runtime.banner(), flush=True)
    print(f"  (ready in {time.monotonic() - started:.1f} s)", flush=True)
    # Wait in short slices: a signal the kernel hands to a worker thread only sets CPython's
    # "signal pending" flag, and the main thread runs the handler when it next wakes. A wait
    # without a timeout would sleep through Ctrl-C (seen in CI: the runtime ignored SIGINT).
    while not stop.wait(0.5):
        pass
    print(f"stopping: saving what changed to {data_dir} …", flush=True)
    started = time.monotonic()
    saved = runtime.stop()
    if not saved:
        print(f"stopped, but the final save failed (see the log): {data_dir} holds the last good save, "
              f"{runtime.saver.health().get('last_saved_at')}", flush=True)
        return 1
    print(f"stopped in {time.monotonic() - started:.1f} s.", flush=True)
    return 0
