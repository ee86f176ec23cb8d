"""Deadline arithmetic over HTTP, SLA rules and calendar overrides."""
from __future__ import annotations

from urllib.parse import urlencode


def _deadline(api, start: str, amount: int, unit: str, user: str = "handler"):
    return api.get("/calendar/deadline?" + urlencode({"start": start, "amount": amount, "unit": unit}), user=user)


def test_deadline_counts_working_days_from_the_next_day(api):
    # Friday 2026-09-25 + 7 working days: National Day holiday 10/1-10/7, make-up days around it.
    answer = _deadline(api, "2026-09-25T10:00:00+08:00", 7, "working_days")
    assert answer.status == 200, answer.body
    assert answer.json == {"due": "2026-10-12T23:59:59+08:00", "provisional": False}


def test_deadline_into_2027_is_provisional_not_an_error(api):
    answer = _deadline(api, "2026-12-28T09:00:00+08:00", 5, "working_days", user="agent")
    assert answer.status == 200
    assert answer.json["provisional"] is True
    assert answer.json["due"] == "2027-01-05T23:59:59+08:00"  # 12/29-12/31, (1/1 off, weekend), 1/4, 1/5


def test_deadline_hours_and_utc_input(api):
    answer = _deadline(api, "2026-11-24T02:00:00Z", 2, "hours")
    assert answer.json == {"due": "2026-11-24T12:00:00+08:00", "provisional": False}


def test_deadline_rejects_bad_input_with_field_details(api):
    for params, field in (({"start": "yesterday", "amount": 1, "unit": "working_days"}, "start"),
                          ({"start": "2026-11-24T10:00:00", "amount": 1, "unit": "working_days"}, "start"),
                          ({"start": "2026-11-24T10:00:00+08:00", "amount": -1, "unit": "working_days"}, "amount"),
                          ({"start": "2026-11-24T10:00:00+08:00", "amount": 1, "unit": "fortnights"}, "unit")):
        answer = api.get("/calendar/deadline?" + urlencode(params), user="agent")
        assert answer.status == 400, (params, answer.body)
        assert field in answer.json["error"]["details"], answer.json
    assert api.get("/calendar/deadline?start=x").status == 401


def test_admin_override_changes_deadlines(api):
    assert _deadline(api, "2026-12-30T10:00:00+08:00", 1, "working_days").json["due"].startswith("2026-12-31")
    saved = api.put("/admin/calendar", json={"overrides": {"2026-12-31": False}, "expected_version": 0}, user="admin")
    assert saved.status == 200, saved.body
    due = _deadline(api, "2026-12-30T10:00:00+08:00", 1, "working_days").json["due"]
    assert due.startswith("2027-01-04")
    stale = api.put("/admin/calendar", json={"overrides": {}, "expected_version": 0}, user="admin")
    assert stale.status == 409
    bad = api.put("/admin/calendar", json={"overrides": {"31/12": True}, "expected_version": 1}, user="admin")
    assert bad.status == 400 and "overrides.31/12" in bad.json["error"]["details"]
    assert api.put("/admin/calendar", json={"overrides": {}, "expected_version": 1}, user="manager").status == 403


def test_managers_configure_sla_rules(api):
    current = api.get("/admin/sla-rules", user="manager").json
    assert current["default"] is True and current["_version"] == 0
    rules = current["rules"]
    for rule in rules:
        if rule["clock"] == "handling" and rule.get("kind") is None and rule.get("category") is None:
            rule["amount"] = 10
    saved = api.put("/admin/sla-rules", json={"rules": rules, "expected_version": 0}, user="manager")
    assert saved.status == 200, saved.body
    stored = api.get("/admin/sla-rules", user="dispatcher").json
    assert stored["_version"] == 1 and stored["default"] is False
    handling = [r for r in stored["rules"] if r["clock"] == "handling" and r.get("kind") is None and r.get("category") is None]
    assert handling and all(r["amount"] == 10 for r in handling)
    broken = api.put("/admin/sla-rules", json={"rules": [{"clock": "handling", "amount": "ten"}], "expected_version": 1},
                     user="manager")
    assert broken.status == 400 and broken.json["error"]["details"]
    assert api.put("/admin/sla-rules", json={"rules": rules, "expected_version": 1}, user="agent").status == 403
    assert api.get("/admin/sla-rules", user="handler").status == 403
