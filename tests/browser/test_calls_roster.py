"""Browser: the agent's workbench shows who is on call; a manager reads the call statistics of an
imported day of calls, with callers masked, and finds the linked call on its ticket's page."""
from __future__ import annotations

from datetime import datetime

from playwright.sync_api import expect

from chalicelib.domain.calendar import TZ


def test_roster_panel_and_call_statistics(screens, runtime, screenshot_dir):
    today = datetime.now(TZ).date().isoformat()
    runtime.call("POST", "/roster", "manager", json={
        "date": today, "department": "center", "role": "manager", "shift": "值班", "start": "00:00", "end": "00:00",
        "usernames": ["manager"], "on_call": True, "note": "中心值班长"})
    tid = runtime.call("POST", "/tickets", "agent", json={
        "kind": "complaint", "channel": "phone", "category": "食品安全",
        "complainant": {"name": "周八", "phone": "13912345678", "address": "苏州市姑苏区人民路100号"},
        "respondent": {"name": "某超市", "address": "苏州市姑苏区观前街1号"},
        "request": "要求退款", "facts": "所购牛奶已过期，商家拒绝退款。"})["tickets"][0]["id"]
    rows = ["call_id,agent,caller,start,answer,end,queue,outcome,recording,ticket_id",
            f"B-1,agent,13912345678,{today}T09:00:00+08:00,{today}T09:00:20+08:00,{today}T09:06:20+08:00,complaint,answered,r1,{tid}",
            f"B-2,,13800002222,{today}T09:10:00+08:00,,{today}T09:11:00+08:00,complaint,abandoned,,"]
    runtime.call("POST", "/calls/import", "manager", json={"csv": "\n".join(rows) + "\n"})

    agent = screens().sign_in("agent")
    expect(agent.by("roster-panel")).to_contain_text("管理中心 主任 刘洋")
    expect(agent.by("roster-panel")).to_contain_text("值班")
    assert agent.errors == [], agent.errors

    manager = screens().sign_in("manager", "/calls")
    expect(manager.by("calls-offered")).to_contain_text("2")
    expect(manager.by("calls-answer-rate")).to_contain_text("50")
    expect(manager.by("calls-table")).to_contain_text("139****5678")
    expect(manager.by("calls-table")).not_to_contain_text("13912345678")
    manager.shot(screenshot_dir, "manager-calls")
    manager.open(f"/tickets/{tid}")  # the ticket registered from the call lists it
    expect(manager.by("ticket-calls-table")).to_contain_text("已接听")
    expect(manager.by("ticket-calls-table")).to_contain_text("6 分 0 秒")
    expect(manager.by("call-recording")).to_have_text("r1")
    expect(manager.by("call-caller")).to_have_text("139****5678")
    assert manager.errors == [], manager.errors
    assert manager.refused == [], manager.refused
