"""Foundation routes: health, dev-login, identity, role checks and gateway-level errors."""
from __future__ import annotations

import time

import jwt

from chalicelib.config import get_settings


def test_health_reports_every_component_ok(api):
    answer = api.get("/health")
    assert answer.status == 200, answer.body
    components = answer.json["components"]
    for name in ("table", "reports_bucket", "exports_bucket", "models_bucket", "outbox_queue",
                 "notify_queue", "workflow_queue", "reports_queue", "ticket_flow"):
        assert components[name] == "ok", (name, components[name])


def test_health_names_what_is_down(api, aws):
    import boto3

    s3 = boto3.client("s3")
    bucket = aws["EXPORTS_BUCKET"]
    for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=bucket)
    answer = api.get("/health")
    assert answer.status == 503
    assert answer.json["down"] == ["exports_bucket"]
    assert answer.json["components"]["table"] == "ok"


def test_dev_login_issues_a_token_carrying_role_and_department(api):
    answer = api.post("/auth/dev-login", json={"username": "handler"})
    assert answer.status == 200
    claims = jwt.decode(answer.json["token"], options={"verify_signature": False})
    assert claims["role"] == "handler" and claims["department"] == "MARKET"
    me = api.get("/me", user="handler").json
    assert me == {"username": "handler", "role": "handler", "department": "MARKET", "district": None,
                  "name": me["name"]}


def test_dev_login_refuses_unknown_users(api):
    answer = api.post("/auth/dev-login", json={"username": "nobody"})
    assert answer.status == 400
    assert answer.json["error"]["details"] == {"username": "no such demo user"}


def test_every_role_has_a_demo_user_and_each_department_a_handler(api):
    users = {u["username"]: u for u in api.get("/admin/users", user="admin").json["items"]}
    for role in ("agent", "dispatcher", "handler", "dept_lead", "manager", "admin"):
        assert users[role]["role"] == role
    assert users["handler-urban"]["department"] == "URBAN"
    departments = api.get("/departments", user="agent").json["items"]
    assert {d["code"] for d in departments} <= {u["department"] for u in users.values() if u.get("department")}


def test_missing_or_invalid_token_is_401_with_the_envelope(api):
    for headers in ({}, {"authorization": "Bearer not-a-jwt"}, {"authorization": "Basic abc"}):
        answer = api.get("/me", headers=headers)
        assert answer.status == 401, headers
        assert answer.json["error"]["code"] == "unauthenticated"


def test_expired_and_foreign_tokens_are_refused(api):
    settings = get_settings()
    base = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "admin", "role": "admin"}
    expired = jwt.encode({**base, "exp": int(time.time()) - 10}, settings.local_jwt_secret, algorithm="HS256")
    forged = jwt.encode({**base, "exp": int(time.time()) + 100}, "another-secret-entirely-0123456789", algorithm="HS256")
    wrong_audience = jwt.encode({**base, "aud": "other", "exp": int(time.time()) + 100},
                                settings.local_jwt_secret, algorithm="HS256")
    for token in (expired, forged, wrong_audience):
        assert api.get("/admin/users", headers={"authorization": f"Bearer {token}"}).status == 401


def test_wrong_role_is_403_with_the_envelope(api):
    answer = api.get("/admin/users", user="agent")
    assert answer.status == 403
    assert answer.json["error"]["code"] == "forbidden"
    assert api.get("/admin/users", user="admin").status == 200


def test_unknown_route_is_404_and_wrong_method_405(api):
    answer = api.get("/no/such/route", user="agent")
    assert answer.status == 404 and answer.json["error"]["code"] == "not_found"
    assert api.get("/no/such/route").status == 404
    answer = api.request("DELETE", "/me", user="agent")
    assert answer.status == 405 and answer.json["error"]["code"] == "method_not_allowed"


def test_department_keyword_search(api):
    found = api.get("/departments?q=%E7%94%B5%E6%A2%AF", user="dispatcher").json["items"]  # 电梯
    assert [d["code"] for d in found] == ["MARKET"]
    assert api.get("/departments?q=URBAN", user="dispatcher").json["items"][0]["name"] == "城市管理局"


def test_admin_creates_a_user_with_optimistic_locking(api):
    body = {"role": "handler", "name": "新处理人", "department": "WATER", "expected_version": 0}
    created = api.put("/admin/users/water-2", json=body, user="admin")
    assert created.status == 200, created.body
    again = api.put("/admin/users/water-2", json=body, user="admin")
    assert again.status == 409
    bad = api.put("/admin/users/water-3", json={"role": "handler", "name": "x"}, user="admin")
    assert bad.status == 400 and bad.json["error"]["details"] == {"department": "required"}
