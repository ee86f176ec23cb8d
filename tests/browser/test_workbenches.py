"""The manager's monitoring wall draws its charts from real data, and every workbench renders
(with a screenshot of each for docs/screenshots/ when PORTAL_SCREENSHOTS is set).

The runtime is shared with the other browser modules, so the city holds their tickets too: each
figure is asserted as what was there before plus what this module arranged, or against what the
tickets and queues themselves hold (read through the API), with this module's tickets among them."""
from __future__ import annotations

import math
import signal
import time
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from chalicelib.domain.calendar import TZ


pytestmark = pytest.mark.browser
# What the arranged tickets add to the city's backlog (the queues the wall counts).
ADDED_BACKLOG = {"pending_acceptance": 2, "internet_inbox": 2, "to_dispatch": 1, "to_sign": 1, "in_progress": 2}
# The stages the wall's 当前在办 adds up (portal/src/wall.js STAGES).
STAGES = ("internet_inbox", "upper_assignments", "pending_acceptance", "non_acceptance_reviews", "to_dispatch",
          "to_sign", "in_progress", "closure_reviews", "pending_callback")

SHOPS = [("苏州某某电器商店", "苏州市姑苏区观前街1号", "商品质量"), ("园区星海健身会所", "苏州工业园区星海街9号", "预付卡"),
         ("苏州某某电器商店", "苏州市姑苏区观前街1号", "商品质量"), ("吴中惠民药房", "苏州市吴中区宝带西路5号", "药品"),
         ("相城鲜丰水果店", "苏州市相城区华元路3号", "食品安全"), ("苏州某某电器商店", "苏州市姑苏区观前街1号", "售后服务")]


def _complaint(n: int, kind: str = "complaint") -> dict:
    name, address, category = SHOPS[n % len(SHOPS)]
    return {"kind": kind, "channel": "phone", "category": category,
            "complainant": {"name": f"市民{n:02d}", "phone": f"1380000{n:04d}", "address": "苏州市姑苏区人民路100号"},
            "respondent": {"name": name, "address": address},
            "request": "要求退款" if kind == "complaint" else "要求查处",
            "facts": f"第{n}号来电：购买的商品或服务存在问题，与商家协商未果（编号{n}）。"}


def _days(days: int) -> dict[str, str]:
    today = datetime.now(TZ).date()
    return {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}


def _backlog_now(runtime) -> dict[str, int]:
    """The city's backlog per work queue now: the wall of a period it never stores (two days), so
    computed on the request, its backlog counted afresh (only such walls reuse a count, for 15 s,
    and no other browser module asks for one)."""
    return runtime.call("GET", "/stats/wall", "manager", params=_days(2))["queues"]


def _queue(runtime, name: str, user: str) -> list[dict]:
    """``user``'s queue ``name`` as the workbench loads it (its first 100 rows)."""
    return runtime.call("GET", f"/queues/{name}", user, params={"limit": 100})["items"]


@pytest.fixture(scope="module")
def tickets(runtime) -> dict[str, list[str]]:
    """Tickets in every stage: waiting, dispatched, in handling, reviewed, called back, closed; and,
    under ``"backlog before"``, the city's backlog before them."""
    made: dict[str, list] = {"backlog before": _backlog_now(runtime)}

    def register(n: int, kind: str = "complaint") -> str:
        return runtime.call("POST", "/tickets", "agent", json=_complaint(n, kind))["tickets"][0]["id"]

    def to_department(tid: str, department: str = "MARKET", sign: bool = True) -> str:
        runtime.act(tid, "accept", "agent", district="GUSU")
        aid = runtime.act(tid, "dispatch", "dispatcher", mode="single", department=department)["assignments"][0]["id"]
        if sign:
            runtime.act(tid, "sign", "handler" if department == "MARKET" else f"handler-{department.lower()}",
                        assignment_id=aid)
        return aid

    made["pending"] = [register(1), register(2, "report")]
    made["to_dispatch"] = [register(3)]
    runtime.act(made["to_dispatch"][0], "accept", "agent")
    made["to_sign"] = [register(4)]
    to_department(made["to_sign"][0], sign=False)
    made["in_progress"] = [register(5), register(6)]
    for tid in made["in_progress"]:
        aid = to_department(tid)
        runtime.act(tid, "add_note", "handler", assignment_id=aid, text="已联系双方，正在调解。")
    runtime.act(made["in_progress"][1], "urge", "manager", text="请加快办理并答复群众。")
    made["called_back"] = []
    for n, satisfaction in ((7, "satisfied"), (8, "basically_satisfied"), (9, "dissatisfied")):
        tid = register(n)
        aid = to_department(tid)
        runtime.act(tid, "submit_closure", "handler", assignment_id=aid, result="settled", facts="双方达成调解协议。")
        runtime.act(tid, "review_closure", "dispatcher", decision="approve", reply="经调解，商家同意退款。")
        runtime.act(tid, "record_callback", "agent", satisfaction=satisfaction, solved=satisfaction != "dissatisfied")
        made["called_back"].append(tid)  # the callback closed it
    made["web"] = []  # registered last: once the counters hold them, they hold everything before
    for n in (10, 11):
        body = {k: v for k, v in _complaint(n).items() if k != "channel"}
        made["web"].append(runtime.call("POST", "/public/tickets", json=body)["tickets"][0]["tracking_code"])
    return made


def _count(made: dict[str, list]) -> int:
    return sum(len(v) for k, v in made.items() if k != "backlog before")


def _wait_for_analytics(runtime, received: int, backlog: dict[str, int], limit_seconds: float = 90.0) -> dict:
    """The wall's answer (stored by the schedule every minute) once its counters, which follow the
    table's stream, count all ``received`` tickets and its backlog is ``backlog``."""
    deadline = time.monotonic() + limit_seconds
    refreshed = 0.0
    while True:
        wall = runtime.call("GET", "/stats/wall?period=last_30_days", "manager")
        if wall["figures"]["received"] == received and all(wall["queues"].get(k, 0) == v for k, v in backlog.items()):
            return wall
        if time.monotonic() - refreshed > 2:  # the stored wall is refreshed now, not at the next minute
            runtime.process.send_signal(signal.SIGUSR1)
            refreshed = time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"the wall did not reach {received} tickets and the backlog {backlog}: "
                                 f"{wall['figures']}, {wall['queues']}")
        time.sleep(0.5)


def _js_tenth(value: float) -> str:
    """``value`` rounded to a tenth and printed as the wall's JavaScript prints it (80, 66.7)."""
    return f"{math.floor(value * 10 + 0.5) / 10:g}"


def test_manager_wall_renders_charts_with_data(screens, runtime, tickets, screenshot_dir):
    # the truth, read from the tickets themselves: every ticket of the last 30 days, their feedback
    truth = runtime.call("GET", "/monitoring/overview", "manager", params=_days(30))["period"]
    assert truth["tickets"] >= _count(tickets) and not truth["truncated"], truth
    before = tickets["backlog before"]
    backlog = {k: before.get(k, 0) + added for k, added in ADDED_BACKLOG.items()}
    wall = _wait_for_analytics(runtime, truth["tickets"], backlog)
    manager = screens()
    wall_calls: list[str] = []
    ticket_reads: list[str] = []

    def watch(request) -> None:
        path = request.url.split("://", 1)[1].split("/", 1)[1]
        if path.startswith("stats/wall"):
            wall_calls.append(request.url)
        elif path.startswith("tickets"):
            ticket_reads.append(request.url)

    manager.page.on("request", watch)
    manager.sign_in("manager", by_form=True)
    expect(manager.by("manager-wall")).to_be_visible()
    expect(manager.by("figure-total").locator("[data-value]")).to_have_attribute("data-value", str(truth["tickets"]))
    for chart in ("chart-daily", "chart-status", "chart-kind", "chart-queues", "chart-hotspots", "chart-satisfaction",
                  "chart-departments"):
        box = manager.by(chart)
        expect(box).to_have_attribute("data-rendered", "yes")
        assert int(box.get_attribute("data-total")) > 0, chart
        expect(box.locator("canvas")).to_have_count(1)
    # the current backlog by stage (waited for above): what was there, plus 2 phone + 2 web waiting,
    # 1 to dispatch, 1 to sign, 2 in progress
    open_now = sum(before.get(stage, 0) for stage in STAGES) + sum(ADDED_BACKLOG.values())
    assert sum(wall["queues"].get(stage, 0) for stage in STAGES) == open_now, (before, wall["queues"])
    expect(manager.by("figure-open").locator("[data-value]")).to_have_attribute("data-value", str(open_now))
    assert int(manager.by("chart-status").get_attribute("data-total")) == open_now
    # every ticket's feedback (here 3 callbacks, 2 of them satisfied or basically satisfied), as the tickets hold it
    content = truth["satisfaction"]["satisfied"] + truth["satisfaction"]["basically_satisfied"]
    assert truth["replied"] >= 3 and math.isclose(wall["figures"]["satisfaction_rate"], 100 * content / truth["replied"],
                                                  abs_tol=0.05), (truth, wall["figures"])
    assert int(manager.by("chart-satisfaction").get_attribute("data-total")) == truth["replied"]
    expect(manager.by("figure-satisfaction").locator("[data-value]")).to_have_attribute(
        "data-value", _js_tenth(wall["figures"]["satisfaction_rate"]))
    # the repeated respondent is the top hotspot
    assert int(manager.by("chart-hotspots").get_attribute("data-total")) >= 3
    # 近90日 works and, like every period, is one request to the counters: no ticket is fetched for the wall
    manager.page.get_by_text("近90日").click()
    expect(manager.by("chart-daily")).to_have_attribute("data-rendered", "yes")
    manager.page.wait_for_load_state("networkidle")
    expect(manager.by("wall-error")).to_have_count(0)
    expect(manager.by("figure-total").locator("[data-value]")).to_have_attribute("data-value", str(truth["tickets"]))
    assert len(wall_calls) == 2 and "from=" in wall_calls[-1], wall_calls
    assert ticket_reads == [], ticket_reads
    expect(manager.by("queue-warnings")).to_be_visible()
    manager.shot(screenshot_dir, "manager-wall")
    expect(manager.by("stats-overview").locator(".figure").first).to_be_visible()
    expect(manager.by("reports-panel")).to_be_visible()
    manager.page.set_viewport_size({"width": 1366, "height": 1400})
    manager.shot(screenshot_dir, "manager-wall-full")
    # rules saved before the dispatch clock existed: the clock runs by its default, and the page says so
    sla = runtime.call("GET", "/admin/sla-rules", "manager")
    runtime.call("PUT", "/admin/sla-rules", "manager", json={
        "rules": [r for r in sla["rules"] if r["clock"] != "dispatch"], "expected_version": sla["_version"]})
    manager.by("nav-settings").click()
    expect(manager.by("sla-rules").locator("tr.el-table__row").first).to_be_visible()
    expect(manager.by("sla-missing")).to_contain_text("按系统默认值计时：分拨时限")
    expect(manager.by("indicators").locator("tr.el-table__row").first).to_be_visible()
    manager.page.set_viewport_size({"width": 1366, "height": 768})
    manager.shot(screenshot_dir, "manager-settings")
    assert manager.errors == [], manager.errors


def test_every_workbench_renders_its_work(screens, runtime, tickets, screenshot_dir):
    # each queue as the API lists it now (the arranged tickets among the other modules'), and the
    # tickets registered in the last 7 days
    pending = _queue(runtime, "pending_acceptance", "agent")
    assert {*tickets["pending"]} <= {row["id"] for row in pending}
    inbox = _queue(runtime, "internet_inbox", "agent")
    assert len(inbox) >= 2
    recent = runtime.call("GET", "/tickets", "agent", params={**_days(7), "limit": 200})
    assert not recent["next_cursor"] and len(recent["items"]) >= _count(tickets)
    to_dispatch = _queue(runtime, "to_dispatch", "dispatcher")
    assert tickets["to_dispatch"][0] in {row["id"] for row in to_dispatch}
    to_sign, in_progress = _queue(runtime, "to_sign", "handler"), _queue(runtime, "in_progress", "handler")
    assert tickets["to_sign"][0] in {row["id"] for row in to_sign}
    assert {*tickets["in_progress"]} <= {row["id"] for row in in_progress}
    urgings = _queue(runtime, "urgings", "handler")
    assert tickets["in_progress"][1] in {row["id"] for row in urgings}

    agent = screens().sign_in("agent")
    expect(agent.by("figure-pending_acceptance").locator("[data-value]")).to_have_attribute("data-value", str(len(pending)))
    expect(agent.by("figure-internet_inbox").locator("[data-value]")).to_have_attribute("data-value", str(len(inbox)))
    expect(agent.by("queue-internet_inbox").locator("tr.el-table__row")).to_have_count(len(inbox))
    expect(agent.by("figure-recent").locator("[data-value]")).to_have_attribute("data-value", str(len(recent["items"])))
    agent.shot(screenshot_dir, "agent-workbench")

    agent.by("nav-register").click()
    agent.fill("field-complainant-name", "周芷若")
    agent.fill("field-complainant-phone", "1390000")
    agent.fill("field-respondent-name", "苏州某某电器商店")
    agent.field("field-respondent-name").press("Tab")
    expect(agent.by("duplicate-hints")).to_contain_text("近30日涉及「苏州某某电器商店」的工单")
    expect(agent.page.get_by_text("请填写11位手机号或带区号的固定电话")).to_be_visible()
    agent.shot(screenshot_dir, "agent-register")

    dispatcher = screens().sign_in("dispatcher")
    expect(dispatcher.by("queue-to_dispatch").locator("tr.el-table__row")).to_have_count(len(to_dispatch))
    if runtime.call("GET", f"/tickets/{tickets['to_dispatch'][0]}", "dispatcher").get("recommendation"):
        expect(dispatcher.by("queue-to_dispatch")).to_contain_text("建议：")  # the model's first choice, listed
    dispatcher.by("quick-dispatch-" + tickets["to_dispatch"][0]).click()
    dialog = dispatcher.dialog("dispatch")
    dispatcher.choose("dispatch-department", "市场监督管理局", scope=dialog, search="消费纠纷")
    dispatcher.shot(screenshot_dir, "dispatcher-dispatch-dialog")
    dialog.locator(".el-dialog__headerbtn").click()
    dispatcher.by("figure-closure_reviews").click()
    dispatcher.page.get_by_role("tab", name="部门目录").click()
    dispatcher.fill("department-search", "物业")
    dispatcher.field("department-search").press("Enter")
    expect(dispatcher.by("department-list").locator("tr.el-table__row")).to_have_count(1)
    expect(dispatcher.by("department-list")).to_contain_text("住房和城乡建设局")
    dispatcher.page.get_by_role("tab", name="待分拨").click()
    dispatcher.shot(screenshot_dir, "dispatcher-workbench")

    handler = screens().sign_in("handler")
    expect(handler.by("queue-to_sign").locator("tr.el-table__row")).to_have_count(len(to_sign))
    handler.by("figure-in_progress").click()
    rows = handler.by("queue-in_progress").locator("tr.el-table__row")
    expect(rows).to_have_count(len(in_progress))
    expect(rows.first).to_contain_text("剩余")
    expect(handler.by("figure-urgings").locator("[data-value]")).to_have_attribute("data-value", str(len(urgings)))
    handler.shot(screenshot_dir, "department-workbench")

    handler.open(f"/tickets/{tickets['in_progress'][1]}")
    expect(handler.by("timeline").locator("[data-event=urged]")).to_have_count(1)
    for action in ("add_note", "pause", "request_extension", "request_return", "submit_closure", "answer_urging"):
        expect(handler.by(f"action-{action}")).to_be_visible()
    handler.shot(screenshot_dir, "ticket-detail")

    citizen = screens("phone").open("/citizen")
    expect(citizen.by("citizen-form")).to_be_visible()
    citizen.shot(screenshot_dir, "citizen-submit-phone")
    citizen.open(f"/citizen/track/{tickets['web'][0]}")
    citizen.fill("track-last4", "0010")
    citizen.field("track-last4").press("Enter")
    expect(citizen.by("track-status")).to_have_text("互联网渠道待受理")
    expect(citizen.by("track-no-reply")).to_be_visible()
    citizen.shot(screenshot_dir, "citizen-track-phone")
    admin = screens().sign_in("admin")  # lands on the admin's own page; the statistics are the manager's
    expect(admin.by("admin-models")).to_be_visible()
    expect(admin.by("dispatch-settings")).to_be_visible()
    expect(admin.page.get_by_text("监控大屏")).to_have_count(0)
    admin.page.wait_for_load_state("networkidle")
    for screen in (agent, dispatcher, handler, citizen, admin):
        assert screen.errors == [], screen.errors
        assert screen.refused == [], screen.refused


def test_expired_login_refusal_and_registrar_are_shown(screens, runtime, tickets):
    # on the statistics page (the wall's charts are the test above's; here they would only be drawn thrice)
    manager = screens().sign_in("manager", "/stats")
    expect(manager.by("field-measures")).to_contain_text("登记量")  # the measure catalog, read with the token
    # the token expires (here: the server no longer accepts it): the next call sends the user to sign in, saying why
    manager.page.evaluate("""() => {
        const key = 'complaint-platform-session'
        const saved = JSON.parse(sessionStorage.getItem(key))
        saved.token = saved.token.slice(0, -4) + 'AAAA'
        sessionStorage.setItem(key, JSON.stringify(saved))
    }""")
    manager.page.reload()
    expect(manager.by("login-expired")).to_have_text("登录已失效，请重新登录")
    assert manager.page.url.endswith("/portal/login?expired=1&next=/stats"), manager.page.url
    manager.field("login-username").fill("manager")  # signing in again by the form leads back to the page
    manager.field("login-username").press("Enter")
    expect(manager.by("field-measures")).to_contain_text("登记量")
    assert manager.page.url.endswith("/portal/stats"), manager.page.url

    # another department's ticket: 无权查看, and 返回 leads back instead of a useless 重试
    urban = screens().sign_in("handler-urban")
    urban.open(f"/tickets/{tickets['in_progress'][0]}")
    expect(urban.by("load-error")).to_contain_text("无权查看")
    expect(urban.by("load-error").get_by_role("button", name="重试")).to_have_count(0)
    urban.by("load-back").click()
    expect(urban.by("load-error")).to_have_count(0)
    assert urban.page.url.endswith("/portal/department"), urban.page.url

    agent = screens().sign_in("agent", f"/tickets/{tickets['pending'][0]}")
    expect(agent.by("registered-by")).to_have_text("座席员 王芳")
    agent.open(f"/tickets/{tickets['called_back'][0]}")
    expect(agent.by("registered-by")).to_have_text("座席员 王芳")
    for screen in (manager, agent):
        assert screen.errors == [], screen.errors


def test_a_leads_queue_shows_its_grassroots_offices_work_naming_the_office(screens, runtime):
    """Issue 19, item 2: a ticket dispatched to a grassroots office (基层所) waits in its department
    lead's to-sign queue, the row naming the office; the department's handler keeps its own queue."""
    made = {}
    for department, n in (("MARKET-GUSU", 12), ("MARKET", 13)):
        tid = runtime.call("POST", "/tickets", "agent", json=_complaint(n))["tickets"][0]["id"]
        runtime.act(tid, "accept", "agent", district="GUSU")
        runtime.act(tid, "dispatch", "dispatcher", mode="single", department=department)
        made[department] = tid

    lead = screens().sign_in("dept_lead")
    queue = lead.by("queue-to_sign")
    office_row = queue.locator("tr.el-table__row").filter(has=lead.page.get_by_test_id(f"open-{made['MARKET-GUSU']}"))
    expect(office_row.get_by_test_id("queue-owner-MARKET-GUSU")).to_have_text("姑苏市场监督管理所")
    own_row = queue.locator("tr.el-table__row").filter(has=lead.page.get_by_test_id(f"open-{made['MARKET']}"))
    expect(own_row.get_by_test_id("queue-owner-MARKET")).to_have_text("市场监督管理局")

    handler = screens().sign_in("handler")
    expect(handler.by("queue-to_sign").get_by_test_id(f"open-{made['MARKET']}")).to_have_count(1)
    expect(handler.by("queue-to_sign").get_by_test_id(f"open-{made['MARKET-GUSU']}")).to_have_count(0)
    expect(handler.by("queue-to_sign").get_by_test_id("queue-owner-MARKET")).to_have_count(0)  # no unit column
    for screen in (lead, handler):
        assert screen.errors == [], screen.errors
