"""Demo tickets for the local runtime: a few thousand, spread over the last months, in every state.

Each ticket is played through the ticket door (:meth:`TicketService.playback`: the real lifecycle,
with back-dated times), so its timeline, clocks (met or missed deadlines), queue entries and outbox
messages are what the platform would have produced. They are written with the same repository as
live tickets, so every stream consumer (outbox relay, workflow starter, analytics) sees them as it
would see live work.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Callable

from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import DomainError
from chalicelib.domain.ticket import Actor
from chalicelib.local.demo_content import CLOSURE_FACTS, NOTES, REPLIES, DemoContent, compose, district_names
from chalicelib.services import tickets as service
from chalicelib.services.tickets import Playback, TicketService

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯健俊帆帅旭宁龙林欣悦彤琳"
ROADS = ["人民路", "干将路", "观前街", "十全街", "金鸡湖大道", "星湖街", "东吴北路", "长江路", "中山路", "太湖大道"]
AGENT = Actor(username="agent", role="agent")
DISPATCHER = Actor(username="dispatcher", role="dispatcher")

# Where demo tickets end up, and how often (the rest are closed and mostly archived).
FINAL_STATES = [("pending_acceptance", 0.06), ("internet_inbox", 0.04), ("to_dispatch", 0.06), ("to_sign", 0.06),
                ("in_handling", 0.14), ("closure_review", 0.05), ("pending_callback", 0.05), ("closed", 0.54)]


def _person(rng: random.Random) -> dict[str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return {"name": name, "phone": "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9)),
            "address": f"苏州市{rng.choice(['姑苏区', '吴中区', '相城区', '工业园区', '虎丘区'])}{rng.choice(ROADS)}{rng.randint(1, 400)}号"}


def _play(rng: random.Random, sample: DemoContent, received: datetime, door: TicketService,
          handler_of: Callable[[str], Actor]) -> Playback:
    final = rng.choices([s for s, _ in FINAL_STATES], weights=[w for _, w in FINAL_STATES])[0]
    kind = sample.kind
    channel = "web" if final == "internet_inbox" else rng.choices(["phone", "web", "hotline_12345", "walk_in"],
                                                                  weights=[60, 25, 10, 5])[0]
    data = {"kind": kind, "channel": channel, "complainant": _person(rng), "category": sample.category,
            "request": sample.request, "facts": sample.facts, "district": sample.district}
    if sample.respondent is not None:
        data["respondent"] = sample.respondent
    actor = Actor(username="citizen", role="citizen") if channel == "web" else AGENT
    now = received
    chain = door.playback(data, actor, at=received)

    def step(action: str, params: dict, who: Actor, hours: float) -> None:
        nonlocal now
        now = now + timedelta(hours=hours)
        chain.step(action, params, who, at=now)

    def late(base: float) -> float:  # most work is on time, some of it late
        return base * (rng.uniform(0.2, 0.9) if rng.random() < 0.8 else rng.uniform(1.5, 4.0))

    if final in ("pending_acceptance", "internet_inbox"):
        return chain
    step("accept", {}, AGENT, late(8))
    if final == "to_dispatch":
        return chain
    step("dispatch", {"mode": "single", "department": sample.department}, DISPATCHER, late(4))
    handler = handler_of(sample.department)
    assignment = chain.ticket.assignments[0].id
    if final == "to_sign":
        return chain
    step("sign", {"assignment_id": assignment}, handler, late(12))
    step("add_note", {"assignment_id": assignment, "text": rng.choice(NOTES)}, handler, late(24))
    if final == "in_handling":
        return chain
    result = {"complaint": "settled", "report": "case_filed"}.get(kind, "handled")
    if kind == "complaint" and rng.random() < 0.2:
        result = "not_settled"
    step("submit_closure", {"assignment_id": assignment, "result": result,
                             "facts": rng.choice(CLOSURE_FACTS[result])},
         handler, late(24 * 6))
    if final == "closure_review":
        return chain
    step("review_closure", {"decision": "approve", "reply": rng.choice(REPLIES)}, DISPATCHER, late(8))
    if chain.ticket.status == "pending_evaluation":
        if final == "pending_callback":  # a web ticket waiting for its evaluation (the agents' 待评价 queue)
            return chain
        satisfaction = rng.choices(["satisfied", "basically_satisfied", "dissatisfied"], weights=[70, 20, 10])[0]
        step("evaluate", {"satisfaction": satisfaction, "solved": satisfaction != "dissatisfied"},
             Actor(username="citizen", role="citizen"), late(12))
    elif final == "pending_callback":
        return chain
    else:
        satisfaction = rng.choices(["satisfied", "basically_satisfied", "dissatisfied"], weights=[70, 20, 10])[0]
        step("record_callback", {"satisfaction": satisfaction, "solved": satisfaction != "dissatisfied"}, AGENT, late(8))
    if chain.ticket.status == "replied":  # an Art. 23 notice still owed; a callback/evaluation closes otherwise
        step("close", {}, AGENT, 1)
    if rng.random() < 0.5:
        step("archive", {}, Actor(username="system", role="system"), 24)
    return chain


def seed_demo_tickets(count: int, *, days: int = 120, seed: int = 12345, now: datetime | None = None,
                      door: TicketService | None = None) -> dict[str, int]:
    """Play ``count`` tickets through the lifecycle over the last ``days`` days and store them (and the
    demo knowledge articles), through ``door`` (the default ticket door if not given)."""
    from chalicelib.local.seed import seed_knowledge

    articles = seed_knowledge()
    rng = random.Random(seed)
    districts = district_names()
    door = (door or service.default()).using(policy=service.current_policy())  # the rules read once
    now = now or datetime.now(TZ)
    from chalicelib.store import directory

    handlers = {u.get("department"): u["username"] for u in directory.list_entries(directory.USERS)
                if u.get("role") == "handler"}

    def handler_of(department: str) -> Actor:
        return Actor(username=handlers.get(department, "handler"), role="handler", department=department)

    stored = skipped = 0
    phone_tickets = []
    for n in range(count):
        # more recent days get more tickets, as a growing hotline's do
        age_days = days * (1 - rng.random() ** 0.7)
        received = (now - timedelta(days=age_days)).replace(hour=rng.randint(8, 20), minute=rng.randint(0, 59))
        if received >= now:
            received = now - timedelta(hours=1)
        try:
            played = _play(rng, compose(rng, districts), received, door, handler_of)
        except DomainError:
            skipped += 1
            continue
        played.store(until=now)  # one transaction: the flow cannot act between registration and history
        phone_tickets.append(played.ticket)
        stored += 1
    from chalicelib.local.cti_demo import ticket_calls

    return {"tickets": stored, "skipped": skipped, "articles": articles,
            "ticket_calls": ticket_calls(phone_tickets)}  # the calls the phone tickets came from
