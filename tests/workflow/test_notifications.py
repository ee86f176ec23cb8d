"""The notification port: in-app inbox always, e-mail/SMS through adapters, quiet hours, the inbox API."""
from __future__ import annotations

from datetime import datetime

import boto3
import pytest

from chalicelib.domain.calendar import TZ
from chalicelib.notifications import deferred, inbox, port, recipients, sms
from chalicelib.notifications.email import sender_address
from chalicelib.notifications.model import Audience, Notification
from chalicelib.store import directory

SUNDAY_3AM = datetime(2026, 11, 29, 3, 0, tzinfo=TZ)
MONDAY_9AM = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)


@pytest.fixture
def reachable(flow_env) -> str:
    """A department lead with an e-mail address and a mobile number, in a department of its own."""
    boto3.client("ses").verify_email_identity(EmailAddress=sender_address())
    directory.put_entry(directory.USERS, "lead-quiet", {
        "username": "lead-quiet", "role": "dept_lead", "department": "QUIET", "name": "安静局 负责人",
        "email": "lead.quiet@example.gov.cn", "mobile": "13700001234", "active": True})
    recipients.forget_cache()
    return "lead-quiet"


def _note(n: str, *, urgent: bool = False) -> Notification:
    return Notification(id=f"T-{n}/O#0000000003#000", kind="warning_red", title="红牌预警：办理时限已超期",
                        body=f"工单 T-{n} 的办理时限已超期，请立即办理。", audience=Audience(departments=("QUIET",)),
                        created_at=SUNDAY_3AM.isoformat(), ticket_id=f"T-{n}", urgent=urgent)


def _emails_sent() -> int:
    return int(boto3.client("ses").get_send_quota()["SentLast24Hours"])


def test_quiet_hours_defer_a_non_urgent_email_until_monday_morning(reachable):
    before = _emails_sent()
    note = _note("quiet")

    report = port.deliver(note, now=SUNDAY_3AM)
    assert (report.recipients, report.inbox, report.sent, report.held) == (1, 1, 0, 2)  # e-mail and SMS wait
    assert _emails_sent() == before
    assert [i["kind"] for i in inbox.list_for(reachable)[0] if i["ticket_id"] == "T-quiet"] == ["warning_red"]

    port.deliver(note, now=SUNDAY_3AM)  # the queue redelivers: still one inbox item, still held once
    assert len([i for i in inbox.list_for(reachable)[0] if i["ticket_id"] == "T-quiet"]) == 1
    assert len([i for i in deferred.pending(MONDAY_9AM) if i.PK == f"NOTIFY#{note.id}"]) == 2

    assert deferred.release_due(datetime(2026, 11, 30, 8, 59, tzinfo=TZ)) == 0  # not yet
    assert _emails_sent() == before
    sms_before = len(sms.OUTBOX)
    assert deferred.release_due(MONDAY_9AM) == 2
    assert _emails_sent() == before + 1
    assert [m.to for m in list(sms.OUTBOX)[sms_before:]] == ["137****1234"]
    assert deferred.release_due(MONDAY_9AM) == 0  # released once


def test_an_urgent_notification_goes_out_at_once_even_at_night(reachable):
    before = _emails_sent()
    report = port.deliver(_note("urgent", urgent=True), now=SUNDAY_3AM)
    assert (report.sent, report.held) == (2, 0)
    assert _emails_sent() == before + 1
    assert sms.OUTBOX[-1].text.startswith("【12345/12315】红牌预警")

    port.deliver(_note("urgent", urgent=True), now=SUNDAY_3AM)  # redelivered: not e-mailed twice
    assert _emails_sent() == before + 1


def test_notifications_reach_only_their_audience():
    note = Notification(id="T-aud/O#1", kind="urged", title="催办：工单 T-aud", body="请答复催办。",
                        audience=Audience(departments=("URBAN",), roles=("manager",)), created_at=MONDAY_9AM.isoformat())
    names = {u["username"] for u in recipients.resolve(note.audience)}
    assert {"handler-urban", "manager"} <= names
    assert not names & {"handler", "dept_lead", "agent", "dispatcher", "admin"}


def test_the_inbox_lists_marks_read_and_is_private(flow_env):
    from tests.conftest import ApiClient

    api = ApiClient()
    directory.put_entry(directory.USERS, "inbox-reader", {"username": "inbox-reader", "role": "handler",
                                                          "department": "READERS", "name": "读者", "active": True})
    recipients.forget_cache()
    for n in range(3):
        port.deliver(Notification(id=f"T-inbox/{n}", kind="supervised", title=f"督办：工单 T-inbox-{n}",
                                  body="请立即办理。", audience=Audience(usernames=("inbox-reader",)),
                                  created_at=datetime(2026, 11, 24, 10, n, tzinfo=TZ).isoformat()),
                     now=MONDAY_9AM)
    answer = api.get("/notifications", user="inbox-reader")
    assert answer.status == 200, answer.body
    items = answer.json["items"]
    assert [i["title"] for i in items] == ["督办：工单 T-inbox-2", "督办：工单 T-inbox-1", "督办：工单 T-inbox-0"]
    unread = answer.json["unread"]
    assert unread == 3

    first = items[0]["id"]
    assert api.post(f"/notifications/{first}/read", json={}, user="handler-gas").status == 404  # not theirs
    marked = api.post(f"/notifications/{first}/read", json={}, user="inbox-reader")
    assert marked.status == 200 and marked.json["read"] is True
    assert api.get("/notifications", user="inbox-reader").json["unread"] == unread - 1
    assert all(i["id"] != first for i in api.get("/notifications?unread=true", user="inbox-reader").json["items"])

    assert api.post("/notifications/20260101T000000000000Z-000000000000/read", json={},
                    user="inbox-reader").status == 404
    assert api.post("/notifications/read-all", json={}, user="inbox-reader").json["marked"] == unread - 1
    assert api.get("/notifications", user="inbox-reader").json["unread"] == 0


def test_an_office_to_do_notice_reaches_its_department_lead_too_and_each_person_once(flow_env):
    from chalicelib.notifications import events
    from chalicelib.services import policy
    from chalicelib.streams import TableChange

    policy.forget_cache()
    recipients.forget_cache()

    def notice(ticket_id: str, *units: str) -> Notification:
        item = {"topic": "ticket.dispatched", "payload": {
            "ticket_id": ticket_id, "at": MONDAY_9AM.isoformat(),
            "assignments": [{"id": f"A{n}", "department": unit, "role": "parallel"} for n, unit in enumerate(units)]}}
        change = TableChange(event_id="O#1", event_name="INSERT", sequence_number="1", pk=f"T#{ticket_id}",
                             sk="O#0000000002#000", new=item, old=None)
        assert events.accepts(change)
        note = events.build(change, None)
        assert note is not None and note.kind == "dispatched"
        assert Notification.from_dict(note.to_dict()).audience == note.audience  # kept when held for quiet hours
        return note

    office = notice("T-office", "MARKET-GUSU")  # a grassroots office of MARKET (its lead: dept_lead)
    assert (office.audience.departments, office.audience.leads) == (("MARKET-GUSU",), ("MARKET",))
    names = [u["username"] for u in recipients.resolve(office.audience)]
    assert "handler-market-gusu" in names and names.count("dept_lead") == 1
    assert not set(names) & {"handler", "handler-market-wuzhong", "handler-urban"}  # only the lead of MARKET
    assert notice("T-plain", "URBAN").audience.leads == ()  # a department's own share: as before

    both = notice("T-both", "MARKET", "MARKET-GUSU")  # the lead is told as MARKET's and as the office's lead
    report = port.deliver(both, now=MONDAY_9AM)
    names = [u["username"] for u in recipients.resolve(both.audience)]
    assert names.count("dept_lead") == 1 and {"handler", "handler-market-gusu"} <= set(names)
    assert report.inbox == len(names)
    assert [i["ticket_id"] for i in inbox.list_for("dept_lead")[0]].count("T-both") == 1
