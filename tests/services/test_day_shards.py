"""GSI2 (tickets by day) is sharded: one day's ticket writes spread over DAY_SHARDS index partitions,
and reading a day fans out over them and merges them back into received order.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from chalicelib.domain.calendar import TZ
from chalicelib.domain.ticket import Actor
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
    spread = Counter(store.day_key(day, ticket_id) for ticket_id in ids)
    assert set(spread) == set(store.day_keys(day)) and len(spread) == store.DAY_SHARDS
    mean = len(ids) / store.DAY_SHARDS
    assert max(spread.values()) <= 1.15 * mean and min(spread.values()) >= 0.85 * mean, spread
    assert store.day_key(day, ids[0]) == store.day_key(day, ids[0]), "a ticket keeps its shard"


def test_reading_a_day_merges_every_shard_in_received_order_page_by_page(seeded) -> None:
    registered = [service.register(_complaint(n), AGENT).tickets[0] for n in range(24)]
    day = registered[0].created_at.astimezone(TZ).strftime("%Y-%m-%d")
    ours = [t.id for t in registered if t.created_at.astimezone(TZ).strftime("%Y-%m-%d") == day]

    keys = {TicketItem.get(store.ticket_pk(t), store.TICKET_SK).GSI2PK for t in ours}
    assert len(keys) > 1 and keys <= set(store.day_keys(day)), "the day's tickets sit in several shards"

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


def test_a_partners_ledger_of_a_day_spreads_over_its_shards() -> None:
    from chalicelib.integration import records

    ids = [f"dlv-{n:06d}" for n in range(2000)]
    spread = Counter(records.ledger_pk("p-city-app", "2026-12-07", item_id) for item_id in ids)
    assert set(spread) == set(records.ledger_pks("p-city-app", "2026-12-07"))
    mean = len(ids) / records.LEDGER_SHARDS
    assert max(spread.values()) <= 1.15 * mean and min(spread.values()) >= 0.85 * mean, spread
