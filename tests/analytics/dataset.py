"""A small month of tickets whose every figure was worked out by hand (March 2030, Asia/Shanghai).

2030 is beyond the published holiday calendar, so working days are Monday to Friday (provisional).
Default SLA: acceptance 7 working days; sign 1 working day; handling 13 working days; mediation 60
natural days; closure review and callback 1 working day. Each clock is due at 23:59:59 of its
last day.

* T1 complaint, phone (agent), 食品安全, GUSU, 甲超市: accepted, dispatched to MARKET, signed the same
  day, settled, approved, called back satisfied and solved, closed - every deadline met.
* T2 complaint, web (citizen), 商品质量, WUZHONG, 甲超市: accepted by agent2, lead URBAN + assist MARKET;
  URBAN signs late; both submit, review sends both back (rework: the mediation clock runs again),
  both submit again, approved,
  the citizen evaluates: dissatisfied, not solved - the evaluation closes it (not on time: URBAN signed late).
* T3 report, phone (agent), 食品安全, GUSU, 乙餐馆: declined (not our duty), closed.
* T4 inquiry, 12345 hotline (agent2), 政策咨询, no district, 丁单位: answered directly, closed.
* T5 complaint from the upper level (partner), 价格, XIANGCHENG, 丙公司: accepted a day later,
  dispatched to MARKET, red warning on the sign clock, urged by the manager (answered), urged by
  the upper level, supervised, signed very late.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.calendar import TZ
from tests.analytics.helpers import (
    AGENT,
    AGENT2,
    CITIZEN,
    DISPATCHER,
    MANAGER,
    SYSTEM,
    UPPER,
    Desk,
    handler,
    submission,
)

MARKET, URBAN = handler("MARKET"), handler("URBAN")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 3, day, hour, minute, tzinfo=TZ)


def march_2030() -> tuple[Desk, dict[str, str]]:
    desk = Desk(prefix="M30-")
    ids: dict[str, str] = {}
    t1 = desk.register(submission(category="食品安全", district="GUSU", respondent="甲超市", phone="13800000001"),
                       at(4, 9), AGENT)[0].id
    desk.act(t1, "accept", at(4, 10), AGENT)
    desk.act(t1, "dispatch", at(4, 11), DISPATCHER, mode="single", department="MARKET")
    desk.act(t1, "sign", at(4, 15), MARKET)
    desk.act(t1, "submit_closure", at(8, 10), MARKET, result="settled", facts="双方和解，商家退款。")
    desk.act(t1, "review_closure", at(8, 16), DISPATCHER, decision="approve", reply="已调解成功。")
    desk.act(t1, "record_callback", at(11, 10), AGENT, satisfaction="satisfied", solved=True)  # closes it
    ids["T1"] = t1

    t2 = desk.register(submission(channel="web", category="商品质量", district="WUZHONG", respondent="甲超市",
                                  phone="13800000002"), at(5, 9), CITIZEN)[0].id
    desk.act(t2, "accept", at(5, 10), AGENT2)
    desk.act(t2, "dispatch", at(5, 11), DISPATCHER, mode="lead_assist", lead="URBAN", assists=["MARKET"])
    desk.act(t2, "sign", at(5, 14), MARKET)
    desk.act(t2, "sign", at(7, 10), URBAN)
    desk.act(t2, "submit_closure", at(8, 9), MARKET, facts="协办部分已核实。")
    desk.act(t2, "submit_closure", at(12, 10), URBAN, result="not_settled", facts="双方分歧较大。")
    desk.act(t2, "review_closure", at(12, 15), DISPATCHER, decision="rework", text="请补充调解过程。")
    desk.act(t2, "submit_closure", at(13, 9), MARKET, facts="补充核实情况。")
    desk.act(t2, "submit_closure", at(13, 10), URBAN, result="not_settled", facts="再次调解未果。")
    desk.act(t2, "review_closure", at(14, 9), DISPATCHER, decision="approve", reply="调解不成，已告知诉讼途径。")
    desk.act(t2, "evaluate", at(15, 20), CITIZEN, satisfaction="dissatisfied", solved=False)
    ids["T2"] = t2

    t3 = desk.register(submission(kind="report", category="食品安全", district="GUSU", respondent="乙餐馆",
                                  phone="13800000003"), at(6, 9), AGENT)[0].id
    desk.act(t3, "decline", at(6, 11), AGENT, reason_code="not_our_duty")
    ids["T3"] = t3

    t4 = desk.register(submission(kind="inquiry", channel="hotline_12345", category="政策咨询", district=None,
                                  respondent="丁单位", phone="13800000004"), at(6, 14), AGENT2)[0].id
    desk.act(t4, "answer_directly", at(6, 14, 30), AGENT2, answer="已告知办理流程。")
    ids["T4"] = t4

    t5 = desk.register(submission(channel="upper_level", category="价格", district="XIANGCHENG", respondent="丙公司",
                                  phone="13800000005"), at(10, 9), UPPER)[0].id
    desk.act(t5, "accept", at(11, 9), AGENT)
    desk.act(t5, "dispatch", at(11, 10), DISPATCHER, mode="single", department="MARKET")
    desk.act(t5, "record_warning", at(13, 9), SYSTEM, clock="sign:A1", level="red")
    desk.act(t5, "urge", at(20, 10), MANAGER, text="请尽快签收办理。", department="MARKET")
    desk.act(t5, "answer_urging", at(20, 16), MARKET, urging_id="U1", text="正在协调。")
    desk.act(t5, "urge", at(21, 10), UPPER, text="国家平台催办。")
    desk.act(t5, "supervise", at(25, 10), MANAGER, reason="超期未签收", department="MARKET")
    desk.act(t5, "sign", at(26, 9), MARKET)
    ids["T5"] = t5
    return desk, ids


# Hand-worked totals for March 2030 (seconds: T1 accept 1 h, T2 1 h, T3 2 h, T4 30 min, T5 24 h).
TOTALS = {
    "received": 5, "accepted": 3, "declined": 1, "answered": 1,
    "accept_on_time": 5, "accept_seconds": 3600 + 3600 + 7200 + 1800 + 86400, "accept_n": 5,
    "dispatched": 4, "signed": 4, "sign_on_time": 2, "sign_late": 2,
    "sign_seconds": 14400 + 10800 + 169200 + 1292400, "sign_n": 4,
    "submitted": 5, "handle_on_time": 5, "handle_seconds": 327600 + 241200 + 432000 + 64800 + 68400, "handle_n": 5,
    # T2's mediation clock stops at each submission: the rework reopened it (issue 14), as it restarts handling
    "settled": 1, "not_settled": 2, "mediation_on_time": 3,
    "reviewed": 3, "review_on_time": 3, "review_seconds": 21600 + 18000 + 82800, "review_n": 3, "reworked": 1,
    "callback": 1, "callback_on_time": 1, "callback_seconds": 237600, "callback_n": 1,
    "evaluated": 1, "feedback": 2, "satisfied": 1, "dissatisfied": 1, "solved": 1,
    "closed": 4, "completed": 2, "closed_on_time": 1, "total_seconds": 1512000, "total_n": 2,
    "urged": 2, "urged_upper": 1, "urging_answered": 1, "supervised": 1, "warned_red": 1,
}
