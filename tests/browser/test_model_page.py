"""The admin's model page (智能分拨模型): after returns of automatic dispatches the live guard stops a
department by itself; the page shows why, and the admin resumes it there."""
from __future__ import annotations

import time

from playwright.sync_api import expect

SURE = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "王五", "phone": "13700005678", "address": "苏州市相城区元和街道1号"},
    "respondent": {"name": "某健身房", "address": "苏州市吴中区东吴北路1号"},
    "request": "要求退还预付卡余额",
    "facts": "健身房突然关门停业，办的预付卡里还有3000元余额无法退还，商家联系不上。",
}
DISPATCHES = 20  # the guard's minimum number of outcomes


def _wait_dispatched(runtime, ticket_id: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        ticket = runtime.call("GET", f"/tickets/{ticket_id}", "dispatcher")
        if ticket["status"] == "in_handling":
            return ticket
        assert time.monotonic() < deadline, ticket["status"]
        time.sleep(0.2)


def test_the_model_page_shows_a_department_the_guard_stopped_and_the_admin_resumes_it(screens, runtime, screenshot_dir):
    accepted = []
    with runtime.automatic_dispatch():  # the other modules on this runtime leave dispatch to dispatchers
        for i in range(DISPATCHES):
            body = {**SURE, "complainant": {**SURE["complainant"], "phone": f"1370000{i:04d}"}}
            [ticket] = runtime.call("POST", "/tickets", "agent", json=body)["tickets"]
            runtime.act(ticket["id"], "accept", "agent")
            accepted.append(ticket["id"])
        # the event pump dispatches them in the background while the next ones are registered
        tickets = [_wait_dispatched(runtime, ticket_id) for ticket_id in accepted]
    for ticket in tickets[:4]:
        assignment = ticket["assignments"][0]["id"]
        runtime.act(ticket["id"], "request_return", "handler", assignment_id=assignment, reason="非本部门职责",
                    basis="应由其他部门处理")
        runtime.act(ticket["id"], "decide_return", "dispatcher", assignment_id=assignment, decision="approve")
    for ticket in tickets[4:]:
        runtime.act(ticket["id"], "sign", "handler", assignment_id=ticket["assignments"][0]["id"])

    # the event pump follows the timelines: the page is opened once the guard has acted
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        guarded = runtime.call("GET", "/admin/dispatch-guard", "admin")["departments"]
        if next(d for d in guarded if d["department"] == "MARKET")["state"] == "paused":
            break
        time.sleep(0.2)
    admin = screens().sign_in("admin")
    expect(admin.by("admin-models")).to_be_visible()
    expect(admin.by("guard-state-MARKET")).to_have_text("已暂停")
    expect(admin.by("guard-precision-MARKET")).to_have_text("80.0%")
    expect(admin.by("guard-reason-MARKET")).to_contain_text("暂停自动分拨")
    expect(admin.by("guard-reason-MARKET")).to_contain_text("错误 4 件")
    expect(admin.by("guard-state-WATER")).to_have_text("正常")
    admin.shot(screenshot_dir, "admin-model-guard")

    admin.by("guard-resume-MARKET").click()
    box = admin.page.locator(".el-message-box")
    box.locator("input").fill("已核实原因并重新训练")
    box.get_by_role("button", name="OK").or_(box.get_by_role("button", name="确定")).first.click()
    expect(admin.by("guard-state-MARKET")).to_have_text("正常")
    expect(admin.by("guard-reason-MARKET")).to_contain_text("恢复自动分拨")
    assert admin.errors == [] and admin.refused == []
