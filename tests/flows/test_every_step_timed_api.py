"""Every step timed through the API (issue 19, item 1), with a frozen clock: an accepted ticket waiting
for dispatch is warned yellow then red and urged, the dispatcher is told and answers; a report's
verification extensions stop at 15 working days in total (Order 121 Art. 27) with a 400 that changes
nothing; a help request runs its handling clock from acceptance; the new clocks' rules are edited with
the rules API."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
import pytest

from chalicelib import config
from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import ClockUnit
from chalicelib.notifications import events, port
from chalicelib.services import clock as service_clock
from chalicelib.stream_records import TableChange
from chalicelib.workflow import timers
from tests.flows.complaint_bodies import PHONE_COMPLAINT as COMPLAINT

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # far from any holiday
CAL = WorkingCalendar()
REPORT = {**COMPLAINT, "kind": "report", "request": "请依法查处", "facts": "该店销售过期食品。"}
HELP = {**COMPLAINT, "kind": "help_request", "request": "请协调处理小区电梯停运", "facts": "电梯已停运两周。"}


class Clock:
    """The services' clock, injected: ``at(moment)`` sets it (a context manager, like freezegun's)."""

    def __init__(self) -> None:
        self.now = MONDAY

    def at(self, moment: datetime) -> "Clock":
        self.now = moment
        return self

    def __enter__(self) -> "Clock":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def frozen(monkeypatch) -> Clock:
    injected = Clock()
    monkeypatch.setattr(service_clock, "now", lambda: injected.now)
    return injected


def _register_and_accept(api, body: dict[str, Any]) -> str:
    answer = api.post("/tickets", json=body, user="agent")
    assert answer.status == 201, answer.body
    tid = answer.json["tickets"][0]["id"]
    accepted = api.post(f"/tickets/{tid}/accept", json={}, user="agent")
    assert accepted.status == 200, accepted.body
    return tid


def _act(api, tid: str, action: str, user: str, status: int = 200, **params) -> dict[str, Any]:
    answer = api.post(f"/tickets/{tid}/{action.replace('_', '-')}", json=params, user=user)
    assert answer.status == status, (action, answer.status, answer.body)
    return answer.json


def _checkpoint(tid: str, at: datetime) -> list[str]:
    """What the workflow's deadline checkpoint applies at ``at`` (the clock injected)."""
    return timers.run_checkpoint(tid, now=lambda: at).summary()


def _notify(tid: str, at: datetime) -> None:
    """Do what the table stream's notifier does with the ticket's outbox messages (no pump here)."""
    table = boto3.resource("dynamodb").Table(config.table_name())
    items = table.query(KeyConditionExpression=Key("PK").eq(f"T#{tid}") & Key("SK").begins_with("O#"))["Items"]
    changes = [TableChange(event_id=item["SK"], event_name="INSERT", sequence_number=str(n), pk=item["PK"],
                           sk=item["SK"], new=item, old=None) for n, item in enumerate(items)]
    notes = [note for change in changes if events.accepts(change)
             for note in [events.build(change, None)] if note is not None]
    for note in notes:
        port.deliver(note, now=at)


def test_a_ticket_waiting_for_dispatch_is_warned_urged_and_the_dispatcher_answers(api, frozen):
    with frozen.at(MONDAY):
        tid = _register_and_accept(api, COMPLAINT)
        clock = api.get(f"/tickets/{tid}", user="dispatcher").json["clocks"]["dispatch"]
    assert clock["status"] == "running" and clock["amount"] == 1 and clock["unit"] == "working_days"
    yellow_at, due = datetime.fromisoformat(clock["yellow_at"]), datetime.fromisoformat(clock["due"])
    queue = api.get("/queues/to_dispatch", user="dispatcher").json["items"]
    assert [i["id"] for i in queue if i["id"] == tid] == [tid]

    assert _checkpoint(tid, yellow_at - timedelta(minutes=1)) == []
    assert _checkpoint(tid, yellow_at) == ["record_warning:dispatch:yellow"]
    assert api.get(f"/tickets/{tid}", user="manager").json["clocks"]["dispatch"]["warning"] == "yellow"
    wednesday = due.replace(hour=9, minute=0, second=0) + timedelta(days=0 if due.hour < 9 else 1)
    assert _checkpoint(tid, wednesday) == ["record_warning:dispatch:red", "urge:dispatch:center"]
    assert _checkpoint(tid, wednesday) == []  # once

    view = api.get(f"/tickets/{tid}", user="dispatcher").json
    assert view["clocks"]["dispatch"]["warning"] == "red"
    urging = view["urgings"][-1]
    assert urging["department"] == "center" and urging["clock"] == "dispatch" and urging["source"] == "system"
    timeline = [e for e in api.get(f"/tickets/{tid}/timeline", user="manager").json["events"]
                if e["type"] in ("warning_recorded", "urged")]
    assert [(e["type"], e["data"].get("level")) for e in timeline] == [
        ("warning_recorded", "yellow"), ("warning_recorded", "red"), ("urged", None)]
    assert tid in [i["id"] for i in api.get("/queues/urgings", user="dispatcher").json["items"]]

    _notify(tid, wednesday)
    notes = [n for n in api.get("/notifications", user="dispatcher").json["items"] if n["ticket_id"] == tid]
    titles = {n["title"] for n in notes}
    assert {"黄牌预警：分拨时限即将到期", "红牌预警：分拨时限已超期", f"催办：工单 {tid}"} <= titles
    assert not [n for n in api.get("/notifications", user="handler").json["items"] if n["ticket_id"] == tid]

    with frozen.at(wednesday + timedelta(minutes=5)):
        _act(api, tid, "answer_urging", "dispatcher", urging_id=urging["id"], text="已安排分拨")
        dispatched = _act(api, tid, "dispatch", "dispatcher", mode="single", department="MARKET")
    assert dispatched["clocks"]["dispatch"]["status"] == "stopped"
    timeline = api.get(f"/tickets/{tid}/timeline", user="manager").json["events"]
    assert next(e for e in timeline if e["type"] == "dispatched")["deadline_met"] is False


def test_report_verification_extensions_are_capped_at_fifteen_working_days(api, frozen):
    with frozen.at(MONDAY):
        tid = _register_and_accept(api, REPORT)
        _act(api, tid, "dispatch", "dispatcher", mode="single", department="MARKET")
        ticket = _act(api, tid, "sign", "handler")
    verification_due = datetime.fromisoformat(ticket["clocks"]["report_verification"]["due"])
    ninety = (verification_due + timedelta(days=90)).date().isoformat()
    with frozen.at(MONDAY + timedelta(hours=2)):
        refused = api.post(f"/tickets/{tid}/request-extension", json={"reason": "需检测", "new_due": ninety},
                           user="handler")
        assert refused.status == 400, refused.body
        error = refused.json["error"]
        assert "15 working days" in error["message"] and "Order 121" in error["details"]["new_due"]
        assert error["details"]["cap_working_days"] == "15"
        after = api.get(f"/tickets/{tid}", user="handler").json
        assert after["version"] == ticket["version"] and after["assignments"][0]["extension_request"] is None

        twelve = CAL.deadline(verification_due, 12, ClockUnit.WORKING_DAYS).due.date().isoformat()
        _act(api, tid, "request_extension", "handler", reason="需检测", new_due=twelve)
        extended = _act(api, tid, "decide_extension", "dispatcher", decision="approve")
    assert extended["clocks"]["report_verification"]["extended_days"] == 12
    assert extended["clocks"]["extension_decision:A1"]["status"] == "stopped"
    second = (datetime.fromisoformat(extended["clocks"]["report_verification"]["due"]) + timedelta(days=90))
    with frozen.at(MONDAY + timedelta(hours=3)):
        again = api.post(f"/tickets/{tid}/request-extension",
                         json={"reason": "再次检测", "new_due": second.date().isoformat()}, user="handler")
        assert again.status == 400 and again.json["error"]["details"]["already_extended_working_days"] == "12"
        assert api.get(f"/tickets/{tid}", user="handler").json["version"] == extended["version"]


def test_a_help_request_runs_its_handling_clock_from_acceptance(api, frozen):
    with frozen.at(MONDAY):
        tid = _register_and_accept(api, HELP)
        clock = api.get(f"/tickets/{tid}", user="dispatcher").json["clocks"]["matter_handling"]
    assert clock["status"] == "running" and clock["amount"] == 7
    assert clock["due"] == CAL.deadline(MONDAY, 7, ClockUnit.WORKING_DAYS).due.isoformat()
    with frozen.at(MONDAY + timedelta(hours=1)):
        _act(api, tid, "dispatch", "dispatcher", mode="single", department="MARKET")
        _act(api, tid, "sign", "handler")
        closed = _act(api, tid, "submit_closure", "handler", facts="已协调物业恢复电梯运行。")
    assert closed["clocks"]["matter_handling"]["status"] == "stopped"


def test_managers_edit_the_new_clocks_rules(api, frozen):
    current = api.get("/admin/sla-rules", user="manager").json
    clocks = {r["clock"] for r in current["rules"]}
    assert {"dispatch", "non_acceptance_review", "extension_decision", "return_decision", "matter_handling"} <= clocks
    rules = [dict(r, amount=3) if r["clock"] == "dispatch" and r["priority"] is None else r for r in current["rules"]]
    saved = api.put("/admin/sla-rules", json={"rules": rules, "expected_version": 0}, user="manager")
    assert saved.status == 200, saved.body
    with frozen.at(MONDAY):
        tid = _register_and_accept(api, COMPLAINT)
        clock = api.get(f"/tickets/{tid}", user="dispatcher").json["clocks"]["dispatch"]
    assert clock["amount"] == 3 and clock["due"] == CAL.deadline(MONDAY, 3, ClockUnit.WORKING_DAYS).due.isoformat()


def test_rules_saved_before_the_new_clocks_existed_run_them_by_their_defaults(api, frozen):
    old = [r for r in api.get("/admin/sla-rules", user="manager").json["rules"] if r["clock"] != "dispatch"]
    saved = api.put("/admin/sla-rules", json={"rules": old, "expected_version": 0}, user="manager")
    assert saved.status == 200, saved.body
    assert saved.json["defaulted_clocks"] == ["dispatch"]
    document = api.get("/admin/sla-rules", user="manager").json
    assert document["defaulted_clocks"] == ["dispatch"] and document["rules"] == saved.json["rules"]  # nothing rewritten
    assert {(r["clock"], r["priority"], r["amount"], r["unit"]) for r in document["missing_defaults"]} == {
        ("dispatch", None, 1, "working_days"), ("dispatch", "urgent", 2, "hours")}
    with frozen.at(MONDAY):  # no one acted: the clock runs by its default rule
        tid = _register_and_accept(api, COMPLAINT)
        clock = api.get(f"/tickets/{tid}", user="dispatcher").json["clocks"]["dispatch"]
    assert clock["status"] == "running" and clock["amount"] == 1
    assert clock["due"] == CAL.deadline(MONDAY, 1, ClockUnit.WORKING_DAYS).due.isoformat()
    edited = [*old, *(dict(r, amount=4) if r["priority"] is None else r for r in document["missing_defaults"])]
    stored = api.put("/admin/sla-rules", json={"rules": edited, "expected_version": 1}, user="manager")
    assert stored.status == 200 and stored.json["missing_defaults"] == [] and stored.json["defaulted_clocks"] == []
    other = {**COMPLAINT, "complainant": {**COMPLAINT["complainant"], "name": "李四", "phone": "13912345678"}}
    with frozen.at(MONDAY):  # a saved rule wins over the default
        tid = _register_and_accept(api, other)
        assert api.get(f"/tickets/{tid}", user="dispatcher").json["clocks"]["dispatch"]["amount"] == 4
