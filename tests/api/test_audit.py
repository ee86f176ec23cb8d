"""The audit log: sign-ins, reveals and admin changes are recorded, append-only, for admins only."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.calendar import TZ

COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "孙七", "phone": "13912345678", "address": "苏州市吴江区中山南路1号"},
    "respondent": {"name": "某装修公司", "address": "苏州市吴江区开平路2号"},
    "request": "返工", "facts": "装修质量差，墙面开裂。",
}


def test_sign_ins_reveals_and_admin_changes_are_audited(api):
    tid = api.post("/tickets", json=COMPLAINT, user="agent").json["tickets"][0]["id"]
    api.post(f"/tickets/{tid}/reveal", json={"reason": "回访"}, user="agent", source_ip="10.1.2.3",
             headers={"x-forwarded-for": "192.0.2.66"})  # the client's claim is kept, not trusted
    api.put("/admin/users/clerk-1", json={"role": "agent", "name": "新座席"}, user="admin")
    today = datetime.now(TZ).date().isoformat()
    answer = api.get(f"/admin/audit?date={today}", user="admin")
    assert answer.status == 200
    items = answer.json["items"]
    actions = [(i["action"], i["actor"]["username"]) for i in items]
    assert ("login", "agent") in actions and ("login", "admin") in actions
    reveal = next(i for i in items if i["action"] == "pii_reveal")
    assert reveal["target"] == {"ticket_id": tid} and reveal["source_ip"] == "10.1.2.3"
    assert reveal["details"]["forwarded_for"] == "192.0.2.66"
    assert ("PUT /admin/users/{username}", "admin") in actions
    assert "13912345678" not in answer.body.decode()
    only_reveals = api.get(f"/admin/audit?date={today}&action=pii_reveal", user="admin").json["items"]
    assert [i["action"] for i in only_reveals] == ["pii_reveal"]
    assert api.get(f"/admin/audit?date={today}", user="manager").status == 403


def test_exports_and_report_downloads_are_audited_with_their_period(api):
    answer = api.get("/ledger?from=2026-01-01&to=2026-01-31", user="manager")
    assert answer.status in (200, 202), answer.body
    assert api.get("/reports/no-such-job", user="manager").status == 404
    today = datetime.now(TZ).date().isoformat()
    items = api.get(f"/admin/audit?date={today}", user="admin").json["items"]
    export = next(i for i in items if i["action"] == "ledger_export")
    assert export["actor"]["username"] == "manager" and export["status"] == answer.status
    assert export["details"]["query"] == {"from": "2026-01-01", "to": "2026-01-31"}
    download = next(i for i in items if i["action"] == "report_download")
    assert download["target"] == {"job_id": "no-such-job"} and download["status"] == 404
