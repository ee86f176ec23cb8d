"""After closure (issue 19, item 4), through the API and the scheduled handler with an injected clock:
the agents' pending-callback and pending-evaluation queues show each row's clock, due time and warning;
a callback result or the citizen's evaluation closes the ticket; the daily archive job archives closed
tickets once the SLA rules' archive period is over (a manager edits it), as the system, through the one
door; a department is told (inbox, e-mail/SMS) when a ticket is dispatched to it."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from chalicelib import config
from chalicelib.domain.calendar import TZ
from chalicelib.notifications import events, port, recipients
from chalicelib.notifications.email import sender_address
from chalicelib.services import archiving
from chalicelib.services import clock as service_clock
from chalicelib.store import directory
from chalicelib.stream_records import TableChange
from chalicelib.workflow import timers
from tests.flows.complaint_bodies import PHONE_COMPLAINT as COMPLAINT

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # far from any holiday


class Clock:
    """The services' clock, injected (``services.clock.now``)."""

    def __init__(self) -> None:
        self.now = MONDAY


@pytest.fixture
def frozen(monkeypatch) -> Clock:
    injected = Clock()
    monkeypatch.setattr(service_clock, "now", lambda: injected.now)
    return injected


def _act(api, tid: str, action: str, user: str, status: int = 200, **params) -> dict[str, Any]:
    answer = api.post(f"/tickets/{tid}/{action.replace('_', '-')}", json=params, user=user)
    assert answer.status == status, (action, answer.status, answer.body)
    return answer.json


def _row(api, queue: str, user: str, tid: str) -> dict[str, Any] | None:
    answer = api.get(f"/queues/{queue}", user=user)
    assert answer.status == 200, answer.body
    return next((i for i in answer.json["items"] if i["id"] == tid), None)


def _handled(api, frozen: Clock, body: dict[str, Any] | None = None, *, web: bool = False) -> tuple[str, str | None]:
    """A ticket registered, accepted, dispatched to MARKET, signed and submitted for review (one hour
    per step from the frozen clock); returns its id and (web) its tracking code."""
    if web:
        web_body = {k: v for k, v in (body or COMPLAINT).items() if k != "channel"}  # the portal's channel is web
        before = {i["id"] for i in api.get("/queues/internet_inbox", user="agent").json["items"]}
        answer = api.post("/public/tickets", json=web_body, source_ip="203.0.113.7")
        assert answer.status == 201, answer.body
        code = answer.json["tickets"][0]["tracking_code"]
        [tid] = {i["id"] for i in api.get("/queues/internet_inbox", user="agent").json["items"]} - before
    else:
        answer = api.post("/tickets", json=body or COMPLAINT, user="agent")
        assert answer.status == 201, answer.body
        tid, code = answer.json["tickets"][0]["id"], None
    for action, user, params in (("accept", "agent", {}), ("dispatch", "dispatcher", {"mode": "single",
                                                                                      "department": "MARKET"}),
                                 ("sign", "handler", {}),
                                 ("submit_closure", "handler", {"result": "settled", "facts": "双方和解，商家退款。"})):
        frozen.now += timedelta(hours=1)
        _act(api, tid, action, user, **params)
    return tid, code


def _outbox_notes(tid: str) -> list:
    """What the table stream's notifier builds from the ticket's outbox messages (no pump here)."""
    table = boto3.resource("dynamodb").Table(config.table_name())
    items = table.query(KeyConditionExpression=Key("PK").eq(f"T#{tid}") & Key("SK").begins_with("O#"))["Items"]
    changes = [TableChange(event_id=item["SK"], event_name="INSERT", sequence_number=str(n), pk=item["PK"],
                           sk=item["SK"], new=item, old=None) for n, item in enumerate(items)]
    return [note for change in changes if events.accepts(change)
            for note in [events.build(change, None)] if note is not None]


def test_callback_queue_shows_its_clock_the_callback_closes_and_the_job_archives(api, frozen):
    tid, _ = _handled(api, frozen)
    frozen.now += timedelta(hours=1)
    approved = _act(api, tid, "review_closure", "dispatcher", decision="approve", reply="经调解，商家已退款。")
    assert approved["status"] == "pending_callback"
    callback = approved["clocks"]["callback"]
    row = _row(api, "pending_callback", "agent", tid)
    assert row is not None and row["clock"] == "callback" and row["due"] == callback["due"]
    assert row["clock_warning"] == "none"

    # the flow warns on the callback clock like on any other: the row turns yellow, then red
    due = datetime.fromisoformat(callback["due"])
    assert timers.run_checkpoint(tid, now=lambda: datetime.fromisoformat(callback["yellow_at"])).summary() == [
        "record_warning:callback:yellow"]
    assert _row(api, "pending_callback", "agent", tid)["clock_warning"] == "yellow"
    late = due + timedelta(minutes=5)
    assert timers.run_checkpoint(tid, now=lambda: late).summary()[:1] == ["record_warning:callback:red"]
    assert _row(api, "pending_callback", "agent", tid)["clock_warning"] == "red"

    # the callback result closes the ticket: nobody closes it by hand
    frozen.now = late + timedelta(minutes=10)
    closed = _act(api, tid, "record_callback", "agent", satisfaction="satisfied", solved=True)
    assert closed["status"] == "closed" and closed["resolution"] == "completed"
    assert "close" not in closed["allowed_actions"]
    assert _row(api, "pending_callback", "agent", tid) is None
    archive = closed["clocks"]["archive"]
    assert archive["status"] == "running" and (archive["amount"], archive["unit"]) == (15, "natural_days")
    waiting = _row(api, "to_archive", "manager", tid)
    assert waiting is not None and waiting["clock"] == "archive" and waiting["due"] == archive["due"]
    assert api.get("/queues/to_archive", user="agent").status == 403

    # the daily job: nothing before the archive period is over, the ticket once it is
    archive_due = datetime.fromisoformat(archive["due"])
    early = archiving.archive_due(archive_due - timedelta(hours=1))
    assert tid not in early.archived
    assert api.get(f"/tickets/{tid}", user="manager").json["status"] == "closed"
    frozen.now = archive_due + timedelta(hours=1)
    assert tid in archiving.archive_due().archived
    view = api.get(f"/tickets/{tid}", user="manager").json
    assert view["status"] == "archived" and "archive" not in view["clocks"]
    assert _row(api, "to_archive", "manager", tid) is None
    last = api.get(f"/tickets/{tid}/timeline", user="manager").json["events"][-1]
    assert last["type"] == "archived" and last["actor"]["role"] == "system"
    assert tid not in archiving.archive_due().archived + archiving.archive_due().skipped  # once


def test_the_scheduled_handler_archives_without_anyone(api, frozen):
    import app

    tid, _ = _handled(api, frozen)
    _act(api, tid, "review_closure", "dispatcher", decision="approve")
    closed = _act(api, tid, "record_callback", "agent", satisfaction="dissatisfied", solved=False)
    assert closed["status"] == "closed" and "reopen" in closed["allowed_actions"]  # reopenable until archived
    frozen.now = datetime.fromisoformat(closed["clocks"]["archive"]["due"]) + timedelta(days=1)
    app.archive_closed({"version": "0", "id": "evt", "detail-type": "Scheduled Event", "source": "aws.events", "account": "1",
                        "time": frozen.now.isoformat(), "region": "us-west-2", "resources": [], "detail": {}},
                       None)
    view = api.get(f"/tickets/{tid}", user="manager").json
    assert view["status"] == "archived" and view["allowed_actions"] == []


def test_a_reopened_ticket_leaves_the_archive_queue(api, frozen):
    tid, _ = _handled(api, frozen)
    _act(api, tid, "review_closure", "dispatcher", decision="approve")
    closed = _act(api, tid, "record_callback", "agent", satisfaction="dissatisfied", solved=False)
    reopened = _act(api, tid, "reopen", "agent", reason="商家未按约定退款")
    assert reopened["status"] == "in_handling" and "archive" not in reopened["clocks"]
    assert _row(api, "to_archive", "manager", tid) is None
    assert tid not in archiving.archive_due(datetime.fromisoformat(closed["clocks"]["archive"]["due"])
                                            + timedelta(days=1)).archived


def test_web_ticket_waits_in_pending_evaluation_and_the_citizens_evaluation_closes_it(api, frozen):
    tid, code = _handled(api, frozen, web=True)
    approved = _act(api, tid, "review_closure", "dispatcher", decision="approve", reply="已为您办理退款。")
    assert approved["status"] == "pending_evaluation"
    clock = approved["clocks"]["evaluation"]
    assert (clock["amount"], clock["unit"], clock["status"]) == (3, "working_days", "running")
    row = _row(api, "pending_evaluation", "agent", tid)
    assert row is not None and row["clock"] == "evaluation" and row["due"] == clock["due"]
    assert api.get("/queues/pending_evaluation", user="handler").status == 403

    evaluated = api.post(f"/public/tickets/{code}/evaluation",
                         json={"phone_last4": "5678", "satisfaction": "satisfied", "solved": True},
                         source_ip="203.0.113.7")
    assert evaluated.status == 200, evaluated.body
    view = api.get(f"/tickets/{tid}", user="agent").json
    assert view["status"] == "closed" and view["clocks"]["evaluation"]["status"] == "stopped"
    assert _row(api, "pending_evaluation", "agent", tid) is None
    assert _row(api, "to_archive", "manager", tid) is not None


def test_no_evaluation_in_time_warns_the_agents_who_call_back(api, frozen):
    tid, _ = _handled(api, frozen, web=True)
    approved = _act(api, tid, "review_closure", "dispatcher", decision="approve", reply="已为您办理退款。")
    late = datetime.fromisoformat(approved["clocks"]["evaluation"]["due"]) + timedelta(minutes=1)
    applied = timers.run_checkpoint(tid, now=lambda: late).summary()
    assert applied[:2] == ["record_warning:evaluation:yellow", "record_warning:evaluation:red"]
    assert _row(api, "pending_evaluation", "agent", tid)["clock_warning"] == "red"
    frozen.now = late + timedelta(minutes=30)
    called = _act(api, tid, "record_callback", "agent", satisfaction="basically_satisfied", solved=True)
    assert called["status"] == "closed" and called["clocks"]["evaluation"]["status"] == "stopped"


def test_a_manager_sets_the_archive_period_in_the_sla_rules(api, frozen):
    document = api.get("/admin/sla-rules", user="manager").json
    rules = [r for r in document["rules"] if r["clock"] != "archive"]
    rules.append({"clock": "archive", "amount": 3, "unit": "natural_days", "owner": "center"})
    saved = api.put("/admin/sla-rules", json={"rules": rules, "expected_version": document["_version"]},
                    user="manager")
    assert saved.status == 200, saved.body
    try:
        from chalicelib.services import policy

        policy.forget_cache()
        tid, _ = _handled(api, frozen)
        _act(api, tid, "review_closure", "dispatcher", decision="approve")
        closed = _act(api, tid, "record_callback", "agent", satisfaction="satisfied", solved=True)
        archive = closed["clocks"]["archive"]
        assert archive["amount"] == 3
        assert datetime.fromisoformat(archive["due"]).date() == (frozen.now + timedelta(days=3)).date()
        assert tid in archiving.archive_due(datetime.fromisoformat(archive["due"]) + timedelta(seconds=1)).archived
    finally:
        policy.forget_cache()


def test_a_department_is_told_when_a_ticket_is_dispatched_to_it(api, frozen):
    boto3.client("ses").verify_email_identity(EmailAddress=sender_address())
    directory.put_entry(directory.USERS, "lead-todo", {
        "username": "lead-todo", "role": "dept_lead", "department": "MARKET", "name": "市场监管局 值班负责人",
        "email": "lead.todo@example.gov.cn", "active": True})
    recipients.forget_cache()
    answer = api.post("/tickets", json=COMPLAINT, user="agent")
    tid = answer.json["tickets"][0]["id"]
    _act(api, tid, "accept", "agent")
    _act(api, tid, "dispatch", "dispatcher", mode="lead_assist", lead="MARKET", assists=["URBAN"])
    notes = [n for n in _outbox_notes(tid) if n.kind == "dispatched"]
    assert len(notes) == 1 and set(notes[0].audience.departments) == {"MARKET", "URBAN"}
    sent_before = int(boto3.client("ses").get_send_quota()["SentLast24Hours"])
    report = port.deliver(notes[0], now=MONDAY)  # a Monday morning: e-mail goes out at once
    assert report.sent >= 1
    assert int(boto3.client("ses").get_send_quota()["SentLast24Hours"]) == sent_before + report.sent
    for user in ("handler", "dept_lead", "lead-todo", "handler-urban"):
        items = [n for n in api.get("/notifications", user=user).json["items"] if n["ticket_id"] == tid]
        assert [n["kind"] for n in items] == ["dispatched"], user
        assert items[0]["title"] == f"待办提醒：新派工单 {tid}"
    assert not [n for n in api.get("/notifications", user="handler-gas").json["items"] if n["ticket_id"] == tid]


def test_pending_reply_has_its_own_queue_and_clock_until_an_agent_replies(api, frozen):
    """待答复: a closure approved without a reply owes the citizen one, in its own agents' queue on the
    reply clock (1 working day), apart from 待评价; late, it turns red; the agent's reply ends it and the
    citizen reads it on the tracking page."""
    tid, code = _handled(api, frozen, web=True)
    approved = _act(api, tid, "review_closure", "dispatcher", decision="approve")
    clock = approved["clocks"]["reply"]
    assert (clock["amount"], clock["unit"], clock["status"]) == (1, "working_days", "running")
    assert clock["due"] < approved["clocks"]["evaluation"]["due"]
    row = _row(api, "pending_reply", "agent", tid)
    assert row is not None and row["clock"] == "reply" and row["due"] == clock["due"]
    assert _row(api, "pending_evaluation", "agent", tid)["clock"] == "evaluation"  # its own queue and clock
    assert api.get("/queues/pending_reply", user="handler").status == 403
    assert "reply" in api.get(f"/tickets/{tid}", user="agent").json["allowed_actions"]

    late = datetime.fromisoformat(clock["due"]) + timedelta(minutes=1)
    applied = timers.run_checkpoint(tid, now=lambda: late).summary()
    assert {"record_warning:reply:yellow", "record_warning:reply:red"} <= set(applied)
    assert _row(api, "pending_reply", "agent", tid)["clock_warning"] == "red"

    frozen.now = late + timedelta(minutes=30)
    blank = _act(api, tid, "reply", "agent", status=400, reply="  ")
    assert "reply" in blank["error"]["details"]
    assert _act(api, tid, "reply", "dispatcher", status=403, reply="答复")["error"]["code"] == "forbidden"
    replied = _act(api, tid, "reply", "agent", reply="经调解，商家同意全额退款。")
    assert replied["status"] == "pending_evaluation" and replied["clocks"]["reply"]["status"] == "stopped"
    assert _row(api, "pending_reply", "agent", tid) is None
    assert _row(api, "pending_evaluation", "agent", tid) is not None
    _act(api, tid, "reply", "agent", status=409, reply="再次答复")  # nothing owed any more
    tracked = api.get(f"/public/tickets/{code}?phone_last4=5678", source_ip="203.0.113.7")
    assert tracked.status == 200, tracked.body
    assert [r["text"] for r in tracked.json["replies"]] == ["经调解，商家同意全额退款。"]
