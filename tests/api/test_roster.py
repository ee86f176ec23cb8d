"""The duty roster through the API: who keeps which department's roster, who is on duty now, and
red warnings / urgent tickets reaching whoever is on call."""
from __future__ import annotations

from datetime import datetime, timedelta

from freezegun import freeze_time

from chalicelib.domain.calendar import TZ
from chalicelib.notifications import inbox, port, recipients
from chalicelib.notifications.model import Audience, Notification
from chalicelib.store import directory

DAY = "2026-12-08"  # a Tuesday
MORNING = datetime(2026, 12, 8, 10, 0, tzinfo=TZ)
NIGHT = datetime(2026, 12, 9, 2, 30, tzinfo=TZ)


def _entry(**extra):
    return {"date": DAY, "department": "MARKET", "role": "handler", "shift": "白班", "start": "08:30",
            "end": "17:30", "usernames": ["handler"], **extra}


def test_leads_keep_their_own_department_and_managers_every_roster(api):
    created = api.post("/roster", json=_entry(), user="dept_lead")
    assert created.status == 201, created.body
    entry = created.json
    assert entry["_version"] == 1 and entry["on_call"] is False
    other = api.post("/roster", json=_entry(department="URBAN", usernames=["handler-urban"]), user="dept_lead")
    assert other.status == 403
    assert api.post("/roster", json=_entry(department="URBAN", usernames=["handler-urban"]), user="manager").status == 201
    assert api.post("/roster", json=_entry(), user="handler").status == 403
    assert api.post("/roster", json=_entry(), user="agent").status == 403
    night = api.post("/roster", json={"date": DAY, "department": "center", "role": "manager", "shift": "夜班",
                                      "start": "18:00", "end": "08:00", "usernames": ["manager"], "on_call": True},
                     user="admin")
    assert night.status == 201, night.body

    # bad input: named fields, nothing stored
    bad = api.post("/roster", json=_entry(usernames=["agent", "nobody"], start="25:00"), user="manager")
    assert bad.status == 400
    assert set(bad.json["error"]["details"]) == {"start"}  # the schema refuses the time first
    bad = api.post("/roster", json=_entry(usernames=["agent", "nobody", "handler-urban"]), user="manager")
    assert bad.json["error"]["details"] == {"usernames[0]": "not a handler", "usernames[1]": "no such active user",
                                            "usernames[2]": "not in department MARKET"}
    assert api.post("/roster", json=_entry(department="center"), user="manager").json["error"]["details"] == {
        "department": "department roles work in a department"}
    assert api.post("/roster", json=_entry(role="agent", usernames=["agent"]), user="manager").status == 400
    assert api.post("/roster", json={**_entry(), "date": "2026-13-40"}, user="manager").status == 400

    # the handler sees their department's roster and the centre's, not another department's
    seen = api.get(f"/roster?date={DAY}", user="handler").json["items"]
    assert {e["department"] for e in seen} == {"MARKET", "center"}
    assert api.get(f"/roster?date={DAY}&department=URBAN", user="handler").json["items"] == []
    everything = api.get(f"/roster?date={DAY}", user="dispatcher").json["items"]
    assert [e["department"] for e in everything] == ["center", "MARKET", "URBAN"]
    market = next(e for e in everything if e["department"] == "MARKET")
    assert market["people"] == [{"username": "handler", "name": "市场监管局 处理人 张伟"}] and not market["editable"]
    assert next(e for e in api.get(f"/roster?date={DAY}", user="dept_lead").json["items"]
                if e["department"] == "MARKET")["editable"]

    # change with the version read; a stale version is a 409; cancel keeps the entry
    path = f"/roster/{DAY}/{entry['id']}"
    changed = api.put(path, json={**{k: v for k, v in _entry().items() if k != "date"}, "end": "18:00",
                                  "expected_version": 1}, user="dept_lead")
    assert changed.status == 200 and changed.json["end"] == "18:00" and changed.json["_version"] == 2
    stale = api.put(path, json={**{k: v for k, v in _entry().items() if k != "date"}, "expected_version": 1},
                    user="manager")
    assert stale.status == 409
    assert api.post(path + "/cancel", json={"expected_version": 2}, user="dept_lead").json["active"] is False
    assert all(e["id"] != entry["id"] for e in api.get(f"/roster?date={DAY}", user="manager").json["items"])
    kept = api.get(f"/roster?date={DAY}&include_cancelled=1", user="manager").json["items"]
    assert any(e["id"] == entry["id"] and e["active"] is False for e in kept)
    assert api.put(f"/roster/{DAY}/zzzz", json={**{k: v for k, v in _entry().items() if k != "date"},
                                                "expected_version": 1}, user="manager").status == 404


def test_on_duty_now_follows_the_clock_and_night_shifts(api):
    api.post("/roster", json=_entry(), user="manager")
    api.post("/roster", json={"date": DAY, "department": "center", "role": "manager", "shift": "夜班",
                              "start": "18:00", "end": "08:00", "usernames": ["manager"], "on_call": True},
             user="manager")
    with freeze_time(MORNING):
        now = api.get("/roster/now", user="agent").json["items"]
    assert [(e["department"], e["shift"]) for e in now] == [("MARKET", "白班")]
    with freeze_time(NIGHT):  # yesterday's night shift still runs
        now = api.get("/roster/now", user="handler").json["items"]
    assert [(e["department"], e["shift"], e["on_call"]) for e in now] == [("center", "夜班", True)]
    assert now[0]["department_name"] == "热线中心"


def _red(n: str, department: str = "URBAN", *, kind: str = "warning_red", urgent: bool = False) -> Notification:
    return Notification(id=f"T-{n}/O#0000000003#000", kind=kind, title="红牌预警：办理时限已超期",
                        body=f"工单 T-{n} 的办理时限已超期，请立即办理。", audience=Audience(departments=(department,)),
                        created_at=NIGHT.isoformat(), ticket_id=f"T-{n}", urgent=urgent)


def test_red_warnings_and_urgent_notes_also_reach_who_is_on_call(api):
    directory.put_entry(directory.USERS, "lead-urban", {"username": "lead-urban", "role": "dept_lead",
                                                        "department": "URBAN", "name": "城管局 负责人", "active": True})
    recipients.forget_cache()
    api.post("/roster", json={"date": DAY, "department": "center", "role": "dispatcher", "shift": "夜班",
                              "start": "18:00", "end": "08:00", "usernames": ["dispatcher"], "on_call": True},
             user="manager")
    api.post("/roster", json={"date": DAY, "department": "MARKET", "role": "dept_lead", "shift": "夜班",
                              "start": "18:00", "end": "08:00", "usernames": ["dept_lead"], "on_call": True},
             user="manager")

    def inbox_of(user: str) -> set[str]:
        return {i["ticket_id"] for i in inbox.list_for(user)[0]}

    port.deliver(_red("red"), now=NIGHT)  # URBAN's red warning at night: the centre's on-call dispatcher too
    assert "T-red" in inbox_of("dispatcher") and "T-red" in inbox_of("handler-urban")
    assert "T-red" not in inbox_of("dept_lead")  # on call for MARKET, not for URBAN
    port.deliver(_red("urgent-market", "MARKET", kind="urged", urgent=True), now=NIGHT)
    assert "T-urgent-market" in inbox_of("dept_lead") and "T-urgent-market" in inbox_of("dispatcher")
    port.deliver(_red("plain", kind="urged"), now=NIGHT)  # neither red nor urgent: no one extra
    assert "T-plain" not in inbox_of("dispatcher")
    port.deliver(_red("day", "URBAN"), now=NIGHT + timedelta(hours=8))  # the night shift is over
    assert "T-day" not in inbox_of("dispatcher")
