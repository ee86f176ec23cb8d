"""GSI2 (tickets by received time) is keyed by received month and shard: one day's ticket writes
spread over RECEIVED_SHARDS index partitions, and reading a range of days costs (months touched) x
shards Queries (not days x shards), merged back into received order, page by page.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from chalicelib.domain.calendar import TZ
from chalicelib.domain.ticket import Actor
from chalicelib.services import clock
from chalicelib.services import tickets as service
from chalicelib.store import tickets as store
from chalicelib.store.models import TicketItem

AGENT = Actor(username="agent", role="agent")


def _complaint(n: int) -> dict:
    return {"kind": "complaint", "channel": "phone",
            "complainant": {"name": "李四", "phone": f"1370000{n:04d}", "address": "苏州市吴中区东吴北路1号"},
            "respondent": {"name": "某健身房", "address": "苏州市吴中区宝带西路2号"},
            "request": "退还预付卡余额", "facts": f"健身房突然关门，预付卡余额{n}元无法退还。"}


def test_a_days_ticket_ids_spread_evenly_over_the_shards() -> None:
    day = "2026-12-07"
    # ids as the platform makes them: <day>-<8 random base32 characters>; here a deterministic sequence
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    ids = [f"20261207-{''.join(alphabet[(n * 7 + k * 13) % 32] for k in range(4))}{n:04d}" for n in range(4000)]
    received = datetime.fromisoformat(f"{day}T10:00:00+08:00")
    spread = Counter(store.received_key(received, ticket_id) for ticket_id in ids)
    assert set(spread) == set(store.month_keys("2026-12")) and len(spread) == store.RECEIVED_SHARDS
    mean = len(ids) / store.RECEIVED_SHARDS
    assert max(spread.values()) <= 1.15 * mean and min(spread.values()) >= 0.85 * mean, spread
    assert store.received_key(received, ids[0]) == store.received_key(received + timedelta(hours=5), ids[0]), \
        "a ticket keeps its shard"
    # the month is Beijing's: 23:30 UTC on 30 November is already 1 December in Suzhou
    assert store.received_key(datetime.fromisoformat("2026-11-30T23:30:00+00:00"), ids[0]).startswith("D#2026-12#")


def test_reading_a_day_merges_every_shard_in_received_order_page_by_page(seeded) -> None:
    registered = [service.register(_complaint(n), AGENT).tickets[0] for n in range(24)]
    day = registered[0].created_at.astimezone(TZ).strftime("%Y-%m-%d")
    ours = [t.id for t in registered if t.created_at.astimezone(TZ).strftime("%Y-%m-%d") == day]

    keys = {TicketItem.get(store.ticket_pk(t), store.TICKET_SK).GSI2PK for t in ours}
    assert len(keys) > 1 and keys <= set(store.month_keys(day[:7])), "the day's tickets sit in several shards"

    repository = service.repository()
    pages, cursor, seen = 0, None, []
    while True:
        page, cursor = repository.received_on(day, limit=5, cursor=cursor)
        seen += [t.id for t in page]
        pages += 1
        if cursor is None:
            break
    assert [i for i in seen if i in ours] == ours, "every ticket once, in received order, across pages"
    assert pages == -(-len(seen) // 5)
    received = [t.created_at for t in repository.received_on(day, limit=100)[0]]
    assert received == sorted(received)
    next_day = (datetime.fromisoformat(day) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert repository.received_on(next_day, limit=5) == ([], None)


# received times around three month boundaries (Asia/Shanghai); the first and last are outside the range
_RANGE = (date(2026, 10, 31), date(2027, 1, 28))  # 90 days, 4 months touched
_RECEIVED = ["2026-10-30T23:59:00", "2026-10-31T00:00:10", "2026-10-31T12:00:00", "2026-11-15T09:00:00",
             "2026-11-30T23:59:30", "2026-12-01T00:00:05", "2026-12-01T00:00:05", "2026-12-01T08:30:00",
             "2026-12-31T23:58:00", "2027-01-01T00:01:00", "2027-01-01T00:01:00", "2027-01-15T14:00:00",
             "2027-01-28T23:59:59", "2027-01-29T00:00:01"]


@pytest.fixture
def across_months(seeded, monkeypatch) -> list:
    """Tickets registered at the _RECEIVED times (the service clock set to each in turn)."""
    registered = []
    for n, moment in enumerate(_RECEIVED):
        at = datetime.fromisoformat(moment).replace(tzinfo=TZ)
        monkeypatch.setattr(clock, "now", lambda at=at: at)
        registered += service.register(_complaint(100 + n), AGENT).tickets
    return registered


@pytest.fixture
def gsi2_queries(monkeypatch) -> list[str]:
    """The partition key of every Query on GSI2, as the tickets' code issues them."""
    keys: list[str] = []
    query = TicketItem.by_day.query

    def counted(hash_key, *args, **kwargs):
        keys.append(hash_key)
        return query(hash_key, *args, **kwargs)
    monkeypatch.setattr(TicketItem.by_day, "query", counted)
    return keys


def test_a_90_day_range_costs_its_months_times_the_shards_in_order_across_months(across_months, gsi2_queries) -> None:
    inside = [t for t in across_months
              if _RANGE[0] <= t.created_at.astimezone(TZ).date() <= _RANGE[1]]
    assert len(inside) == len(_RECEIVED) - 2
    expected = sorted(inside, key=store.received_sort_key)
    repository = service.repository()

    everything, cursor = repository.received_between(*_RANGE, limit=100)
    assert cursor is None and [t.id for t in everything] == [t.id for t in expected]
    assert len(gsi2_queries) <= 4 * store.RECEIVED_SHARDS, len(gsi2_queries)
    assert set(gsi2_queries) == {k for m in ("2026-10", "2026-11", "2026-12", "2027-01") for k in store.month_keys(m)}

    for newest_first, order in ((False, expected), (True, expected[::-1])):
        seen, cursor, pages = [], None, 0
        while True:
            page, cursor = repository.received_between(*_RANGE, limit=3, cursor=cursor, newest_first=newest_first)
            seen += [t.id for t in page]
            pages += 1
            if cursor is None:
                break
        assert seen == [t.id for t in order], "every ticket once, in order, across month boundaries and pages"
        assert pages == -(-len(order) // 3)


def test_a_page_that_fills_from_the_newest_month_reads_only_that_month(across_months, gsi2_queries) -> None:
    page, cursor = service.repository().received_between(*_RANGE, limit=2, newest_first=True)
    assert [t.created_at.astimezone(TZ).strftime("%Y-%m-%dT%H:%M:%S") for t in page] == \
        ["2027-01-28T23:59:59", "2027-01-15T14:00:00"] and cursor
    assert set(gsi2_queries) == set(store.month_keys("2027-01")), "older months are not queried"


def test_the_search_route_pages_a_90_day_period_across_months(across_months, api, gsi2_queries, monkeypatch) -> None:
    monkeypatch.setattr("chalicelib.api.tickets.SEARCH_READ_PAGE", 2)  # several reads per page, too
    query = f"from={_RANGE[0].isoformat()}&to={_RANGE[1].isoformat()}"
    seen, cursor = [], None
    while True:
        answer = api.get(f"/tickets?{query}&limit=4" + (f"&cursor={cursor}" if cursor else ""), user="manager")
        assert answer.status == 200, answer.body
        seen += [i["id"] for i in answer.json["items"]]
        cursor = answer.json["next_cursor"]
        if not cursor:
            break
    inside = [t for t in across_months if _RANGE[0] <= t.created_at.astimezone(TZ).date() <= _RANGE[1]]
    assert seen == [t.id for t in sorted(inside, key=store.received_sort_key, reverse=True)]
    first = api.get(f"/tickets?{query}&limit=4&kind=report", user="manager").json
    assert first["items"] == [] and first["next_cursor"] is None, "a filter nothing matches reads to the end once"


def test_the_ledger_reads_runs_of_busy_days_as_one_range_each() -> None:
    from chalicelib.reports.ledger import busy_runs

    days = [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 30),
            date(2026, 12, 31), date(2027, 1, 1)]
    assert busy_runs(reversed(days)) == [(date(2026, 11, 29), date(2026, 12, 1)), (date(2026, 12, 3), date(2026, 12, 3)),
                                         (date(2026, 12, 30), date(2027, 1, 1))]
    assert busy_runs([]) == []


def test_a_partners_ledger_of_a_day_spreads_over_its_shards() -> None:
    from chalicelib.integration import records

    ids = [f"dlv-{n:06d}" for n in range(2000)]
    spread = Counter(records.ledger_pk("p-city-app", "2026-12-07", item_id) for item_id in ids)
    assert set(spread) == set(records.ledger_pks("p-city-app", "2026-12-07"))
    mean = len(ids) / records.LEDGER_SHARDS
    assert max(spread.values()) <= 1.15 * mean and min(spread.values()) >= 0.85 * mean, spread
