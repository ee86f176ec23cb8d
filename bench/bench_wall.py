"""The manager's wall at demo size: one GET /stats/wall per period against what the wall used to do.

Starts the local runtime as ``make run`` does with the demo tickets (``DEMO_TICKETS``, 1,500 by
default), waits until seeding has ended and the analytics counters have counted every demo ticket,
times the scheduled refresh (``wall_refresh``: the three standard periods and the backlog computed and
stored), then the wall's request for 近7日, 近30日 and 近90日 as the page asks them (answered from the
stored item), the same lengths ending yesterday or before (computed: the first request, and again
within the one-minute reuse) - and - for comparison -
what the wall did before issue 14 for 近30日: every page of ``GET /tickets`` for the period (200 a page,
at most 10) and 30 ticket details for the satisfaction sample. 近90日 had no old figure: the tickets
list refused periods over 31 days.
"""
from __future__ import annotations

import os
import statistics as stats
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import write_result  # noqa: E402

DEMO_TICKETS = int(os.environ.get("DEMO_TICKETS", "1500"))
REPEATS = 5
WAIT_SECONDS = float(os.environ.get("BENCH_WALL_WAIT_SECONDS", "900"))


def _beijing_day(offset: int = 0) -> str:
    from chalicelib.domain.calendar import TZ

    return (datetime.now(TZ) + timedelta(days=offset)).date().isoformat()


def _median_seconds(call, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return stats.median(times)


def _seed(count: int, chunk: int = 25) -> int:
    """Seed ``count`` demo tickets in chunks, as the runtime's demo seeding does.

    The runtime's own background seeding stops at its first ConcurrentModification (a ticket flow
    records a warning on a back-dated ticket between its creation and the rest of its lifecycle);
    here a chunk that meets one ends there and the next chunk goes on. Returns the tickets stored
    (counted by the day index, 125 days back: the demo spreads tickets over 120)."""
    from chalicelib.domain.errors import ConcurrentModification
    from chalicelib.local.demo import seed_demo_tickets
    from chalicelib.services import tickets as service

    for n in range(0, count, chunk):
        try:
            seed_demo_tickets(min(chunk, count - n), seed=1000 + n)
        except ConcurrentModification as exc:  # the chunk's tickets before the conflict stay stored
            print(f"demo chunk {n}: stopped at a conflict ({exc})", flush=True)
    repo = service.repository()
    stored = 0
    for offset in range(-125, 2):
        items, cursor = repo.received_on(_beijing_day(offset), limit=500)
        stored += len(items)
        while cursor:
            items, cursor = repo.received_on(_beijing_day(offset), limit=500, cursor=cursor)
            stored += len(items)
    return stored


def main() -> None:
    from chalicelib.local.runtime import LocalRuntime, free_port

    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as data:
        runtime = LocalRuntime(port=free_port(), data_dir=Path(data), reset=True, snapshot_interval=3600,
                               demo_tickets=0)
        started = time.monotonic()
        runtime.start()
        try:
            base = runtime.base_url
            session = requests.Session()
            token = session.post(f"{base}/auth/dev-login", json={"username": "manager"}, timeout=10).json()["token"]
            session.headers["Authorization"] = f"Bearer {token}"
            seeded = _seed(DEMO_TICKETS)
            deadline = time.monotonic() + WAIT_SECONDS
            received, polls = 0, 0
            while time.monotonic() < deadline:
                polls += 1  # a period not asked before: the wall keeps a period's answer for a minute
                window = {"from": _beijing_day(-150 - polls), "to": _beijing_day(0)}
                received = session.get(f"{base}/stats/wall", params=window, timeout=60).json()["figures"]["received"]
                if received >= seeded:
                    break
                time.sleep(2)
            rows.append([f"demo tickets seeded ({seeded}) and counted (from start)",
                         f"{received} in {time.monotonic() - started:.0f} s", ""])
            def refresh() -> None:
                assert runtime.pump.fire_schedule("wall_refresh"), "the scheduled wall refresh failed"

            refreshes = [_median_seconds(refresh, 1) for _ in range(3)]
            rows.append([f"scheduled refresh (wall_refresh: 近7/30/90日 and the backlog computed and stored), "
                         f"{seeded} tickets (median of 3)", f"{stats.median(refreshes):.3f} s", "< 60 s (its rate)"])
            for days in (7, 30, 90):
                def wall(end: int = 0) -> dict:
                    params = {"from": _beijing_day(end - (days - 1)), "to": _beijing_day(end)}
                    answer = session.get(f"{base}/stats/wall", params=params, timeout=60)
                    assert answer.status_code == 200, answer.text
                    return answer.json()

                refresh()  # a fresh item whatever the minute
                as_of = wall()["as_of"]
                rows.append([f"GET /stats/wall 近{days}日, stored: the schedule's item, one GetItem (median of {REPEATS})",
                             f"{_median_seconds(wall):.3f} s", "< 1 s"])
                assert wall()["as_of"] >= as_of
                colds = [_median_seconds(lambda: wall(-shift), 1) for shift in (2, 1)]
                rows.append([f"GET /stats/wall {days} days ending yesterday or before, computed: first request "
                             f"(median of 2 periods)", f"{stats.median(colds):.3f} s", ""])
                rows.append([f"GET /stats/wall {days} days ending yesterday, computed, asked again within the minute "
                             f"(median of {REPEATS})", f"{_median_seconds(lambda: wall(-1)):.3f} s", ""])

            params30 = {"from": _beijing_day(-29), "to": _beijing_day(0)}

            def old_wall() -> None:
                items, cursor, pages = [], None, 0
                while True:
                    page = session.get(f"{base}/tickets", params={**params30, "limit": 200,
                                                                   **({"cursor": cursor} if cursor else {})},
                                       timeout=120).json()
                    items += page["items"]
                    cursor, pages = page.get("next_cursor"), pages + 1
                    if not cursor or pages >= 10:
                        break
                done = [t for t in items if t["status"] in ("replied", "closed", "archived")][:30]
                for t in done:
                    session.get(f"{base}/tickets/{t['id']}", timeout=60)

            rows.append(["before: the wall's ticket pages + 30 details, 近30日 (median of 3)",
                         f"{_median_seconds(old_wall, 3):.3f} s", ""])
            rows.append(["load average after the run (1 / 5 / 15 min)",
                         " / ".join(f"{x:.1f}" for x in os.getloadavg()), ""])
        finally:
            runtime.stop()
    write_result("wall", "Manager's wall: the page's periods stored by a schedule, other periods computed (local runtime, "
                         "demo data)", rows,
                 notes=("The wall's standard periods (近7日, 近30日, 近90日 ending today) are computed every minute by "
                        "the scheduled function wall_refresh and stored as one item each (WALL#city, decision 0002); "
                        "GET /stats/wall answers them with one GetItem while the item is under two minutes old, so "
                        "that request does not depend on the number of tickets. Other periods (and a missing or stale "
                        "item) are computed from the analytics counters: per month of the period the total's day "
                        "items, and the five breakdowns from the cube's month cells when the period covers the month "
                        "whole, else from each dimension's day items, plus one Query for repeated respondents; read "
                        "side by side and kept per period for a minute; the backlog is one counting Query per work "
                        "queue, kept 15 s. The comparison row repeats what the wall did before issue 14: list the "
                        "period's tickets page by page and read 30 of them."))


if __name__ == "__main__":
    main()
