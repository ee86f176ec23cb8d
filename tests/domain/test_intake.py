"""Registration: Art. 10 facts, channels, the Art. 9 split, Art. 12 joint and Art. 35 repeats."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import DEFAULT_SLA_RULES, ClockName, ClockRule, SlaRules
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.domain.intake import classify_repeat, register, same_facts
from chalicelib.domain.lifecycle import apply
from chalicelib.domain.ticket import Actor, Policy, Ticket

POLICY = Policy(sla=DEFAULT_SLA_RULES, calendar=WorkingCalendar())
NOW = datetime(2026, 9, 28, 10, 0, tzinfo=TZ)  # Monday before the National Day week
AGENT = Actor("agent1", "agent")
CITIZEN = Actor("web", "citizen")
PARTNER = Actor("prov12315", "partner")


def data(**over) -> dict:
    d = {
        "kind": "complaint",
        "channel": "phone",
        "complainant": {"name": "王五", "phone": "13712345678", "address": "杭州市上城区解放路1号"},
        "respondent": {"name": "某电器商行", "address": "杭州市上城区延安路9号"},
        "request": "要求退货",
        "facts": "购买的电饭煲三天后无法加热",
    }
    d.update(over)
    return d


def reg(payload: dict, actor: Actor = AGENT, now: datetime = NOW, policy: Policy = POLICY):
    ids, codes = count(1), count(100)
    return register(payload, actor=actor, now=now, policy=policy,
                    new_id=lambda: f"T{next(ids)}", new_tracking_code=lambda: f"C{next(codes)}")


def test_a_phone_complaint_is_registered_pending_acceptance_with_the_acceptance_clock():
    [out] = reg(data())
    t = out.ticket
    assert (t.id, t.tracking_code, t.version, t.status) == ("T1", "C100", 1, "pending_acceptance")
    assert t.registered_by == "agent1" and t.received_at == NOW
    clock = t.clocks["acceptance"]
    # 7 working days from the next day, across National Day (Oct 1-7 off, Sat Oct 10 a make-up
    # working day): Sep 29, 30, Oct 8, 9, 10, 12, 13
    assert clock.amount == 7 and clock.status == "running"
    assert clock.due == datetime(2026, 10, 13, 23, 59, 59, tzinfo=TZ)
    [event] = out.events
    assert (event.type, event.from_status, event.to_status) == ("registered", None, "pending_acceptance")
    assert out.outbox[0].topic == "ticket.registered"
    assert "13712345678" not in json.dumps(out.outbox[0].to_dict(), ensure_ascii=False)
    assert "13712345678" not in json.dumps(event.to_dict(), ensure_ascii=False)


@pytest.mark.parametrize(
    "channel, actor, status",
    [
        ("web", CITIZEN, "internet_inbox"),
        ("upper_level", PARTNER, "upper_level_pending"),
        ("upper_level", AGENT, "upper_level_pending"),
        ("hotline_12345", PARTNER, "pending_acceptance"),
        ("walk_in", AGENT, "pending_acceptance"),
        ("mail", AGENT, "pending_acceptance"),
    ],
)
def test_the_channel_decides_where_a_ticket_waits(channel, actor, status):
    [out] = reg(data(channel=channel), actor)
    assert out.ticket.status == status and out.ticket.channel == channel


@pytest.mark.parametrize("channel, actor", [("phone", CITIZEN), ("web", AGENT), ("phone", Actor("h", "handler", "D1")),
                                            ("upper_level", CITIZEN)])
def test_roles_register_only_on_their_channels(channel, actor):
    with pytest.raises(Forbidden):
        reg(data(channel=channel), actor)


def test_art10_facts_are_required_for_complaints_and_all_problems_are_listed():
    payload = data(complainant={"name": " ", "phone": "12345"}, respondent={"name": "某店"}, request="", facts=None)
    with pytest.raises(ValidationFailed) as info:
        reg(payload)
    assert set(info.value.details) == {"complainant.name", "complainant.phone", "complainant.address",
                                       "respondent.address", "request", "facts"}


@pytest.mark.parametrize(
    "kind, missing_ok",
    [
        ("inquiry", ["respondent", "facts", "complainant.address"]),
        ("suggestion", ["respondent", "facts", "complainant.address"]),
        ("report", ["request", "complainant.address"]),
        ("help_request", ["respondent"]),
    ],
)
def test_other_kinds_need_what_their_handling_needs(kind, missing_ok):
    payload = data(kind=kind)
    for name in missing_ok:
        if name.startswith("complainant."):
            payload["complainant"] = {k: v for k, v in payload["complainant"].items() if k != name.split(".")[1]}
        else:
            payload.pop(name)
    [out] = reg(payload)
    assert out.ticket.kind == kind


@pytest.mark.parametrize(
    "field, value",
    [
        ("kind", "praise"),
        ("kind", ["complaint", "inquiry"]),
        ("channel", "fax"),
        ("priority", "high"),
        ("district", "西湖 区"),
        ("received_at", "2026-09-28T09:00:00"),  # naive
        ("received_at", "2026-09-29T09:00:00+08:00"),  # future
        ("facts", "x" * 10_001),
        ("colour", "red"),
        ("co_complainants", [{"name": "A", "phone": "13712345678", "address": "x"}]),  # same phone
    ],
)
def test_invalid_fields_are_named(field, value):
    with pytest.raises(ValidationFailed) as info:
        reg(data(**{field: value}))
    assert field in info.value.details


def test_bad_phone_and_id_number_are_rejected_landlines_accepted():
    with pytest.raises(ValidationFailed) as info:
        reg(data(complainant={"name": "王五", "phone": "1371234567", "address": "x", "id_number": "123"}))
    assert set(info.value.details) == {"complainant.phone", "complainant.id_number"}
    [out] = reg(data(complainant={"name": "王五", "phone": "0571-88886666", "address": "x",
                                  "id_number": "11010119900307451x"}))
    assert out.ticket.complainant.id_number.endswith("X")


def test_receipt_time_starts_the_acceptance_clock():
    earlier = NOW - timedelta(days=3)
    [out] = reg(data(channel="upper_level", received_at=earlier.isoformat(), external_ref="GJ123"), PARTNER)
    assert out.ticket.received_at == earlier
    assert out.ticket.clocks["acceptance"].started_at == earlier
    assert out.ticket.external_ref == "GJ123"


def test_a_mixed_complaint_and_report_becomes_two_linked_tickets():
    outs = reg(data(kind=["complaint", "report"], report_facts="该店销售三无产品"))
    assert [o.ticket.kind for o in outs] == ["complaint", "report"]
    complaint, report = (o.ticket for o in outs)
    assert complaint.linked_ids == [report.id] and report.linked_ids == [complaint.id]
    assert complaint.tracking_code != report.tracking_code
    assert complaint.facts == "购买的电饭煲三天后无法加热" and report.facts == "该店销售三无产品"
    assert all(o.events[0].data["split_from_mixed"] for o in outs)
    assert all("acceptance" in o.ticket.clocks for o in outs)


def test_report_facts_only_for_a_mixed_submission():
    with pytest.raises(ValidationFailed):
        reg(data(report_facts="x"))


def test_joint_complaint_at_registration():
    [out] = reg(data(co_complainants=[{"name": "赵六", "phone": "13600001111", "address": "杭州市"},
                                      {"name": "钱七", "phone": "13600002222", "address": "杭州市"}]))
    assert [j.party.name for j in out.ticket.co_complainants] == ["赵六", "钱七"]
    assert out.events[0].data["joint_complainants"] == 3
    with pytest.raises(ValidationFailed) as info:
        reg(data(co_complainants=[{"name": "赵六"}]))
    assert "co_complainants[0].phone" in info.value.details


def test_no_acceptance_rule_means_no_acceptance_clock():
    rules = SlaRules([r for r in DEFAULT_SLA_RULES.rules if r.clock != ClockName.ACCEPTANCE])
    [out] = reg(data(), policy=Policy(rules, WorkingCalendar()))
    assert "acceptance" not in out.ticket.clocks


def test_configured_rules_apply_per_kind():
    rules = SlaRules([*DEFAULT_SLA_RULES.rules, ClockRule(ClockName.ACCEPTANCE, 3, "working_days", kind="report")])
    [out] = reg(data(kind="report"), policy=Policy(rules, WorkingCalendar()))
    assert out.ticket.clocks["acceptance"].amount == 3


def test_registered_tickets_round_trip_through_json():
    [out] = reg(data())
    assert Ticket.from_dict(json.loads(json.dumps(out.ticket.to_dict()))) == out.ticket


# --- Art. 35 repeats -----------------------------------------------------------------------


def _open_ticket(**over) -> Ticket:
    [out] = reg(data(**over))
    return out.ticket


def test_same_complainant_respondent_and_facts_is_a_duplicate():
    existing = _open_ticket()
    again = data(complainant={"name": "王五", "phone": "137 1234 5678", "address": "x"},
                 facts="购买的电饭煲，三天后无法加热！")
    assert classify_repeat(again, [existing]).kind == "duplicate"
    assert classify_repeat(again, [existing]).ticket_id == existing.id


def test_new_facts_are_for_merging_into_the_open_ticket():
    older = _open_ticket()
    newer = Ticket.from_dict({**_open_ticket().to_dict(), "id": "T9",
                              "created_at": (NOW + timedelta(hours=1)).isoformat()})
    match = classify_repeat(data(facts="商家拒绝履行三包义务，态度恶劣"), [older, newer])
    assert (match.kind, match.ticket_id) == ("new_facts", "T9")


def test_merged_facts_count_as_known_facts():
    t = _open_ticket()
    merged = apply(t, "merge_repeat", {"facts": "商家拒绝履行三包义务"}, actor=AGENT, now=NOW, policy=POLICY).ticket
    assert classify_repeat(data(facts="商家拒绝履行三包义务"), [merged]).kind == "duplicate"


@pytest.mark.parametrize(
    "change",
    [
        {"complainant": {"name": "王五", "phone": "13900000000", "address": "x"}},
        {"respondent": {"name": "另一家店", "address": "x"}},
        {"kind": "inquiry"},
    ],
)
def test_another_complainant_respondent_or_kind_is_not_a_repeat(change):
    assert classify_repeat(data(**change), [_open_ticket()]).kind == "none"


def test_only_tickets_before_closure_count():
    t = _open_ticket()
    closed = apply(t, "decline", {"reason_code": "not_consumption"}, actor=AGENT, now=NOW, policy=POLICY).ticket
    assert classify_repeat(data(), [closed]).kind == "none"
    assert classify_repeat("not a dict", [t]).kind == "none"
    assert classify_repeat(data(respondent=None), [t]).kind == "none"


def test_mixed_submission_repeats_match_either_part():
    outs = reg(data(kind=["complaint", "report"]))
    report = outs[1].ticket
    assert classify_repeat(data(kind=["complaint", "report"]), [report]).kind == "duplicate"


def test_same_facts_is_tolerant_of_punctuation_width_and_small_edits():
    assert same_facts("ＡＢＣ超市卖过期牛奶。", "abc超市卖过期牛奶")
    assert same_facts("商家拒绝退款并辱骂消费者", "商家拒绝退款并辱骂了消费者")
    assert not same_facts("商家拒绝退款", "商家虚假宣传保健品功效")
    assert not same_facts("", "商家拒绝退款")


_junk = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**12) | st.text(max_size=10)
    | st.sampled_from(["complaint", "report", "web", "phone", "13712345678", "2026-09-28T09:00:00+08:00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["name", "phone", "address", "x"]),
                                                               inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.dictionaries(st.sampled_from(sorted(data()) + ["co_complainants", "received_at", "priority", "bogus"]),
                       _junk, max_size=8),
       st.booleans())
def test_arbitrary_payloads_only_ever_raise_domain_errors(overrides, on_top):
    payload = {**data(), **overrides} if on_top else overrides
    try:
        outs = reg(payload)
    except (ValidationFailed, Forbidden):
        return
    for out in outs:
        json.dumps(out.ticket.to_dict())
    if all(o.ticket.respondent is not None for o in outs):  # a registered submission repeats itself
        assert classify_repeat(payload, [o.ticket for o in outs]).kind == "duplicate"
