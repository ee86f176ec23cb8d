"""Browser: an agent registering a call is offered a knowledge article; an admin adds and retires a department."""
from __future__ import annotations

from playwright.sync_api import expect

ARTICLE = {
    "kind": "policy", "title": "预付卡消费纠纷处理指引", "categories": ["预付卡"], "keywords": ["健身房", "退卡"],
    "templates": ["mediation-settled"], "departments": ["MARKET"], "expected_version": 0,
    "body": "经营者以预付卡方式提供商品或者服务的，应当按照约定提供；未按照约定提供的，应当按照消费者的要求退回预付款。"
            "登记时记录办卡时间、卡内余额和经营者名称。",
}


def test_registering_a_call_suggests_a_knowledge_article(screens, runtime, screenshot_dir):
    runtime.call("PUT", "/knowledge/articles/prepaid-card-refund", "manager", json=ARTICLE)

    agent = screens().sign_in("agent", "/agent/register")
    expect(agent.by("knowledge-suggestions")).to_contain_text("自动推荐相关的政策法规")
    agent.fill("field-complainant-name", "周芷若")
    agent.fill("field-complainant-phone", "13900001111")
    agent.fill("field-complainant-address", "苏州市姑苏区十全街8号")
    agent.fill("field-respondent-name", "苏州某某健身房")
    agent.fill("field-respondent-address", "苏州市姑苏区凤凰街2号")
    agent.fill("field-request", "要求退还预付卡余额")
    agent.fill("field-facts", "去年在这家健身房办了年卡，现在健身房突然关门了，卡里还有两千元退不了。")

    suggestion = agent.by("kb-suggestion-prepaid-card-refund")
    expect(suggestion).to_contain_text("预付卡消费纠纷处理指引")
    expect(suggestion).to_contain_text("调解成功答复")  # the linked reply template, by its title
    suggestion.get_by_role("button", name="预付卡消费纠纷处理指引").click()
    expect(agent.by("kb-suggestion-body-prepaid-card-refund")).to_contain_text("应当按照消费者的要求退回预付款")
    agent.shot(screenshot_dir, "agent-register-knowledge")

    agent.by("register-submit").click()
    expect(agent.by("register-done")).to_contain_text("已登记")
    assert agent.errors == [], agent.errors
    assert agent.refused == [], agent.refused


def test_admin_adds_a_department_and_retires_it_keeping_its_record(screens, runtime, screenshot_dir):
    admin = screens().sign_in("admin", "/admin/directory")
    expect(admin.by("department-table")).to_contain_text("市场监督管理局")
    admin.by("add-department").click()
    admin.fill("field-code", "DATA")
    admin.fill("field-name", "政务服务和数据管理局")
    admin.fill("field-duties", "政务服务效能\n公共数据共享")
    admin.by("directory-save").click()
    expect(admin.by("department-table")).to_contain_text("政务服务和数据管理局")
    expect(admin.by("department-table")).to_contain_text("政务服务效能、公共数据共享")
    admin.shot(screenshot_dir, "admin-directory")

    codes = {d["code"]: d for d in runtime.call("GET", "/departments", "dispatcher")["items"]}
    assert codes["DATA"]["active"] is True and codes["DATA"]["duties"] == ["政务服务效能", "公共数据共享"]

    # a code already taken is refused on the form, with the reason shown
    admin.by("add-department").click()
    admin.fill("field-code", "MARKET-GUSU")
    admin.fill("field-name", "重复")
    admin.by("directory-save").click()
    expect(admin.by("directory-error")).to_be_visible()
    admin.page.keyboard.press("Escape")

    admin.by("retire-DATA").click()
    admin.page.locator(".el-message-box__input input").fill("机构改革")
    admin.page.locator(".el-message-box").get_by_role("button", name="停用").click()
    expect(admin.by("department-table")).not_to_contain_text("政务服务和数据管理局")
    admin.by("show-retired-department").click()
    expect(admin.by("retired-DATA")).to_be_visible()
    retired = next(d for d in runtime.call("GET", "/departments", "admin")["items"] if d["code"] == "DATA")
    assert retired["active"] is False and retired["retire_reason"] == "机构改革"
    assert admin.errors == [], admin.errors

    # 平台对接: the seeded upper-level platform's feed, reconciled ticket by ticket over the last week
    admin.by("nav-partners").click()
    # the demo's other platforms beside it, switched off; the data centre with its reporting limit
    data_centre = admin.page.locator('[data-testid="partners-table"] .el-table__row', has_text="suzhou-data-centre")
    expect(data_centre).to_contain_text("监管数据中心")
    expect(data_centre).to_contain_text("上报时限 24 小时")
    expect(admin.page.locator('[data-testid="partners-table"] .el-table__row', has_text="suzhou-12345")) \
        .to_contain_text("12345热线")
    admin.page.locator('[data-testid="partners-table"] .el-table__row', has_text="province-12315").click()
    admin.by("partners-reconcile").click()
    expect(admin.by("partners-summary")).to_contain_text("共核对")
    expect(admin.page.get_by_text("推送失败（死信）")).to_be_visible()

    try:
        # the data centre's reporting limit, edited on the page
        data_centre.get_by_test_id("partners-edit").click()
        within = admin.by("partners-edit-within").locator("input")
        within.fill("48")
        within.press("Tab")
        admin.by("partners-edit-save").click()
        expect(data_centre).to_contain_text("上报时限 48 小时")
        assert runtime.call("GET", "/partners/suzhou-data-centre", "admin")["report_within_hours"] == 48

        # a 12345 platform's handling unit (承办单位) mapped to a department
        with admin.page.expect_response(lambda r: r.url.endswith("/unit-mappings") and r.request.method == "GET"):
            admin.page.locator('[data-testid="partners-table"] .el-table__row', has_text="suzhou-12345").click()
        expect(admin.by("partners-units")).to_contain_text("承办单位对照")  # loaded: a row added now stays
        admin.by("partners-units-add").click()
        unit = admin.by("partners-units-table").locator(".el-table__row").last
        unit.locator("input").nth(0).fill("GS-SJJ")
        unit.locator("input").nth(1).fill("姑苏区市场监管局")
        unit.locator(".el-select").first.click()
        admin.page.locator(".el-select-dropdown__item:visible", has_text="市场监督管理局").first.click()
        admin.by("partners-units-save").click()
        expect(unit).to_contain_text("生效")
        mapping = runtime.call("GET", "/partners/suzhou-12345/unit-mappings", "admin")
        assert [(i["unit_code"], i["unit_name"], i["department"]) for i in mapping["items"]] == [
            ("GS-SJJ", "姑苏区市场监管局", "MARKET")]
        assert admin.errors == [] and admin.refused == [], (admin.errors, admin.refused)
    finally:  # the runtime is shared with other modules: the demo's settings back as they were
        runtime.call("PATCH", "/partners/suzhou-data-centre", "admin", json={"report_within_hours": 24})
        version = runtime.call("GET", "/partners/suzhou-12345/unit-mappings", "admin")["version"]
        runtime.call("PUT", "/partners/suzhou-12345/unit-mappings", "admin",
                     json={"items": [], "expected_version": version})


def test_manager_writes_an_article_and_reads_its_previous_version(screens, runtime, screenshot_dir):
    manager = screens().sign_in("manager", "/knowledge")
    manager.by("kb-add").click()
    manager.fill("kb-field-id", "gas-safety")
    manager.fill("kb-field-title", "燃气安全隐患报修指引")
    manager.fill("kb-field-body", "闻到燃气异味时，立即关闭燃气总阀、开窗通风，不要开关电器，到室外拨打燃气公司抢修电话。")
    manager.by("kb-save").click()
    expect(manager.by("kb-table")).to_contain_text("燃气安全隐患报修指引")

    manager.by("kb-edit-gas-safety").click()
    manager.fill("kb-field-title", "燃气泄漏应急处置指引")
    manager.by("kb-save").click()
    expect(manager.by("kb-table")).to_contain_text("燃气泄漏应急处置指引")

    manager.by("kb-open-gas-safety").click()
    versions = manager.by("kb-versions").locator("tr.el-table__row")
    expect(versions).to_have_count(2)
    versions.nth(1).click()
    expect(manager.by("kb-version-body")).to_contain_text("v1")
    expect(manager.by("kb-version-body")).to_contain_text("关闭燃气总阀")
    manager.shot(screenshot_dir, "manager-knowledge")
    found = runtime.call("GET", "/knowledge/search?text=燃气泄漏怎么办", "agent")["items"]
    assert found and found[0]["id"] == "gas-safety" and found[0]["title"] == "燃气泄漏应急处置指引"
    assert manager.errors == [], manager.errors
