"""Analytics benchmark: aggregator throughput, statistics latency, monthly-report time.

On the local runtime (moto's server over loopback HTTP, as ``make run``), the aggregator is fed
the stream records of synthetic tickets spread over a year (real ticket states, produced by the
domain's lifecycle, in time order, in stream batches of 100). The issue's target is 1,000,000
tickets; what finishes here within the time budget is measured and the rest extrapolated
linearly (the aggregator's work per change does not depend on what is already counted).
Statistics and the monthly report read counters only: they are timed on the counted year, then
again after adding nine times the volume (the same dimension values, nine times the counts),
which is what ten times the tickets looks like to a counter once every dimension value occurs.
The ledger reads tickets and is timed per row.
"""
from __future__ import annotations

import os
import random
import statistics as stats
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DEMO_TICKETS", "0")

from run import write_result  # noqa: E402

TARGET_TICKETS = 1_000_000
AGGREGATION_BUDGET_S = float(os.environ.get("BENCH_ANALYTICS_SECONDS", "75"))
SAMPLE_TICKETS = 6000  # the year's sample is spaced for this many; the budget decides how far it gets
ROUND = 50  # tickets generated per round
YEAR = 2031
STREAM_BATCH = 100
LATENCY_REPEATS = 5

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

    def take_stream(self, until: datetime) -> list[dict]:
        """The stream records of changes made up to ``until``, in time order (later ones wait)."""
        from tests.analytics.helpers import record

        self.events.sort(key=lambda e: (e[0], e[1]))
        cut = next((n for n, e in enumerate(self.events) if e[0] > until), len(self.events))
        out = [record(before, after) for _, _, before, after in self.events[:cut]]
        self.events = self.events[cut:]
        self.desk.history.clear()
        return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    import requests

    from chalicelib.local.runtime import LocalRuntime, free_port

    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as data:
        runtime = LocalRuntime(port=free_port(), data_dir=Path(data), reset=True, snapshot_interval=3600,
                               demo_tickets=0)
        runtime.start()
        runtime.pump.stop()  # the benchmark feeds the aggregator itself; nothing else should compete
        try:
            rows += aggregate_and_measure(runtime, requests)
        finally:
            runtime.stop()
    write_result("analytics", "Analytics: aggregation, statistics, reports (local runtime)", rows, notes=NOTES)


NOTES = ("Local runtime: moto's server over loopback HTTP, one process, the event pump stopped so the "
         "benchmark alone feeds the aggregator. Tickets are synthetic but real: each goes through the domain "
         "lifecycle (accept/decline/answer, single/lead-assist/parallel dispatch, late signings with red "
         "warnings and urgings, rework, callbacks or evaluations, closure), registered uniformly over a year, "
         "and the ticket item's stream records (old and new images) reach the aggregator in time order, 100 "
         "per batch, as the stream handler would get them. As many tickets as fit in the time budget are "
         "aggregated; the time for 1,000,000 tickets is extrapolated linearly from the measured rate, which is "
         "an estimate, not a measurement. Statistics and reports read counters only: '10x' adds nine times "
         "the counted volume in one pass (the same dimension values with nine times the counts), so the counter "
         "items read stay the same - as they do for real once every department, district and category occurs; "
         "respondent lists do grow with distinct respondents. The ledger lists tickets and is timed per row "
         "(100 real ticket items), then extrapolated to a month of a 1,000,000-ticket year.")


def aggregate_and_measure(runtime, requests) -> list[list[object]]:
    from chalicelib import streams
    from chalicelib.analytics import aggregator, counters
    
    rows: list[list[object]] = []
    gen = Generator()
    start = datetime(YEAR, 1, 1, 8, 0, tzinfo=_tz())
    spacing = timedelta(days=365) / SAMPLE_TICKETS  # registrations spread over the year, in order
    tickets = changes_total = transactions = 0
    feed_seconds = derive_seconds = 0.0
    registered = start
    while feed_seconds < AGGREGATION_BUDGET_S and registered.year == YEAR:
        for _ in range(ROUND):
            registered += spacing * gen.rng.uniform(0.5, 1.5)
            gen.ticket(registered)
            tickets += 1
        stream = gen.take_stream(until=registered)  # what has happened by now, in time order
        for begin in range(0, len(stream), STREAM_BATCH):
            records = [c for c in streams.parse({"Records": stream[begin:begin + STREAM_BATCH]})
                       if aggregator.accepts(c)]
            t0 = time.perf_counter()
            changes = aggregator.changes_of(records)
            t1 = time.perf_counter()
            report = counters.apply(changes)
            feed_seconds += time.perf_counter() - t0
            derive_seconds += t1 - t0
            changes_total += len(records)
            transactions += report.transactions
        print(f"  {tickets} tickets, {changes_total} changes, {feed_seconds:.1f} s aggregating", file=sys.stderr,
              flush=True)
    per_ticket = changes_total / max(tickets, 1)
    rate = changes_total / feed_seconds
    rows.append(["tickets aggregated (synthetic, one year)", tickets, ""])
    rows.append(["ticket changes (stream records) per ticket", round(per_ticket, 2), ""])
    rows.append(["aggregation rate, end to end (changes/s)", round(rate), ""])
    rows.append(["  of which deriving facts from images (changes/s, CPU)", round(changes_total / derive_seconds), ""])
    rows.append(["DynamoDB transactions per 100 changes", round(transactions * 100 / changes_total, 1), ""])
    hours = TARGET_TICKETS * per_ticket / rate / 3600
    rows.append([f"extrapolated: {TARGET_TICKETS:,} tickets ({TARGET_TICKETS * per_ticket:,.0f} changes), "
                 "one stream shard (h)", round(hours, 1), ""])
    rows.append(["extrapolated: the same spread over 8 shards in parallel (h)", round(hours / 8, 2), ""])

    token = requests.post(f"{runtime.base_url}/auth/dev-login", json={"username": "manager"}, timeout=10).json()["token"]
    headers = {"authorization": f"Bearer {token}"}
    probes = {
        "overview, one month": ("GET", f"/stats/overview?period={YEAR}-06", None),
        "overview, the year": ("GET", f"/stats/overview?period={YEAR}", None),
        "events by category, the year": ("GET", f"/stats/events?period={YEAR}&by=category", None),
        "efficiency by department, the year": ("GET", f"/stats/efficiency?period={YEAR}&by=department", None),
        "cube query: district x kind, food only, one quarter": (
            "POST", "/stats/query", {"period": f"{YEAR}-Q2", "dimensions": ["district", "kind"],
                                     "measures": ["received", "satisfaction_rate"],
                                     "filters": {"category": ["食品安全"]}}),
        "drill-down, first page": ("GET", f"/stats/drilldown?period={YEAR}-06&measure=sign_late", None),
    }

    def latency(label: str) -> None:
        for name, (method, path, body) in probes.items():
            samples = []
            for _ in range(LATENCY_REPEATS):
                t0 = time.perf_counter()
                answer = requests.request(method, runtime.base_url + path, json=body, headers=headers, timeout=60)
                samples.append(time.perf_counter() - t0)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
            rows.append([f"{name}: p50 latency, {label} (ms)", round(stats.median(samples) * 1000),
                         "" if "drill" in name else "independent of ticket count"])
        rows.append([f"monthly report (figures + HTML, ledger excluded), {label} (s)", round(report_seconds(), 2),
                     "< 10"])

    print("  statistics latency", file=sys.stderr, flush=True)
    latency("counted year")
    t0 = time.perf_counter()
    _add_volume(9)
    rows.append(["adding 9x the volume (365 weighted changes) (s)", round(time.perf_counter() - t0, 1), ""])
    latency("10x volume")
    rows += ledger_rate()
    return rows


def _tz():
    from chalicelib.domain.calendar import TZ

    return TZ


def _add_volume(factor: int) -> None:
    """``factor`` times more of everything, in one pass: a day's worth of counts per change, weighted."""
    from chalicelib.analytics import counters
    from chalicelib.analytics.facts import Change, Dims, Fact

    rng = random.Random(7)
    changes = []
    for day in range(365):
        d = (datetime(YEAR, 1, 1) + timedelta(days=day)).date().isoformat()
        dims = Dims(district=rng.choice(DISTRICTS), category=zipf_choice(rng, CATEGORIES, 0.9),
                    kind=weighted(rng, KINDS), channel=weighted(rng, CHANNELS), respondent="-")
        facts = tuple(Fact(m, d, factor * rng.randint(5, 15), rng.choice(DEPARTMENTS[:8]))
                      for m in ("received", "accepted", "dispatched", "signed", "sign_on_time", "closed"))
        changes.append(Change(ticket_id=f"X{YEAR}-{day:03d}", version=1, dims=dims, facts=facts))
    counters.apply(changes)


def report_seconds() -> float:
    from chalicelib.analytics.period import month_period
    from chalicelib.reports import builder, render
    from chalicelib.services import clock

    period = month_period(YEAR, 6)
    now = clock.now()
    t0 = time.perf_counter()
    data = builder.periodic(period, now=now)
    job = {"title": "月度报告", "period": period.to_dict(), "revision": 1}
    html = render.render("periodic.html.j2", {"job": job, "data": data, "generated_at": "", "ledger_rows": None,
                                              "subject_names": {}})
    assert "本期共登记诉求" in html
    return time.perf_counter() - t0


def ledger_rate() -> list[list[object]]:
    """Ledger rows per second on real ticket items, extrapolated to a month of a 1,000,000-ticket year."""
    from chalicelib.analytics.period import Period
    from chalicelib.reports import ledger
    from chalicelib.store.tickets import ticket_item

    gen = Generator(seed=9, prefix=f"L{YEAR + 1}-")  # ids of their own: the year's tickets are counted already
    day = datetime(YEAR + 1, 3, 2, 9, 0, tzinfo=_tz())
    for n in range(100):
        gen.ticket(day + timedelta(minutes=n))
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
    return [["ledger: rows per second (read by day + xlsx)", round(written / seconds), ""],
            [f"ledger of a month of a {TARGET_TICKETS:,}-ticket year ({month_rows:,.0f} rows), extrapolated (s)",
             round(per_row * month_rows), ""]]


if __name__ == "__main__":
    main()
