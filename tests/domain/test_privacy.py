"""Personal data: masked by default, revealed on purpose, reporters withheld (Art. 37)."""
from __future__ import annotations

import json
from datetime import datetime
from itertools import count

import pytest

from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import DEFAULT_SLA_RULES
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.intake import register
from chalicelib.domain.privacy import (
    can_reveal,
    event_view_for,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
    summary_view_for,
    view_for,
)
from chalicelib.domain.ticket import Actor, Policy

POLICY = Policy(sla=DEFAULT_SLA_RULES, calendar=WorkingCalendar())
NOW = datetime(2026, 3, 2, 9, tzinfo=TZ)
AGENT = Actor("a", "agent")
HANDLER = Actor("h", "handler", department="D1")
LEAD = Actor("l", "dept_lead", department="D1")
MANAGER = Actor("m", "manager")
PARTNER = Actor("p", "partner")
_ids = count(1)


def ticket_dict(kind="complaint") -> dict:
    payload = {
        "kind": kind, "channel": "phone",
        "complainant": {"name": "张三丰", "phone": "13812345678", "address": "北京市朝阳区建国路88号",
                        "id_number": "110101199003074512"},
        "respondent": {"name": "某某公司", "address": "北京市海淀区中关村大街1号"},
        "request": "查处", "facts": "该公司无证经营，可致电13912345678核实",
        "co_complainants": [{"name": "李四", "phone": "13700001111", "address": "北京市东城区东四1号"}],
    }
    [out] = register(payload, actor=AGENT, now=NOW, policy=POLICY, new_id=lambda: f"P{next(_ids)}",
                     new_tracking_code=lambda: "C")
    return json.loads(json.dumps(out.ticket.to_dict()))


@pytest.mark.parametrize(
    "fn, raw, masked",
    [
        (mask_phone, "13812345678", "138****5678"),
        (mask_phone, "0571-88886666", "057******6666"),
        (mask_phone, "12345", "1****"),
        (mask_phone, None, None),
        (mask_name, "张三丰", "张**"),
        (mask_name, "张三", "张*"),
        (mask_name, "李", "*"),
        (mask_name, "", ""),
        (mask_id_number, "110101199003074512", "110***********4512"),
        (mask_address, "北京市朝阳区建国路88号", "北京市朝阳区****"),
        (mask_address, "浙江省杭州市西湖区文三路1号", "浙江省杭州市西湖区****"),
        (mask_address, "建国路88号", "建国路****"),
        (mask_text, "请联系13912345678或身份证110101199003074512", "请联系139****5678或身份证110***********4512"),
        (mask_text, "订单号202603021234567890123", "订单号202603021234567890123"),
        (mask_text, "座机0571-88886666，或(0512)68886666，或 01062345678", "座机0571-****6666，或0512-****6666，或 010-****5678"),
        (mask_text, "回电+86 138 1234 5678 或 013700009999 或 138-1234-5678",
         "回电138****5678 或 137****9999 或 138****5678"),
        (mask_text, "邮箱 zhang.san@example.com.cn 或13812345678@163.com", "邮箱 z***@example.com.cn 或1***@163.com"),
        (mask_text, "工单 20261124-7KQ2MZ3P，键 T#X/O#0000000012#000，日期 2026-03-02 09:30",
         "工单 20261124-7KQ2MZ3P，键 T#X/O#0000000012#000，日期 2026-03-02 09:30"),
    ],
)
def test_maskers(fn, raw, masked):
    assert fn(raw) == masked


def test_default_view_masks_every_citizen_and_leaves_the_business_alone():
    d = ticket_dict()
    view = view_for(d, AGENT)
    assert view["complainant"] == {"name": "张**", "phone": "138****5678", "address": "北京市朝阳区****",
                                   "id_number": "110***********4512"}
    assert view["co_complainants"][0]["party"]["phone"] == "137****1111"
    assert view["respondent"]["name"] == "某某公司"
    assert "139****5678" in view["facts"]
    dumped = json.dumps(view, ensure_ascii=False)
    for secret in ("13812345678", "110101199003074512", "建国路88号", "13700001111", "13912345678"):
        assert secret not in dumped
    assert d["complainant"]["phone"] == "13812345678"  # the input is untouched


def test_reveal_shows_everything_to_roles_that_need_it():
    d = ticket_dict()
    assert view_for(d, AGENT, reveal=True)["complainant"]["phone"] == "13812345678"
    assert "13912345678" in view_for(d, HANDLER, reveal=True)["facts"]
    with pytest.raises(Forbidden):
        view_for(d, PARTNER, reveal=True)
    with pytest.raises(Forbidden):
        view_for(d, Actor("c", "citizen"), reveal=True)


def test_a_reporter_is_never_shown_to_the_handling_department():
    d = ticket_dict("report")
    for actor in (HANDLER, LEAD):
        view = view_for(d, actor)
        assert view["complainant"] is None and view["co_complainants"] == []
        assert view["reporter_withheld"] is True
        assert "13812345678" not in json.dumps(view) and "13700001111" not in json.dumps(view)
        assert not can_reveal(d, actor)
        with pytest.raises(Forbidden):
            view_for(d, actor, reveal=True)
    assert view_for(d, MANAGER, reveal=True)["complainant"]["name"] == "张三丰"
    assert view_for(d, AGENT)["complainant"]["name"] == "张**"


def test_event_text_is_masked_unless_revealed():
    event = {"type": "note_added", "data": {"text": "已电话联系13812345678", "assignment_id": "A1"}}
    assert event_view_for(event, "complaint", HANDLER)["data"]["text"] == "已电话联系138****5678"
    assert event_view_for(event, "complaint", HANDLER, reveal=True)["data"]["text"] == "已电话联系13812345678"
    assert event_view_for(event, "report", HANDLER, reveal=True)["data"]["text"] == "已电话联系138****5678"
    assert event["data"]["text"] == "已电话联系13812345678"


def test_a_complainants_own_name_in_free_text_is_masked_wherever_it_is_shown():
    d = ticket_dict()
    d["facts"] = "我叫张三丰，邻居李四也可作证，电话0512-68886666，邮箱zsf@example.com"
    d["replies"] = [{"at": "2026-03-02T10:00:00+08:00", "text": "张三丰您好，已处理。", "source": "review"}]
    view = view_for(d, AGENT)
    assert view["facts"] == "我叫张**，邻居李*也可作证，电话0512-****6666，邮箱z***@example.com"
    assert view["replies"][0]["text"] == "张**您好，已处理。"
    assert view_for(d, AGENT, reveal=True)["facts"] == d["facts"]


def test_a_reporters_name_in_free_text_is_withheld_entirely_from_the_department():
    d = ticket_dict("report")
    d["facts"] = "举报人张三丰亲眼所见"
    assert view_for(d, HANDLER)["facts"] == "举报人***亲眼所见"
    assert view_for(d, AGENT)["facts"] == "举报人张**亲眼所见"
    event = {"type": "note_added", "data": {"text": "已联系张三丰核实"}}
    assert event_view_for(event, "report", HANDLER, names=["张三丰"])["data"]["text"] == "已联系***核实"
    assert event_view_for(event, "complaint", HANDLER, names=["张三丰"])["data"]["text"] == "已联系张**核实"


def test_list_rows_of_a_report_carry_no_trace_of_the_reporter_for_the_department():
    row = {"id": "T1", "kind": "report", "complainant": "张**", "title": "查处"}
    for actor in (HANDLER, LEAD):
        shown = summary_view_for(row, actor)
        assert shown["complainant"] is None and shown["reporter_withheld"] is True
    assert summary_view_for(row, AGENT)["complainant"] == "张**"
    assert summary_view_for({**row, "kind": "complaint"}, HANDLER)["complainant"] == "张**"
    assert row["complainant"] == "张**"  # the stored row is untouched
