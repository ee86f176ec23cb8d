"""ID numbers are encrypted in the table (KMS envelope), found by a keyed blind index, shown only on reveal."""
from __future__ import annotations

import boto3

from chalicelib.domain.ticket import Actor
from chalicelib.services import tickets as service

ID_NUMBER = "32050219900101123X"
BODY = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "赵六", "phone": "13512345678", "address": "苏州市相城区元和街道1号", "id_number": ID_NUMBER},
    "respondent": {"name": "某汽车销售公司", "address": "苏州市相城区阳澄湖大道8号"},
    "request": "要求退还定金", "facts": "交了两万元定金后商家迟迟不交车，也不退定金。",
}


def test_id_numbers_never_reach_the_table_in_clear(api, aws):
    created = api.post("/tickets", json=BODY, user="agent")
    assert created.status == 201, created.body
    tid = created.json["tickets"][0]["id"]
    assert ID_NUMBER not in created.body.decode()
    raw = boto3.client("dynamodb").get_item(TableName=aws["TABLE_NAME"], Key={"PK": {"S": f"T#{tid}"}, "SK": {"S": "TICKET"}})
    stored = str(raw["Item"])
    assert ID_NUMBER not in stored and "enc:v1:" in stored
    revealed = api.post(f"/tickets/{tid}/reveal", json={"reason": "核实身份"}, user="agent").json
    assert revealed["complainant"]["id_number"] == ID_NUMBER
    assert service.repository().ids_for_id_number(ID_NUMBER.lower()) == [tid]
    assert service.repository().ids_for_id_number("110101199003074512") == []


def test_the_data_key_is_made_once_and_reused(seeded):
    from chalicelib.store import fieldcrypt

    token = fieldcrypt.encrypt("x")
    fieldcrypt.forget_key()  # a new container: decrypts the stored data key with KMS
    assert fieldcrypt.decrypt(token) == "x"
    assert fieldcrypt.encrypt("x") != token  # fresh nonce every time
    agent = Actor(username="agent", role="agent")
    ticket = service.register(BODY, agent).tickets[0]
    assert service.repository().get(ticket.id).complainant.id_number == ID_NUMBER
