"""The call centre (CTI) through the API: signed webhook, CSV import, idempotent by call id, callers
masked, statistics by agent and hour, and the agent indicators fed by answered calls."""
from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta

from chalicelib.domain.calendar import TZ
from chalicelib.integration import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CALLER = "13912345678"
COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "孙七", "phone": CALLER, "address": "苏州市吴江区中山南路1号"},
    "respondent": {"name": "某装修公司", "address": "苏州市吴江区开平路2号"},
    "request": "返工", "facts": "装修质量差，墙面开裂。",
}


def _today() -> date:
    return datetime.now(TZ).date()  # the platform's day (Asia/Shanghai), not the machine's


def _at(day: date, hh: int, mm: int, ss: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=TZ).isoformat()


def _call(call_id: str, day: date, *, hour: int = 9, agent: str | None = "agent", outcome: str = "answered",
          talk: int = 300, wait: int = 20, caller: str = CALLER, **extra) -> dict:
    start = datetime(day.year, day.month, day.day, hour, 5, tzinfo=TZ)
    answered = outcome in ("answered", "transferred")
    record = {"call_id": call_id, "agent": agent, "caller": caller, "start": start.isoformat(),
              "answer": (start + timedelta(seconds=wait)).isoformat() if answered else None,
              "end": (start + timedelta(seconds=wait + (talk if answered else 0))).isoformat(),
              "queue": "complaint", "outcome": outcome, "recording": f"rec/{call_id}.wav", **extra}
    return {k: v for k, v in record.items() if v is not None}


def _partner(api) -> None:
    answer = api.post("/partners", json={"id": "cti-main", "name": "呼叫中心", "kind": "call_center",
                                         "secret": SECRET}, user="admin")
    assert answer.status == 201, answer.body


def _send(api, calls: list[dict], *, secret: str = SECRET, webhook_id: str = "msg_1", partner: str = "cti-main",
          timestamp: int | None = None):
    body = json.dumps({"type": "call.completed", "data": {"calls": calls}}, ensure_ascii=False).encode()
    headers = signing.sign_headers(webhook_id, timestamp or int(time.time()), body, hmac_secrets=[secret])
    return api.request("POST", f"/cti/{partner}/calls", body=body, headers=headers)


def test_signed_webhook_stores_each_call_once_and_shows_the_caller_masked(api):
    _partner(api)
    day = _today()
    calls = [_call("c-1", day), _call("c-2", day, outcome="abandoned", agent=None, wait=45),
             _call("c-3", day, hour=14, outcome="missed", wait=30)]
    first = _send(api, calls)
    assert first.status == 200, first.body
    assert first.json == {"received": 3, "stored": 3, "duplicates": 0}
    again = _send(api, calls, webhook_id="msg_2")  # the call centre resends: nothing counts twice
    assert again.json == {"received": 3, "stored": 0, "duplicates": 3}

    listed = api.get(f"/calls?day={day.isoformat()}", user="manager")
    assert listed.status == 200, listed.body
    items = listed.json["items"]
    assert [c["call_id"] for c in items] == ["c-1", "c-2", "c-3"]
    assert {c["caller_masked"] for c in items} == {"139****5678"}
    assert CALLER not in listed.body.decode() and "caller_enc" not in items[0] and "caller_index" not in items[0]
    assert items[0]["outcome_label"] == "已接听" and items[0]["handle_seconds"] == 300
    one = api.get("/calls/c-1", user="manager").json
    assert one["caller_masked"] == "139****5678" and CALLER not in json.dumps(one)
    by_number = api.get(f"/calls?caller={CALLER}", user="agent").json["items"]
    assert sorted(c["call_id"] for c in by_number) == ["c-1", "c-2", "c-3"]

    stats = api.get(f"/stats/calls?from={day.isoformat()}&to={day.isoformat()}", user="manager").json
    assert stats["totals"]["offered"] == 3 and stats["totals"]["answered"] == 1
    assert stats["totals"]["abandoned"] == 1 and stats["totals"]["missed"] == 1
    assert stats["totals"]["answer_rate"] == round(1 / 3, 4) and stats["totals"]["aht_seconds"] == 300
    assert stats["by_agent"] == [{**stats["by_agent"][0], "agent": "agent", "offered": 2, "answered": 1}]
    hours = {h["hour"]: h["offered"] for h in stats["by_hour"] if h["offered"]}
    assert hours == {"09": 2, "14": 1} and len(stats["by_hour"]) == 24


def test_the_webhook_refuses_bad_signatures_other_kinds_and_bad_records(api):
    _partner(api)
    day = _today()
    assert _send(api, [_call("x-1", day)], secret="whsec_" + "A" * 43 + "=").status == 401
    assert _send(api, [_call("x-1", day)], timestamp=int(time.time()) - 3600).status == 401
    assert _send(api, [_call("x-1", day)], partner="province-12315").status == 401  # an upper level, not a CTI
    assert _send(api, [_call("x-1", day)], partner="nobody").status == 401
    bad = _send(api, [_call("x-1", day), {**_call("x-2", day), "outcome": "lost", "caller": "abc"},
                      {**_call("x-3", day), "end": _at(day, 8, 0)},
                      {**_call("x-5", day), "start": "9999-12-31T23:59:59-14:00"}])
    assert bad.status == 400, bad.body
    details = bad.json["error"]["details"]
    assert details["calls[1].outcome"].startswith("one of") and details["calls[1].caller"] == "a telephone number"
    assert details["calls[2].end"] == "not before start"
    assert details["calls[3].start"] == "a time between the years 2000 and 2199"
    assert api.get(f"/calls?day={day.isoformat()}", user="manager").json["items"] == []  # nothing stored
    unknown_ticket = _send(api, [_call("x-4", day, ticket_id="T-NOPE")])
    assert unknown_ticket.status == 400 and "no such ticket" in json.dumps(unknown_ticket.json)
    garbage = api.request("POST", "/cti/cti-main/calls", body=b"\xff\xfe", headers=signing.sign_headers(
        "msg_9", int(time.time()), b"\xff\xfe", hmac_secrets=[SECRET]))
    assert garbage.status == 400 and garbage.json["error"]["code"]


def test_csv_import_links_tickets_and_agents_see_their_own_calls(api):
    day = _today()
    ticket_id = api.post("/tickets", json=COMPLAINT, user="agent").json["tickets"][0]["id"]
    rows = ["call_id,agent,caller,start,answer,end,queue,outcome,recording,ticket_id",
            f"v-1,agent,{CALLER},{_at(day, 10, 0)},{_at(day, 10, 0, 15)},{_at(day, 10, 6)},complaint,answered,r1,{ticket_id}",
            f"v-2,agent-b,13800001111,{_at(day, 11, 0)},{_at(day, 11, 0, 5)},{_at(day, 11, 2)},inquiry,answered,r2,",
            f"v-3,,13800002222,{_at(day, 11, 30)},,{_at(day, 11, 31)},inquiry,abandoned,,"]
    csv_text = "\n".join(rows) + "\n"
    assert api.post("/calls/import", json={"csv": csv_text}, user="agent").status == 403
    assert api.post("/calls/import", json={"csv": csv_text}, user="handler").status == 403
    imported = api.post("/calls/import", json={"csv": csv_text}, user="manager")
    assert imported.status == 200, imported.body
    assert imported.json == {"received": 3, "stored": 3, "duplicates": 0, "rows": 3}
    assert api.post("/calls/import", json={"csv": csv_text}, user="admin").json["duplicates"] == 3

    linked = api.get(f"/calls?ticket_id={ticket_id}", user="dispatcher").json["items"]
    assert [c["call_id"] for c in linked] == ["v-1"]
    own = api.get(f"/calls?day={day.isoformat()}", user="agent").json["items"]
    assert [c["call_id"] for c in own] == ["v-1"]
    assert api.get(f"/calls?day={day.isoformat()}&agent=agent-b", user="agent").status == 403
    assert api.get("/calls/v-2", user="agent").status == 403
    assert api.get(f"/calls?day={day.isoformat()}", user="handler").status == 403
    agent_stats = api.get("/stats/calls", user="agent").json
    assert [r["agent"] for r in agent_stats["by_agent"]] == ["agent"] and agent_stats["totals"]["offered"] == 1

    # link the second call afterwards, once
    assert api.post("/calls/v-2/link", json={"ticket_id": ticket_id}, user="agent").status == 403  # not theirs
    done = api.post("/calls/v-2/link", json={"ticket_id": ticket_id}, user="manager")
    assert done.status == 200 and done.json["ticket_id"] == ticket_id
    assert api.post("/calls/v-1/link", json={"ticket_id": "T-OTHER"}, user="manager").status == 400
    assert [c["call_id"] for c in api.get(f"/calls?ticket_id={ticket_id}", user="manager").json["items"]] == ["v-1", "v-2"]

    bad = api.post("/calls/import", json={"csv": rows[0] + "\nv-9,agent,123,yesterday,,,q,answered,,\n"}, user="manager")
    assert bad.status == 400
    details = bad.json["error"]["details"]
    assert details["row 1: start"] == "an ISO 8601 time" and details["row 1: caller"] == "a telephone number"
    for broken in ('"call_id\n', "call_id,ag\rent\n1,2\n", "a\x00b\n"):  # unreadable CSV: a 400, never a 500
        assert api.post("/calls/import", json={"csv": broken}, user="manager").status == 400, repr(broken)
    assert api.post("/calls/import", json={"csv": "id,who\n1,2\n"}, user="manager").json["error"]["details"] == {
        "header.call_id": "missing column", "header.caller": "missing column", "header.start": "missing column",
        "header.end": "missing column", "header.outcome": "missing column", "header.id": "unknown column",
        "header.who": "unknown column"}


def test_agent_scores_use_answered_calls_and_stay_unchanged_without_calls(api):
    from chalicelib.analytics import assessment
    from chalicelib.analytics.period import Period

    _partner(api)
    day = _today()
    period = Period(day, day)
    before = {r["subject"]: r["score"] for r in assessment.compute(period, "agent")["scores"]}
    assert _send(api, [_call(f"s-{n}", day, outcome="answered" if n < 9 else "missed", talk=240)
                       for n in range(10)]).status == 200
    after = assessment.compute(period, "agent")
    row = next(r for r in after["scores"] if r["subject"] == "agent")
    rate = next(d for d in row["indicators"] if d["indicator"] == "agent-call-answer-rate")
    minutes = next(d for d in row["indicators"] if d["indicator"] == "agent-call-handle-minutes")
    assert rate["value"] == 0.9 and rate["inputs"] == {"calls_answered": 9, "calls_offered": 10}
    assert minutes["value"] == 4.0 and minutes["score"] == 100.0
    assert row["score"] is not None
    # the agent had no ticket business today: before, nothing to score; the calls now give a score
    assert before.get("agent") is None


def test_an_agent_without_calls_keeps_the_score_of_the_ticket_indicators(api):
    from chalicelib.analytics import assessment
    from chalicelib.analytics.period import Period
    from chalicelib.aws import client
    from chalicelib.config import get_settings

    day = _today()
    client("dynamodb").update_item(  # ticket business of the period: 3 acceptances on time, 1 late
        TableName=get_settings().table_name, Key={"PK": {"S": f"AGG#{day:%Y-%m}#agent"}, "SK": {"S": f"agent#{day:%d}"}},
        UpdateExpression="ADD accept_on_time :a, accept_late :b",
        ExpressionAttributeValues={":a": {"N": "3"}, ":b": {"N": "1"}})
    row = next(r for r in assessment.compute(Period(day, day), "agent")["scores"] if r["subject"] == "agent")
    by_id = {d["indicator"]: d for d in row["indicators"]}
    assert by_id["agent-call-answer-rate"]["value"] is None and by_id["agent-call-handle-minutes"]["value"] is None
    assert row["score"] == round(100 * (0.75 - 0.7) / (0.99 - 0.7), 2)  # 按时受理率 alone, as before the call indicators


def _dispatched(api, body: dict) -> str:
    """A ticket registered, accepted and dispatched to MARKET (the ``handler``'s department)."""
    tid = api.post("/tickets", json=body, user="agent").json["tickets"][0]["id"]
    for user, action, params in (("agent", "accept", {"category": "食品安全", "district": "GUSU"}),
                                 ("dispatcher", "dispatch", {"mode": "single", "department": "MARKET"})):
        done = api.post(f"/tickets/{tid}/{action}", json=params, user=user)
        assert done.status == 200, (action, done.body)
    return tid


def test_a_tickets_page_lists_its_calls_for_whoever_may_see_the_ticket(api):
    from tests.services.test_budgets import dynamodb_calls

    day = _today()
    complaint = _dispatched(api, COMPLAINT)
    report = _dispatched(api, {**COMPLAINT, "kind": "report", "request": "请依法查处", "facts": "该公司无证经营。",
                               "complainant": {**COMPLAINT["complainant"], "phone": "13922223333"}})
    rows = ["call_id,agent,caller,start,answer,end,queue,outcome,recording,ticket_id",
            f"t-2,agent-b,{CALLER},{_at(day, 15, 0)},{_at(day, 15, 0, 10)},{_at(day, 15, 4)},complaint,answered,rec/t-2.wav,{complaint}",
            f"t-1,agent,{CALLER},{_at(day, 9, 0)},{_at(day, 9, 0, 20)},{_at(day, 9, 10)},complaint,transferred,rec/t-1.wav,{complaint}",
            f"t-3,agent,13922223333,{_at(day, 10, 0)},{_at(day, 10, 0, 5)},{_at(day, 10, 3)},report,answered,rec/t-3.wav,{report}",
            f"t-4,agent,13800004444,{_at(day, 11, 0)},,{_at(day, 11, 1)},inquiry,abandoned,,"]
    assert api.post("/calls/import", json={"csv": "\n".join(rows) + "\n"}, user="manager").status == 200

    with dynamodb_calls() as io:
        centre = api.get(f"/tickets/{complaint}/calls", user="agent")  # every call of the ticket, not only the agent's
    assert centre.status == 200, centre.body
    assert "Scan" not in io and io["Query"] >= 1, io
    assert [(c["call_id"], c["agent"], c["queue"], c["outcome_label"], c["handle_seconds"], c["wait_seconds"])
            for c in centre.json["items"]] == [("t-1", "agent", "complaint", "已转接", 580, 20),
                                               ("t-2", "agent-b", "complaint", "已接听", 230, 10)]
    assert {c["caller_masked"] for c in centre.json["items"]} == {"139****5678"}
    assert [c["recording"] for c in centre.json["items"]] == ["rec/t-1.wav", "rec/t-2.wav"]
    assert centre.json["caller_withheld"] is False and CALLER not in centre.body.decode()

    # the handling department sees the calls of its tickets; a report's without caller or recording (Art. 37)
    mine = api.get(f"/tickets/{complaint}/calls", user="handler").json
    assert [c["call_id"] for c in mine["items"]] == ["t-1", "t-2"] and mine["items"][0]["caller_masked"] == "139****5678"
    reported = api.get(f"/tickets/{report}/calls", user="handler").json
    assert reported["caller_withheld"] is True
    assert [(c["call_id"], c["caller_masked"], c["recording"]) for c in reported["items"]] == [("t-3", None, None)]
    centre_report = api.get(f"/tickets/{report}/calls", user="dispatcher").json["items"]
    assert [(c["caller_masked"], c["recording"]) for c in centre_report] == [("139****3333", "rec/t-3.wav")]
    assert api.get(f"/tickets/{complaint}/calls", user="handler-urban").status == 403  # another department
    assert api.get("/tickets/20990101-NOSUCH/calls", user="manager").status == 404
