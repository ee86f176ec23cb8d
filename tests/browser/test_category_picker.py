"""Browser: an admin adds a category to the tree; an agent picks it with one click among the
categories suggested for the facts typed, and the ticket shows its path."""
from __future__ import annotations

from playwright.sync_api import expect


def test_admin_adds_a_category_and_an_agent_registers_with_it(screens, runtime):
    admin = screens().sign_in("admin")
    admin.by("nav-directory").click()
    admin.page.get_by_role("tab", name="诉求分类").click()
    expect(admin.by("category-table")).to_contain_text("市场监管")
    admin.by("add-category").click()
    admin.fill("field-code", "C0397")
    admin.fill("field-name", "共享单车")
    admin.choose("field-category-parent", "交通运输", search="交通运输")
    admin.by("directory-save").click()
    expect(admin.by("category-path-C0397")).to_have_text("交通运输 / 共享单车")
    stored = {e["code"]: e for e in runtime.call("GET", "/categories?all=true", "admin")["items"]}
    assert stored["C0397"]["level"] == 2 and stored["C0397"]["parent"] == "C03"
    # the admin gives it a word callers use, for the registration screen's category suggestion
    admin.by("nav-models").click()
    admin.choose("keywords-category", "交通运输 / 共享单车", search="共享单车")
    admin.choose("keywords-words", "押金未退", search="押金未退", multiple=True)  # a new word: created as typed
    admin.field("keywords-words").press("Escape")
    admin.by("keywords-save").click()
    expect(admin.by("category-keywords")).to_contain_text("已自定义")
    rows = {r["code"]: r for r in runtime.call("GET", "/admin/category-keywords", "admin")["items"]}
    assert rows["C0397"]["custom"] == ["押金未退"]
    assert admin.errors == [], admin.errors

    agent = screens().sign_in("agent")
    agent.by("nav-register").click()
    agent.fill("field-complainant-name", "孙小美")
    agent.fill("field-complainant-phone", "13766667777")
    agent.fill("field-complainant-address", "苏州市姑苏区干将西路1号")
    agent.fill("field-respondent-name", "某共享单车运营公司")
    agent.fill("field-respondent-address", "苏州市姑苏区人民路2号")
    agent.fill("field-request", "要求退还押金")
    agent.fill("field-facts", "注销共享单车账户已一个月，押金199元仍未退还。")
    suggested = agent.by("category-suggestion-0")  # the platform suggests the new category: one click picks it
    expect(suggested).to_contain_text("交通运输 / 共享单车")
    suggested.click()
    agent.by("register-submit").click()
    created = agent.by("created-ticket")
    tid = created.inner_text().strip()
    created.click()
    expect(agent.by("ticket-category")).to_have_text("交通运输 / 共享单车")
    registered = runtime.call("GET", f"/tickets/{tid}", "manager")
    assert registered["category"] == "C0397"
    shown = registered["category_suggestion"]  # what the screen showed is stored, to measure it
    assert shown["source"] == "shown" and shown["items"][0]["code"] == "C0397" and shown["first_taken"] is True
    admin.by("nav-directory").click()
    admin.by("nav-models").click()  # the model page, loaded anew, shows how good the suggestions were
    expect(admin.by("category-n-keywords")).not_to_have_text("0")
    assert agent.errors == [], agent.errors
