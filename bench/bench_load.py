"""Load: 50 concurrent users for 60 s against the local runtime, then 10,000 tickets counted back.

Runs the embedded local runtime (moto server, event pump, HTTP API on 127.0.0.1 only) in this
process, with no demo data. Two bounded phases:

1. **Mixed load.** ``LOAD_USERS`` threads (default 50), each with its own HTTP session, for
   ``LOAD_SECONDS`` (default 60): each user registers tickets, reads them (detail, timeline, a work
   queue, the comprehensive query) and moves its own tickets through the lifecycle (accept, dispatch,
   sign, closure, review, callback, close) with the role each step needs. Every answer must be the
   expected 2xx: the error count is reported and must be zero. Throughput and p50/p99 latencies.
2. **Ingestion.** ``INGEST_TICKETS`` registrations (default 10,000) by the same number of threads,
   capped at ``INGEST_MAX_SECONDS``; then the table is counted through GSI2 over the
   run's days (``TicketRepository.received_between``): every acknowledged ticket is stored exactly once (zero
   duplicates, zero losses) and nothing unacknowledged appears.

Writes bench/results/load.json. ``LOAD_SECONDS=10 INGEST_TICKETS=500`` gives a quick smoke run.
"""
from __future__ import annotations

import copy
import itertools
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import write_result  # noqa: E402

USERS = int(os.environ.get("LOAD_USERS", "50"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
INGEST = int(os.environ.get("INGEST_TICKETS", "10000"))
INGEST_MAX_SECONDS = float(os.environ.get("INGEST_MAX_SECONDS", "1200"))
TIMEOUT = 60

COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "压测用户", "address": "苏州市姑苏区人民路1号"},
    "respondent": {"name": "压测商店", "address": "苏州市姑苏区观前街1号"},
    "request": "退款", "facts": "购买的商品有质量问题，商家拒绝退款。", "category": "商品质量",
}
# The lifecycle a user walks its tickets through: (action, role, body builder).
STEPS: list[tuple[str, str, Any]] = [
    ("accept", "agent", lambda t: {}),
    ("dispatch", "dispatcher", lambda t: {"mode": "single", "department": "MARKET"}),
    ("sign", "handler", lambda t: {"assignment_id": t["assignments"][0]["id"]}),
    ("submit-closure", "handler", lambda t: {"assignment_id": t["assignments"][0]["id"], "result": "settled",
                                             "facts": "经调解双方达成一致。"}),
    ("review-closure", "dispatcher", lambda t: {"decision": "approve", "reply": "经调解，商家已同意退款。"}),
    ("record-callback", "agent", lambda t: {"satisfaction": "satisfied", "solved": True}),
    ("close", "agent", lambda t: {}),
]
_phones = itertools.count(1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


class Stats:
    """Latencies per operation, errors with a sample of what they were, acknowledged ticket ids."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.acknowledged: list[str] = []
        self.auto_dispatched = 0  # tickets the model had dispatched before the user's dispatcher got to them
        self.raced_model = 0  # dispatches that lost the race to the model's (409 by design), then reloaded
        self.retried = 0  # transitions retried once after a 409 concurrent_modification (the platform's own change)

    def record(self, op: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latency[op].append(seconds)
            if not ok:
                self.errors[op] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{op}: {detail[:200]}")

    def all(self) -> list[float]:
        return [v for values in self.latency.values() for v in values]


class User:
    """One simulated member of staff-room traffic with its own session and its own tickets."""

    def __init__(self, base: str, tokens: dict[str, str], stats: Stats, seed: int) -> None:
        self.base, self.tokens, self.stats = base, tokens, stats
        self.session = requests.Session()
        self.random = random.Random(seed)
        self.tickets: list[dict[str, Any]] = []  # [ticket view, index of the next step]

    def call(self, op: str, method: str, path: str, role: str, body: Any = None) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            answer = self.session.request(method, self.base + path, json=body, timeout=TIMEOUT,
                                          headers={"Authorization": f"Bearer {self.tokens[role]}"})
        except requests.RequestException as exc:
            self.stats.record(op, time.perf_counter() - started, False, type(exc).__name__)
            return None
        ok = 200 <= answer.status_code < 300
        self.stats.record(op, time.perf_counter() - started, ok, f"{answer.status_code} {answer.text}")
        return answer.json() if ok else None

    def register(self) -> None:
        body = copy.deepcopy(COMPLAINT)
        body["complainant"]["phone"] = f"13{next(_phones):09d}"
        created = self.call("register", "POST", "/tickets", "agent", body)
        if created:
            ticket = created["tickets"][0]
            with self.stats.lock:
                self.stats.acknowledged.append(ticket["id"])
            self.tickets.append({"view": ticket, "step": 0})

    def query(self) -> None:
        choice = self.random.random()
        if self.tickets and choice < 0.5:
            ticket = self.random.choice(self.tickets)["view"]
            self.call("query: ticket", "GET", f"/tickets/{ticket['id']}", "manager")
        elif self.tickets and choice < 0.7:
            ticket = self.random.choice(self.tickets)["view"]
            self.call("query: timeline", "GET", f"/tickets/{ticket['id']}/timeline", "manager")
        elif choice < 0.85:
            self.call("query: queue", "GET", "/queues/to_sign?limit=20", "handler")
        else:
            self.call("query: search", "GET", "/tickets?limit=20", "manager")

    def transition(self) -> None:
        open_tickets = [t for t in self.tickets if t["step"] < len(STEPS)]
        if not open_tickets:
            self.register()
            return
        entry = self.random.choice(open_tickets)
        action, role, body = STEPS[entry["step"]]
        if action == "dispatch":
            # The model may have dispatched it by itself since acceptance (auto-dispatch runs on the
            # stream): a dispatcher opens the ticket first, as the to-dispatch queue would show it.
            current = self.call("query: ticket", "GET", f"/tickets/{entry['view']['id']}", "dispatcher")
            if current and current["status"] != "to_dispatch":
                with self.stats.lock:
                    self.stats.auto_dispatched += 1
                entry["view"], entry["step"] = current, entry["step"] + 1
                return
        path = f"/tickets/{entry['view']['id']}/{action}"
        if action == "dispatch":
            self.dispatch(entry, path, role, body(entry["view"]))
            return
        self.post_transition(entry, path, role, body)

    def post_transition(self, entry: dict[str, Any], path: str, role: str, body: Any) -> None:
        """POST one transition; on a 409 concurrent_modification (the platform itself changed the
        ticket meanwhile: a warning recorded, the model's dispatch) reload it and try once more, as the
        workbench tells its user to. Such retries are counted apart; anything else unexpected is an error."""
        for attempt in range(2):
            started = time.perf_counter()
            try:
                answer = self.session.post(self.base + path, json=body(entry["view"]), timeout=TIMEOUT,
                                           headers={"Authorization": f"Bearer {self.tokens[role]}"})
            except requests.RequestException as exc:
                self.stats.record("transition", time.perf_counter() - started, False, type(exc).__name__)
                return
            conflict = answer.status_code == 409 and answer.json()["error"]["code"] == "concurrent_modification"
            if conflict and attempt == 0:
                self.stats.record("transition", time.perf_counter() - started, True)
                with self.stats.lock:
                    self.stats.retried += 1
                current = self.call("query: ticket", "GET", path.rsplit("/", 1)[0], role)
                if not current:
                    return
                entry["view"] = current
                continue
            ok = 200 <= answer.status_code < 300
            self.stats.record("transition", time.perf_counter() - started, ok, f"{answer.status_code} {answer.text}")
            if ok:
                entry["view"], entry["step"] = answer.json(), entry["step"] + 1
            return

    def dispatch(self, entry: dict[str, Any], path: str, role: str, body: dict[str, Any]) -> None:
        """A dispatch that can lose the race to the model's own dispatch between reading the ticket
        and posting: the platform answers 409 (one of two concurrent actions wins, by design); the
        dispatcher reloads and moves on. Counted apart from errors, which are unexpected answers."""
        started = time.perf_counter()
        try:
            answer = self.session.post(self.base + path, json=body, timeout=TIMEOUT,
                                       headers={"Authorization": f"Bearer {self.tokens[role]}"})
        except requests.RequestException as exc:
            self.stats.record("transition", time.perf_counter() - started, False, type(exc).__name__)
            return
        error = answer.json().get("error", {}) if answer.status_code == 409 else {}
        if error.get("code") == "concurrent_modification" or error.get("details", {}).get("status") == "in_handling":
            self.stats.record("transition", time.perf_counter() - started, True)
            with self.stats.lock:
                self.stats.raced_model += 1
            current = self.call("query: ticket", "GET", path.rsplit("/", 1)[0], "dispatcher")
            if current:
                entry["view"] = current
                if current["status"] != "to_dispatch":  # the model dispatched it; else try again later
                    entry["step"] += 1
            return
        ok = 200 <= answer.status_code < 300
        self.stats.record("transition", time.perf_counter() - started, ok, f"{answer.status_code} {answer.text}")
        if ok:
            entry["view"], entry["step"] = answer.json(), entry["step"] + 1

    def run(self, until: float) -> None:
        while time.monotonic() < until:
            roll = self.random.random()
            if roll < 0.3 or not self.tickets:
                self.register()
            elif roll < 0.65:
                self.query()
            else:
                self.transition()


def login(base: str) -> dict[str, str]:
    session = requests.Session()
    return {user: session.post(f"{base}/auth/dev-login", json={"username": user}, timeout=TIMEOUT).json()["token"]
            for user in ("agent", "dispatcher", "handler", "manager")}


def mixed_load(base: str, tokens: dict[str, str]) -> tuple[Stats, float]:
    stats = Stats()
    users = [User(base, tokens, stats, seed) for seed in range(USERS)]
    started = time.monotonic()
    until = started + SECONDS
    threads = [threading.Thread(target=u.run, args=(until,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + TIMEOUT + 30)
    return stats, time.monotonic() - started


def ingest(base: str, tokens: dict[str, str], stats: Stats) -> tuple[int, float, bool]:
    users = [User(base, tokens, stats, 1000 + n) for n in range(USERS)]
    remaining = itertools.count()
    deadline = time.monotonic() + INGEST_MAX_SECONDS

    def worker(user: User) -> None:
        while next(remaining) < INGEST and time.monotonic() < deadline:
            user.register()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        list(pool.map(worker, users))
    elapsed = time.monotonic() - started
    sent = sum(len(u.tickets) for u in users)
    return sent, elapsed, time.monotonic() >= deadline


def stored_ids(first: date, last: date) -> list[str]:
    """Every ticket id received from ``first`` to ``last`` (GSI2: months x shards), page by page."""
    from chalicelib.services import tickets as service

    ids: list[str] = []
    cursor = None
    for _ in range(100_000):
        tickets, cursor = service.repository().received_between(first, last, limit=500, cursor=cursor)
        ids += [t.id for t in tickets]
        if not cursor:
            break
    return ids


def main() -> None:
    from chalicelib.domain.calendar import TZ
    from chalicelib.local.runtime import LocalRuntime, free_port

    with tempfile.TemporaryDirectory() as data:
        runtime = LocalRuntime(port=free_port(), data_dir=Path(data), reset=True, demo_tickets=0,
                               snapshot_interval=3600)
        runtime.start()
        try:
            first_day = datetime.now(TZ).date()
            base = runtime.base_url
            tokens = login(base)
            load, load_seconds = mixed_load(base, tokens)
            ingestion = Stats()
            sent, ingest_seconds, capped = ingest(base, tokens, ingestion)
            counted_started = time.monotonic()
            stored = stored_ids(first_day, datetime.now(TZ).date())
            count_seconds = time.monotonic() - counted_started
        finally:
            runtime.stop()
    acknowledged = load.acknowledged + ingestion.acknowledged
    duplicates = len(stored) - len(set(stored))
    lost = len(set(acknowledged) - set(stored))
    unexpected = len(set(stored) - set(acknowledged))
    total = len(load.all())
    rows: list[list[object]] = [
        [f"mixed load: users x seconds", f"{USERS} x {SECONDS:.0f} s", "50 x 60 s"],
        ["mixed load: requests answered", total, ""],
        ["mixed load: errors (any non-2xx or transport error)", sum(load.errors.values()), "0"],
        ["mixed load: tickets the model dispatched by itself first (not dispatched again)", load.auto_dispatched, ""],
        ["mixed load: dispatches that lost the race to the model's own (409 by design, then reloaded)",
         load.raced_model, ""],
        ["mixed load: transitions retried once after a concurrent change by the platform (409 by design)",
         load.retried, ""],
        ["mixed load: throughput", f"{total / load_seconds:.1f} req/s", ""],
        ["mixed load: latency p50 / p99, all requests", f"{ms(pct(load.all(), 0.5))} / {ms(pct(load.all(), 0.99))}", ""],
    ]
    for op in sorted(load.latency):
        values = load.latency[op]
        rows.append([f"  {op}: count, p50 / p99", f"{len(values)}, {ms(pct(values, 0.5))} / {ms(pct(values, 0.99))}", ""])
    rows += [
        ["ingestion: tickets registered (acknowledged 201)", f"{len(ingestion.acknowledged)} of {INGEST}",
         str(INGEST)],
        ["ingestion: errors", sum(ingestion.errors.values()), "0"],
        ["ingestion: rate", f"{len(ingestion.acknowledged) / ingest_seconds:.1f} tickets/s", ""],
        ["ingestion: register p50 / p99",
         f"{ms(pct(ingestion.all(), 0.5))} / {ms(pct(ingestion.all(), 0.99))}", ""],
        ["tickets counted on GSI2 (all phases)", len(stored), ""],
        ["duplicates (stored more than once)", duplicates, "0"],
        ["losses (acknowledged, not stored)", lost, "0"],
        ["unacknowledged tickets stored", unexpected, "0"],
        ["counting time (GSI2, the run's days)", f"{count_seconds:.1f} s", ""],
    ]
    notes = (f"Local runtime on 127.0.0.1 (moto server over HTTP for DynamoDB, SQS, Step Functions; the event pump "
             f"runs the stream consumers, the workflow and notifications meanwhile), {os.cpu_count()} CPU(s). The "
             "runtime serialises requests through one Chalice app object, as one Lambda container does, so "
             "concurrency measures queueing on one container, not the scaling of the deployed API. Each mixed-load "
             "user registers (30 %), reads (35 %: detail, timeline, a queue, the comprehensive query) and moves its "
             "own tickets through accept, dispatch, sign, closure, review, callback and close (35 %). "
             + (f"Ingestion stopped at the {INGEST_MAX_SECONDS:.0f} s cap. " if capped else "")
             + (f"Error samples: {'; '.join(load.samples + ingestion.samples)}" if load.samples or ingestion.samples
                else "No errors."))
    write_result("load", "Load: 50 concurrent users, and 10,000 tickets counted back (local runtime)", rows,
                 notes=notes)
    failed = sum(load.errors.values()) + sum(ingestion.errors.values()) + duplicates + lost + unexpected
    print(f"requests {total}, errors {sum(load.errors.values())}, ingested {len(ingestion.acknowledged)}, "
          f"stored {len(stored)}, duplicates {duplicates}, lost {lost}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
