"""What users did survives a restart of the embedded AWS: items (binary ones too), objects, partner
secrets, and the ID numbers sealed under a KMS key that the next start does not have."""
from __future__ import annotations

import os

import boto3

ID_NUMBER = "32050219900101123X"
BODY = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "赵六", "phone": "13512345678", "address": "苏州市相城区元和街道1号", "id_number": ID_NUMBER},
    "respondent": {"name": "某汽车销售公司", "address": "苏州市相城区阳澄湖大道8号"},
    "request": "要求退还定金", "facts": "交了两万元定金后商家迟迟不交车，也不退定金。",
}


def test_a_snapshot_restores_into_a_fresh_embedded_aws(api, seeded, tmp_path):
    from moto.core.base_backend import BackendDict

    from chalicelib.local import snapshot
    from chalicelib.local.bootstrap import bootstrap
    from tests.conftest import reset_aws_clients

    created = api.post("/tickets", json=BODY, user="agent")
    assert created.status == 201, created.body
    tid = created.json["tickets"][0]["id"]
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=seeded["TABLE_NAME"], Item={"PK": {"S": "AGG#x"}, "SK": {"S": "bin"},
                                                       "blob": {"B": b"\x00\xff"}, "set": {"BS": [b"\x01"]},
                                                       "map": {"M": {"B": {"S": "a key named B"},
                                                                     "L": {"L": [{"B": b"\x02"}]}}}})
    boto3.client("s3").put_object(Bucket=seeded["REPORTS_BUCKET"], Key="reports/a.html", Body="月报".encode(),
                                  ContentType="text/html; charset=utf-8")
    boto3.client("secretsmanager").create_secret(Name="partner/demo/webhook-keys", SecretString='{"k": "v"}')
    old_key = seeded["DATA_KEY_ARN"]
    counts = snapshot.save(tmp_path, seeded)
    assert counts["items"] > 0 and counts["objects"] == 1 and counts["secrets"] >= 1
    assert oct((tmp_path / snapshot.FIELDKEY_FILE).stat().st_mode & 0o777) == "0o600"

    BackendDict.reset()  # a new start: empty services, and a new KMS key
    reset_aws_clients()
    env = bootstrap(None)
    os.environ.update(env)
    reset_aws_clients()
    assert env["DATA_KEY_ARN"] != old_key
    snapshot.restore(tmp_path, env)

    item = boto3.client("dynamodb").get_item(TableName=env["TABLE_NAME"], Key={"PK": {"S": "AGG#x"}, "SK": {"S": "bin"}})
    assert item["Item"]["blob"]["B"] == b"\x00\xff" and item["Item"]["set"]["BS"] == [b"\x01"]
    assert item["Item"]["map"] == {"M": {"B": {"S": "a key named B"}, "L": {"L": [{"B": b"\x02"}]}}}
    body = boto3.client("s3").get_object(Bucket=env["REPORTS_BUCKET"], Key="reports/a.html")
    assert body["Body"].read().decode() == "月报" and body["ContentType"].startswith("text/html")
    secret = boto3.client("secretsmanager").get_secret_value(SecretId="partner/demo/webhook-keys")
    assert secret["SecretString"] == '{"k": "v"}'
    revealed = api.post(f"/tickets/{tid}/reveal", json={"reason": "核实身份"}, user="agent")
    assert revealed.status == 200, revealed.body
    assert revealed.json["complainant"]["id_number"] == ID_NUMBER
    again = api.post("/tickets", json=BODY, user="agent")
    assert again.status == 409, again.body  # the same citizen's repeat is still found (Art. 35)
    assert again.json["error"]["details"]["ticket_id"] == tid
