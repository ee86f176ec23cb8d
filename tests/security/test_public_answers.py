"""What a citizen reads on ``GET /public/tickets/{code}`` is masked like every staff view: ID numbers,
mobiles, landlines and e-mail addresses typed into replies (anyone's), and the citizen's own name."""
from __future__ import annotations

from typing import Any

SUBMISSION = {
    "kind": "complaint",
    "complainant": {"name": "钱多多", "phone": "13700009999", "address": "苏州市姑苏区人民路100号"},
    "respondent": {"name": "观前某某服装店", "address": "苏州市姑苏区观前街8号"},
    "request": "要求退货", "facts": "衣服开线，商家拒绝退货。",
}
REPLY = ("钱多多您好：经查，商家负责人王某（身份证320502198507083313，手机13955551234，座机0512-65558888，"
         "邮箱wang.boss@example.com）已同意退货。")
SECRETS = ("320502198507083313", "13955551234", "65558888", "wang.boss@example.com", "钱多多")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_replies_shown_to_the_citizen_and_to_staff_are_masked(api):
    code = api.post("/public/tickets", json=SUBMISSION).json["tickets"][0]["tracking_code"]
    [row] = api.get("/queues/internet_inbox", user="agent").json["items"]
    declined = api.post(f"/tickets/{row['id']}/decline", json={"reason_code": "other", "text": REPLY}, user="agent")
    assert declined.status == 200, declined.body

    tracked = api.get(f"/public/tickets/{code}?phone_last4=9999")
    assert tracked.status == 200
    [reply] = tracked.json["replies"]
    assert [s for s in SECRETS if s in reply["text"]] == [], reply["text"]
    assert "320***********3313" in reply["text"] and "139****1234" in reply["text"]
    assert "0512-****8888" in reply["text"] and "w***@example.com" in reply["text"]
    assert reply["text"].startswith("不予受理：") and "钱**您好" in reply["text"]

    for user in ("agent", "dispatcher", "manager"):
        for path in (f"/tickets/{row['id']}", f"/tickets/{row['id']}/timeline"):
            shown = api.get(path, user=user)
            assert shown.status == 200
            leaked = [s for s in SECRETS for text in _strings(shown.json) if s in text]
            assert leaked == [], (user, path, leaked)
    revealed = api.post(f"/tickets/{row['id']}/reveal", json={"reason": "核对答复"}, user="agent").json
    assert REPLY in revealed["replies"][0]["text"], "a recorded reveal still shows the reply as written"
