"""The admin's flow page (工单流程), where there is no AWS console: the state machine's graph with the
ticket's current stage highlighted, and the execution history, from the same API data."""
from __future__ import annotations

import time

from playwright.sync_api import expect

HELP = {
    "kind": "help_request", "channel": "phone", "category": "物业服务",
    "complainant": {"name": "赵六", "phone": "13600001234", "address": "苏州市姑苏区十全街8号"},
    "respondent": {"name": "苏州某某物业公司", "address": "苏州市姑苏区十全街10号"},
    "request": "请协调处理小区电梯长期停运问题",
    "facts": "小区5号楼电梯已停运三周，物业未给出维修时间。",
}


def test_the_admin_sees_the_graph_with_the_current_stage_and_the_history(screens, runtime):
    [ticket] = runtime.call("POST", "/tickets", "agent", json=HELP)["tickets"]
    deadline = time.monotonic() + 60
    while True:  # the event pump starts the flow and arms the acceptance stage
        flow = runtime.call("GET", f"/admin/workflows/{ticket['id']}", "admin")
        if [w["state"] for w in flow["waiting_in"]] == ["Acceptance"]:
            break
        assert time.monotonic() < deadline, flow["waiting_in"]
        time.sleep(0.3)

    admin = screens().sign_in("admin", f"/admin/workflows/{ticket['id']}")
    expect(admin.by("workflow-graph")).to_be_visible()
    expect(admin.by("state-Acceptance")).to_have_class("node Task current visited")
    expect(admin.by("state-Dispatch")).not_to_have_class("node Task current visited")
    expect(admin.by("workflow-waiting")).to_contain_text("Acceptance")
    expect(admin.by("workflow-history")).to_contain_text("TaskStateEntered")
    expect(admin.by("workflow-history")).to_contain_text("ExecutionStarted")
