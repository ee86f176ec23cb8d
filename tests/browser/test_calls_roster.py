"""Browser: the agent's workbench shows who is on call; a manager reads the call statistics of an
imported day of calls, with callers masked."""
from __future__ import annotations

from datetime import datetime

from playwright.sync_api import expect

from chalicelib.domain.calendar import TZ


def test_roster_panel_and_call_statistics(screens, runtime, screenshot_dir):
    today = datetime.now(TZ).date().isoformat()
    runtime.call("POST", "/roster", "manager", json={
        "date": today, "department": "center", "role": "manager", "shift": "值班", "start": "00:00", "end": "00:00",
        "usernames": ["manager"], "on_call": True, "note": "中心值班长"})
    rows = ["call_id,agent,caller,start,answer,end,queue,outcome,recording,ticket_id",
            f"B-1,agent,13912345678,{today}T09:00:00+08:00,{today}T09:00:20+08:00,{today}T09:06:20+08:00,complaint,answered,r1,",
            f"B-2,,13800002222,{today}T09:10:00+08:00,,{today}T09:11:00+08:00,complaint,abandoned,,"]
    runtime.call("POST", "/calls/import", "manager", json={"csv": "\n".join(rows) + "\n"})

    agent = screens().sign_in("agent")
    expect(agent.by("roster-panel")).to_contain_text("管理中心 主任 刘洋")
    expect(agent.by("roster-panel")).to_contain_text("值班")
    assert agent.errors == [], agent.errors

    manager = screens().sign_in("manager")
    manager.by("nav-calls").click()
    expect(manager.by("calls-offered")).to_contain_text("2")
    expect(manager.by("calls-answer-rate")).to_contain_text("50")
    expect(manager.by("calls-table")).to_contain_text("139****5678")
    expect(manager.by("calls-table")).not_to_contain_text("13912345678")
    manager.shot(screenshot_dir, "manager-calls")
    assert manager.errors == [], manager.errors
    assert manager.refused == [], manager.refused
