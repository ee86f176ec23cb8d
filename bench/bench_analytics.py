"""Analytics benchmark: aggregator throughput, statistics latency, monthly-report time.

The issue asks for the events of 1,000,000 tickets spread over a year. On the local runtime
(moto's server over loopback HTTP, as ``make run``) every counter, drill-down fact and claim the
aggregator writes is a Python object in one process: a whole year is about 26 million items (some
14 GB) and hours of writes, more than this machine holds. What is fed for real is one month of that
year, at its density: 1,000,000 / 365 tickets a day, 82,192 tickets registered in June, each through
the domain lifecycle, their ticket item's stream records (old and new images) parsed and derived by
the aggregator's own code in a second process (as the stream's Lambda would) and counted through
the counters' transactions in time order, 100 records per batch. The rate is reported per tenth of
the feed, so a rate that fell as the table grew would show.

Statistics and the monthly report read counters only. They are timed on the fed month; the year's
figures read that month plus the eleven others, filled with copies of the fed month's counter items
(what a year at this density holds; the cube's day cells, which no year-wide figure reads, excepted). Then every counter of the year is multiplied by ten (the
same dimension values, ten times the counts: what ten times the tickets looks like to a counter)
and everything is timed again. The ledger lists tickets and is timed per row on real ticket items.
"""
from __future__ import annotations

import multiprocessing
import os
import queue as queues
import random
import re
import statistics as stats
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DEMO_TICKETS", "0")
# The benchmark feeds the aggregator itself and never reads the table's stream: the stream keeps
# a tenth of the local runtime's default, which is memory for the month's items.
os.environ.setdefault("LOCAL_STREAM_RETENTION", "20000")

from run import write_result  # noqa: E402

TARGET_TICKETS = 1_000_000
YEAR = 2031
MONTH = 6  # the fed month (30 days)
MONTH_TICKETS = round(TARGET_TICKETS * 30 / 365)  # 82,192: June of a 1,000,000-ticket year
FEED_TICKETS = int(os.environ.get("BENCH_ANALYTICS_TICKETS", MONTH_TICKETS))  # fewer for a quick run
# the year the fed month's density stands for (1,000,000 when the whole month is fed)
YEAR_TICKETS = TARGET_TICKETS if FEED_TICKETS >= MONTH_TICKETS else round(FEED_TICKETS * 365 / 30)
FEED_BUDGET_S = float(os.environ.get("BENCH_ANALYTICS_SECONDS", "3600"))  # the feed stops there, and says so
ROUND = 250  # tickets generated per round
STREAM_BATCH = 100
SEGMENTS = 10
LATENCY_REPEATS = 3

KINDS = [("complaint", 55), ("report", 15), ("inquiry", 15), ("suggestion", 5), ("help_request", 10)]
CHANNELS = [("phone", 45), ("web", 25), ("hotline_12345", 15), ("upper_level", 10), ("walk_in", 5)]
CATEGORIES = ["食品安全", "商品质量", "价格收费", "预付卡", "网络购物", "物业服务", "装修建材", "医疗美容", "教育培训",
              "家电维修", "汽车销售", "旅游服务", "通信服务", "燃气安全", "特种设备", "药品医疗器械", "餐饮服务", "住房租赁",
              "快递物流", "健身服务", "二手车", "保健食品", "化妆品", "计量器具", "广告宣传"]
DISTRICTS = ["GUSU", "HUQIU", "WUZHONG", "XIANGCHENG", "WUJIANG", "SIP", "CHANGSHU", "ZHANGJIAGANG", "KUNSHAN",
             "TAICANG"]
DEPARTMENTS = ["MARKET", "HOUSING", "URBAN", "TRANSPORT", "ECOLOGY", "HRSS", "POLICE", "EDUCATION", "HEALTH", "WATER",
               "NATRES", "CIVIL", "MEDINS", "CULTOUR", "TELECOM", "POWER", "GAS", "FIRE"]


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def zipf_choice(rng: random.Random, items: list[str], s: float = 1.1) -> str:
    weights = [1 / (n + 1) ** s for n in range(len(items))]
    return rng.choices(items, weights=weights)[0]


class Generator:
    """Synthetic tickets through the real lifecycle, with realistic mixes and timings."""

    def __init__(self, seed: int = 42, prefix: str = f"B{YEAR}-") -> None:
        from tests.analytics.helpers import Desk

        self.rng = random.Random(seed)
        self.desk = Desk(prefix=prefix)
        self.respondents = [f"某某商户{n:04d}" for n in range(3000)]
        self.agents = [f"agent{n:02d}" for n in range(1, 41)]
        self.events: list[tuple[datetime, int, object, object]] = []  # (time, seq, before, after)
        self._seq = 0
        self.forget = False  # drop each ticket from the desk once its life is recorded (long feeds)

    def _at(self, start: datetime, hours: float) -> datetime:
        return start + timedelta(hours=hours)

    def ticket(self, registered: datetime) -> None:
        from chalicelib.domain.errors import DomainError
        from chalicelib.domain.ticket import Actor
        from tests.analytics.helpers import DISPATCHER, MANAGER, SYSTEM, submission

        rng = self.rng
        kind, channel = weighted(rng, KINDS), weighted(rng, CHANNELS)
        agent = Actor(rng.choice(self.agents), "agent")
        registrar = {"web": Actor("citizen", "citizen"), "upper_level": Actor("province-12315", "partner")}.get(
            channel, agent)
        data = submission(kind=kind, channel=channel, category=zipf_choice(rng, CATEGORIES, 0.9),
                          district=rng.choice(DISTRICTS), respondent=zipf_choice(rng, self.respondents),
                          phone=f"139{rng.randrange(10**8):08d}", facts=f"诉求内容{rng.randrange(10**9)}")
        try:
            tickets = self.desk.register(data, registered, registrar)
        except DomainError:
            return
        for ticket in tickets:
            self._life(ticket.id, registered, agent, DISPATCHER, MANAGER, SYSTEM)

    def _life(self, tid: str, t0: datetime, agent, dispatcher, manager, system) -> None:
        from chalicelib.domain.errors import DomainError
        from chalicelib.domain.ticket import Actor

        rng, desk = self.rng, self.desk
        start = len(desk.history) - 1
        now = t0

        def act(action: str, hours: float, actor, **params) -> bool:
            nonlocal now
            now = now + timedelta(hours=hours)
            try:
                desk.act(tid, action, now, actor, **params)
                return True
            except DomainError:
                return False

        ticket = desk.tickets[tid]
        roll = rng.random()
        if ticket.kind == "inquiry" and roll < 0.6:
            act("answer_directly", rng.uniform(0.1, 3), agent, answer="已答复")
        elif roll < 0.05:
            act("decline", rng.uniform(0.5, 30), agent, reason_code="not_our_duty")
        else:
            act("accept", rng.uniform(0.2, 30), agent)
            depts = rng.sample(DEPARTMENTS[:8] if rng.random() < 0.8 else DEPARTMENTS, 3)
            mode = rng.random()
            if mode < 0.75:
                act("dispatch", rng.uniform(0.1, 8), dispatcher, mode="single", department=depts[0])
            elif mode < 0.9:
                act("dispatch", rng.uniform(0.1, 8), dispatcher, mode="lead_assist", lead=depts[0], assists=[depts[1]])
            else:
                act("dispatch", rng.uniform(0.1, 8), dispatcher, mode="parallel", departments=depts[:2])
            shares = [a for a in desk.tickets[tid].assignments]
            late = rng.random() < 0.12
            if late:
                key = f"sign:{shares[0].id}"
                act("record_warning", 20, system, clock=key, level="red")
                act("urge", 4, manager, text="请尽快签收", department=shares[0].department)
            for a in shares:
                act("sign", rng.uniform(0.2, 40 if late else 10), Actor(f"h-{a.department}", "handler", a.department),
                    assignment_id=a.id)
            result = {"complaint": "settled", "report": "case_filed"}.get(desk.tickets[tid].kind)
            for a in sorted(shares, key=lambda s: s.role != "assist"):
                params = {"assignment_id": a.id, "facts": "已办理"}
                if result and a.role != "assist":
                    params["result"] = result if rng.random() < 0.7 else {"complaint": "not_settled"}.get(
                        desk.tickets[tid].kind, result)
                act("submit_closure", rng.uniform(24, 24 * 12), Actor(f"h-{a.department}", "handler", a.department),
                    **params)
            if rng.random() < 0.1:
                act("review_closure", rng.uniform(1, 20), dispatcher, decision="rework", text="补充")
                for a in sorted(desk.tickets[tid].active_assignments, key=lambda s: s.role != "assist"):
                    params = {"assignment_id": a.id, "facts": "已补充"}
                    if result and a.role != "assist":
                        params["result"] = result
                    act("submit_closure", rng.uniform(5, 48), Actor(f"h-{a.department}", "handler", a.department),
                        **params)
            act("review_closure", rng.uniform(1, 20), dispatcher, decision="approve", reply="已办结")
            satisfaction = weighted(rng, [("satisfied", 80), ("basically_satisfied", 12), ("dissatisfied", 8)])
            if desk.tickets[tid].status == "pending_evaluation":
                act("evaluate", rng.uniform(2, 72), Actor("citizen", "citizen"), satisfaction=satisfaction,
                    solved=satisfaction != "dissatisfied")
            else:
                act("record_callback", rng.uniform(1, 20), agent, satisfaction=satisfaction,
                    solved=satisfaction != "dissatisfied")
            act("close", rng.uniform(0.5, 10), agent)
        for before, outcome in desk.history[start:]:
            self._seq += 1
            self.events.append((outcome.ticket.updated_at, self._seq, before, outcome.ticket))
        if self.forget:  # its whole life is in the events now
            desk.tickets.pop(tid, None)

    def take_stream(self, until: datetime) -> list[dict]:
        """The stream records of changes made up to ``until``, in time order (later ones wait)."""
        from tests.analytics.helpers import record

        self.events.sort(key=lambda e: (e[0], e[1]))
        cut = next((n for n, e in enumerate(self.events) if e[0] > until), len(self.events))
        images: dict[int, dict] = {}
        out = [record(before, after, images) for _, _, before, after in self.events[:cut]]
        self.events = self.events[cut:]
        self.desk.history.clear()
        return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def produce(out: multiprocessing.Queue, tickets: int, seed: int = 42) -> None:
    """The second process: tickets through the lifecycle, their stream records, and the aggregator's
    own reading of them (``aggregator.changes_of``), in rounds, in time order; at the end, the CPU
    seconds that reading took."""
    from chalicelib import streams
    from chalicelib.analytics import aggregator

    gen = Generator(seed)
    gen.forget = True
    start = datetime(YEAR, MONTH, 1, 0, 0, tzinfo=_tz())
    spacing = timedelta(days=30) / tickets
    registered, made = start, 0
    cpu = {"derive": 0.0}
    while made < tickets:
        for _ in range(min(ROUND, tickets - made)):
            registered += spacing * gen.rng.uniform(0.5, 1.5)
            gen.ticket(registered)
            made += 1
        stream = gen.take_stream(until=registered + timedelta(days=400) if made >= tickets else registered)
        for begin in range(0, len(stream), STREAM_BATCH):
            t0 = time.process_time()
            records = [c for c in streams.parse({"Records": stream[begin:begin + STREAM_BATCH]}) if aggregator.accepts(c)]
            changes = aggregator.changes_of(records)
            cpu["derive"] += time.process_time() - t0
            out.put(("batch", made, (len(records), changes)))
    out.put(("done", made, cpu))


def main() -> None:
    import requests

    from chalicelib.local.runtime import LocalRuntime, free_port

    rows: list[list[object]] = Rows()
    with tempfile.TemporaryDirectory() as data:
        # no snapshot: an hourly Scan of millions of throwaway items stalled the statistics phase
        runtime = LocalRuntime(port=free_port(), data_dir=Path(data), reset=True, snapshot_interval=10 ** 9,
                               demo_tickets=0)
        runtime.start()
        runtime.pump.stop()  # the benchmark feeds the aggregator itself; nothing else should compete
        _index_gsi_now()
        try:
            aggregate_and_measure(runtime, requests, rows)
        except BaseException as exc:  # keep what was measured (an hour's feed), say where it stopped
            rows.append(["the run stopped here", type(exc).__name__, str(exc)[:200]])
            raise
        finally:
            runtime.stop(snapshot=False)  # millions of throwaway items: nothing to keep
            scope = (f"a month of a {TARGET_TICKETS:,}-ticket year" if FEED_TICKETS >= MONTH_TICKETS else
                     f"a month at {FEED_TICKETS:,} tickets (a {YEAR_TICKETS:,}-ticket year)")
            write_result("analytics", f"Analytics: {scope}, statistics, reports (local runtime)", rows, notes=NOTES)


def _index_gsi_now() -> None:
    """Have the local runtime build its GSI partition index while the table is empty.

    It is built on the first GSI query and kept up to date by every write after that; built after
    the feed, over millions of items, it outlasted a query's 10 s timeout (the ledger's first read)."""
    from chalicelib.analytics import ddb

    ddb.ddb().query(TableName=ddb.table(), IndexName="GSI1", KeyConditionExpression="GSI1PK = :p",
                    ExpressionAttributeValues={":p": {"S": "warm"}}, Limit=1)


class Rows(list):
    """Result rows, each also printed as it is measured (a long run shows its figures as it goes)."""

    def append(self, row: list[object]) -> None:  # type: ignore[override]
        print("  row:", row, file=sys.stderr, flush=True)
        super().append(row)


NOTES = ("Local runtime: moto's server over loopback HTTP in the benchmark's process, the event pump stopped so "
         "that the benchmark alone feeds the aggregator. A second process makes the tickets: each goes through "
         "the domain lifecycle (accept/decline/answer, single/lead-assist/parallel dispatch, late signings with "
         "red warnings and urgings, rework, callbacks or evaluations, closure), registered uniformly over June at "
         "the density of a 1,000,000-ticket year, and the aggregator's own code reads their stream records (old "
         "and new images), 100 per batch in time order; the first process counts them through the counters' "
         "transactions (claims, merged counter updates, drill-down facts). A whole year is not fed: on the "
         "local runtime every item lives in one process's memory, and a year is about 26 million items. "
         "The year's statistics read the fed month and eleven copies of its counter items (the cube's day cells "
         "excepted: whole months read the month cells). '10x' multiplies "
         "every counter of the year by ten (the same dimension values, ten times the counts): the "
         "counter items read stay the same, as they do for real once every department, district and category "
         "occurs; respondent lists do grow with distinct respondents. A report job stores and links the report "
         "(figures + HTML, timed here) before it writes the ledger, which lists every ticket and so grows with "
         "them: it is timed on 1,000 real ticket items of one day (read by day through GSI2, written with "
         "openpyxl) and extrapolated to a month at 1x and 10x. On the local runtime its rate is bound by moto's "
         "server and botocore's parsing of whole ticket items (docs/decisions/0008).")


def feed(rows: list[list[object]]) -> None:
    """Count the month's tickets (made by :func:`produce` in another process); rows of rates."""
    from chalicelib.analytics import counters

    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue(maxsize=64)
    producer = context.Process(target=produce, args=(out, FEED_TICKETS), daemon=True)
    producer.start()
    report = counters.ApplyReport()
    records = made = 0
    apply_seconds = 0.0
    segment_rates: list[float] = []
    segment_start, segment_records, segment_size = time.perf_counter(), 0, max(1, FEED_TICKETS // SEGMENTS)
    began = time.perf_counter()
    cpu: dict[str, float] = {}
    stopped_early = False
    while True:
        try:
            kind, made_so_far, payload = out.get(timeout=600)
        except queues.Empty:
            raise RuntimeError("the ticket producer went silent for 10 minutes") from None
        if kind == "done":
            made, cpu = made_so_far, payload
            break
        count, changes = payload
        t0 = time.perf_counter()
        counters.apply(changes, report)
        apply_seconds += time.perf_counter() - t0
        records += count
        segment_records += count
        if made_so_far >= segment_size * (len(segment_rates) + 1) and segment_records >= 1000:
            now = time.perf_counter()
            segment_rates.append(segment_records / (now - segment_start))
            segment_start, segment_records = now, 0
            print(f"  {made_so_far} tickets, {records} changes, {now - began:.0f} s, "
                  f"{segment_rates[-1]:.0f} changes/s", file=sys.stderr, flush=True)
        if time.perf_counter() - began > FEED_BUDGET_S:
            stopped_early, made = True, made_so_far
            producer.terminate()
            break
    producer.join(timeout=30)
    wall = time.perf_counter() - began
    rows.append([f"tickets registered: June of a {TARGET_TICKETS:,}-ticket year ({MONTH_TICKETS:,} tickets)", made,
                 "stopped at the time budget: changes fed up to then" if stopped_early else
                 "" if made >= MONTH_TICKETS else f"a shorter run (BENCH_ANALYTICS_TICKETS={FEED_TICKETS})"])
    rows.append(["ticket changes (stream records) fed", records, ""])
    rows.append(["ticket changes per ticket", round(records / max(made, 1), 2), ""])
    rows.append(["feed time, wall clock (s)", round(wall), ""])
    rows.append(["aggregation rate, end to end (changes/s)", round(records / wall), ""])
    rows.append(["  counting (transactions), the first process (changes/s)", round(records / apply_seconds), ""])
    if cpu:
        rows.append(["  reading records into facts, the second process (changes/s, CPU)",
                     round(records / max(cpu["derive"], 1e-9)), ""])
    if segment_rates:
        rows.append(["rate over the first / last tenth of the feed (changes/s)",
                     f"{segment_rates[0]:.0f} / {segment_rates[-1]:.0f}", "flat: no slowdown as the table grows"])
    rows.append(["DynamoDB transactions per 100 changes", round(report.transactions * 100 / max(records, 1), 1), ""])
    rows.append(["items written per change (claims, counter updates, facts)",
                 round((report.counted + report.updates + report.facts) / max(records, 1), 2), ""])
    per_year = TARGET_TICKETS * records / max(made, 1)
    rows.append([f"at this rate, the whole year ({per_year:,.0f} changes), one stream shard (h)",
                 round(per_year / (records / wall) / 3600, 1), "estimate"])


def aggregate_and_measure(runtime, requests, rows: list[list[object]]) -> None:
    feed(rows)
    month = f"{YEAR}-{MONTH:02d}"
    t0 = time.perf_counter()
    copied = _copy_month_to_year(month)
    rows.append([f"year of counters: the month's {copied:,} counter items copied to 11 months (s)",
                 round(time.perf_counter() - t0, 1), ""])

    token = requests.post(f"{runtime.base_url}/auth/dev-login", json={"username": "manager"}, timeout=10).json()["token"]
    headers = {"authorization": f"Bearer {token}"}
    quarter = f"{YEAR}-Q{(MONTH - 1) // 3 + 1}"
    probes = {
        "overview, the month": ("GET", f"/stats/overview?period={month}", None),
        "overview, the year": ("GET", f"/stats/overview?period={YEAR}", None),
        "events by category, the year": ("GET", f"/stats/events?period={YEAR}&by=category", None),
        "efficiency by department, the year": ("GET", f"/stats/efficiency?period={YEAR}&by=department", None),
        "cube query: district x kind, food only, the quarter": (
            "POST", "/stats/query", {"period": quarter, "dimensions": ["district", "kind"],
                                     "measures": ["received", "satisfaction_rate"],
                                     "filters": {"category": ["食品安全"]}}),
        "drill-down, first page": ("GET", f"/stats/drilldown?period={month}&measure=sign_late", None),
    }

    def latency(label: str) -> None:
        for name, (method, path, body) in probes.items():
            samples = []
            for _ in range(LATENCY_REPEATS):
                t0 = time.perf_counter()
                answer = requests.request(method, runtime.base_url + path, json=body, headers=headers, timeout=120)
                samples.append(time.perf_counter() - t0)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
            rows.append([f"{name}: p50 latency, {label} (ms)", round(stats.median(samples) * 1000), ""])
        rows.append([f"monthly report (figures + HTML; the ledger follows), {label} (s)", round(report_seconds(), 2),
                     "< 10"])

    print("  statistics latency", file=sys.stderr, flush=True)
    latency(f"{YEAR_TICKETS:,} tickets a year")
    scaled = _scale_year(10)
    rows.append(["counter items of the year, all multiplied by 10", scaled, ""])
    latency(f"10x: {YEAR_TICKETS * 10:,} tickets a year")
    for row in ledger_rate():
        rows.append(row)


def _counter_items(prefix: str) -> tuple[Any, list[dict[str, Any]]]:
    """A writer straight into the local runtime's table, and the counter items whose PK starts with ``prefix``.

    The benchmark shares the runtime's process: writing through the patched backend (as every
    write does) keeps the partition index true, without millions of HTTP calls."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.analytics import ddb
    from chalicelib.local.runtime import REGION

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    table = backend.get_table(ddb.table())
    items = [item.to_json()["Attributes"] for bucket_key, bucket in list(table.items.items())
             if str(bucket_key.value).startswith(prefix) for item in bucket.values()]
    return lambda item: backend.put_item(ddb.table(), item), items


def _copy_month_to_year(month: str) -> int:
    """Copy the month's counter items into the year's other months; returns the items per month.

    The cube's day cells are not copied: no year-wide figure reads them (whole months read the
    month cells), and they are most of a month's items - memory and minutes for nothing."""
    put, items = _counter_items(f"AGG#{month}#")
    items = [item for item in items if not item["PK"]["S"].endswith("#cube")]
    for other in range(1, 13):
        if other == MONTH:
            continue
        target = f"{YEAR}-{other:02d}"
        for item in items:
            copy = {**item, "PK": {"S": item["PK"]["S"].replace(f"AGG#{month}#", f"AGG#{target}#")}}
            if "GSI1SK" in copy and "S" in copy["GSI1SK"]:
                copy["GSI1SK"] = {"S": copy["GSI1SK"]["S"].replace(month, target)}
            if "GSI1PK" in copy and "S" in copy["GSI1PK"]:
                copy["GSI1PK"] = {"S": copy["GSI1PK"]["S"].replace(f"RA#{month}", f"RA#{target}")}
            put(copy)
    return len(items)


def _tz():
    from chalicelib.domain.calendar import TZ

    return TZ


def _scale_year(factor: int) -> int:
    """Every counter of the year times ``factor``: what ``factor`` times the tickets look like to the
    counters (averages and rates unchanged); returns the items."""
    from decimal import Decimal

    put, items = _counter_items(f"AGG#{YEAR}")
    for item in items:
        put({k: {"N": str(Decimal(v["N"]) * factor)} if "N" in v and k != "expires_at" else v for k, v in item.items()})
    return len(items)


def report_seconds() -> float:
    from chalicelib.analytics.period import month_period
    from chalicelib.reports import builder, render
    from chalicelib.services import clock

    period = month_period(YEAR, MONTH)
    now = clock.now()
    t0 = time.perf_counter()
    data = builder.periodic(period, now=now)
    job = {"title": "月度报告", "period": period.to_dict(), "revision": 1}
    html = render.render("periodic.html.j2", {"job": job, "data": data, "generated_at": "",
                                              "subject_names": {}})
    assert "本期共登记诉求" in html
    return time.perf_counter() - t0


LEDGER_TICKETS = int(os.environ.get("BENCH_LEDGER_TICKETS", "1000"))  # a third of a day at the year's density


def ledger_rate() -> list[list[object]]:
    """Ledger rows per second on real ticket items, extrapolated to a month of a 1,000,000-ticket year.

    The job stores the report's HTML first and writes the ledger after it (the ledger lists every
    ticket, so its time grows with them); the rate is measured on enough rows that the fixed costs
    of a ledger (the workbook, the day list) do not flatter or spoil the extrapolation."""
    from chalicelib.analytics.period import Period
    from chalicelib.reports import ledger
    from chalicelib.store.tickets import ticket_item

    gen = Generator(seed=9, prefix=f"L{YEAR + 1}-")  # ids of their own: the year's tickets are counted already
    day = datetime(YEAR + 1, 3, 2, 9, 0, tzinfo=_tz())
    for n in range(LEDGER_TICKETS):
        gen.ticket(day + timedelta(seconds=30 * n))
    for ticket in gen.desk.tickets.values():
        ticket_item(ticket).save()
    from chalicelib.analytics import aggregator, counters
    from chalicelib import streams

    counters.apply(aggregator.changes_of(streams.parse({"Records": gen.take_stream(until=day + timedelta(days=400))})))
    period = Period(day.date(), day.date())
    t0 = time.perf_counter()
    path, written = ledger.write_tickets(ledger.tickets_in(period), title="台账")
    os.remove(path)
    seconds = time.perf_counter() - t0
    if written == 0:
        raise RuntimeError("the ledger found none of the day's tickets: nothing to time")
    per_row = seconds / written
    month_rows = TARGET_TICKETS / 12
    return [[f"ledger: rows per second (read by day + xlsx, {written:,} rows)", round(written / seconds), ""],
            [f"ledger of a month of a {TARGET_TICKETS:,}-ticket year ({month_rows:,.0f} rows), extrapolated (s)",
             round(per_row * month_rows), "after the report, own progress"],
            [f"ledger of a month at 10x ({month_rows * 10:,.0f} rows), extrapolated (s)",
             round(per_row * month_rows * 10), "after the report, own progress"]]


PROGRESS = re.compile(r"^\s+(\d+) tickets, (\d+) changes, (\d+) s, (\d+) changes/s$")


def feed_result_from_log(log: Path) -> None:
    """Turn the progress lines of a run's stderr (one per tenth of the feed) into a result of its own.

    For a full month's feed whose later steps did not finish: the feed is most of an hour, and what
    it measured stays true whatever failed after it. The log is kept beside the results."""
    lines = [m.groups() for m in map(PROGRESS.match, log.read_text(encoding="utf-8").splitlines()) if m]
    if not lines:
        raise SystemExit(f"{log}: no feed progress lines")
    tickets, changes, seconds = (int(v) for v in lines[-1][:3])
    rows = [["tickets registered (the whole month)", tickets, f"the density of a {TARGET_TICKETS:,}-ticket year"],
            ["ticket changes counted by the last registration", changes,
             "the later steps of the last tickets follow; the log does not total them"],
            ["time to then, wall clock (s)", seconds, ""],
            ["aggregation rate, end to end (changes/s)", round(changes / seconds), ""],
            ["rate per tenth of the feed (changes/s)", " / ".join(rate for *_, rate in lines),
             "flat: no slowdown as the table grows"]]
    kept = ROOT / "bench" / "results" / "analytics_month_feed.log"
    if log.resolve() != kept.resolve():
        kept.write_text("\n".join(line for line in log.read_text(encoding="utf-8").splitlines()
                                  if PROGRESS.match(line)) + "\n", encoding="utf-8")
    write_result("analytics_month_feed", "Analytics: the full month's feed (82,192 tickets, local runtime)", rows,
                 notes="The aggregation part of a run of `bench_analytics.py` at full density (June of a "
                       "1,000,000-ticket year, every ticket through the lifecycle). That run's statistics "
                       "phase answered every probe, at 1x and 10x, but its figures were lost: the ledger step "
                       "after them timed out while the local runtime built its GSI partition index over "
                       "millions of items (fixed: the index is now built before the feed). Its progress lines "
                       "are kept in bench/results/analytics_month_feed.log; the statistics figures above come "
                       "from a shorter run.")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--feed-log":
        feed_result_from_log(Path(sys.argv[2]))
    else:
        main()
