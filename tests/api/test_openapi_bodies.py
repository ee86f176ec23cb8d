"""The OpenAPI document types every lifecycle action's body with the schema the route validates with."""
from __future__ import annotations

from chalicelib.api.action_schemas import action_body
from chalicelib.domain import lifecycle

ENUMS = {"mode": "single", "decision": "approve", "result": "settled", "satisfaction": "satisfied",
         "reason_code": "other", "termination_reason": "time_limit_expired", "level": "red", "priority": "urgent"}


def _operations(document: dict) -> dict[str, dict]:
    """action -> the POST operation of ``/tickets/{ticket_id}/<action>``."""
    found = {}
    for action in lifecycle.ACTIONS:
        path = document["paths"].get(f"/tickets/{{ticket_id}}/{action.replace('_', '-')}")
        if path is not None:
            found[action] = path["post"]
    return found


def test_every_action_body_is_typed_described_and_the_one_the_route_validates_with(module_api):
    from chalicelib.api.routing import ROUTE_POLICIES

    document = module_api.get("/openapi.json").json
    operations = _operations(document)
    assert len(operations) >= 20, sorted(operations)
    for action, operation in operations.items():
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == action_body(action), action
        route_schema = ROUTE_POLICIES[("POST", f"/tickets/{{ticket_id}}/{action.replace('_', '-')}")].body_schema
        assert route_schema == schema, f"{action}: the route validates with what the document shows"
        assert set(schema["properties"]) == set(lifecycle.PARAMS[action]) | {"expected_version"}
        assert schema["additionalProperties"] is False
        for name, prop in schema["properties"].items():
            assert prop.get("type") and prop.get("description"), (action, name, prop)
            if name in ENUMS:
                assert ENUMS[name] in prop["enum"] or name == "decision", (action, name, prop)
                assert prop["enum"] and prop["type"] == "string", (action, name)
    closure = operations["submit_closure"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert set(closure["result"]["enum"]) >= {"settled", "not_settled", "terminated", "case_filed", "not_filed"}
    review = operations["review_closure"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert review["decision"]["enum"] == ["approve", "rework", "transfer"]
    pause = operations["pause"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert pause["reason"]["enum"] == ["appraisal_testing", "awaiting_citizen", "recusal"]
    evaluation = document["paths"]["/public/tickets/{code}/evaluation"]["post"]["requestBody"]["content"]
    assert evaluation["application/json"]["schema"]["properties"]["satisfaction"] == \
        action_body("evaluate")["properties"]["satisfaction"]


def _registered(api, name: str, phone: str) -> str:
    """A phone complaint registered by the agent: its id."""
    complaint = {"kind": "complaint", "channel": "phone",
                 "complainant": {"name": name, "phone": phone, "address": "苏州市姑苏区十全街1号"},
                 "respondent": {"name": "十全街某某酒店", "address": "苏州市姑苏区十全街9号"},
                 "request": "要求退款", "facts": "预订后被取消。"}
    return api.post("/tickets", json=complaint, user="agent").json["tickets"][0]["id"]


def test_a_body_outside_the_document_is_refused_by_the_route_naming_the_field(module_api):
    api = module_api
    tid = _registered(api, "吴用", "13955550000")
    for action, body, field in (("decline", {"reason_code": "because"}, "reason_code"),
                                ("accept", {"priority": "asap"}, "priority"),
                                ("accept", {"text": ["not", "text"]}, "text")):
        answer = api.post(f"/tickets/{tid}/{action}", json=body, user="agent")
        assert answer.status == 400, (action, body, answer.body)
        assert list(answer.json["error"]["details"]) == [field], answer.json
    assert api.get(f"/tickets/{tid}", user="agent").json["version"] == 1


def _header(answer, name: str) -> str | None:
    return next((v for k, v in answer.headers.items() if k.lower() == name.lower()), None)


def test_ticket_reads_and_actions_carry_the_version_as_etag_and_if_match_is_documented(module_api):
    api = module_api
    tid = _registered(api, "卢俊义", "13955550001")
    read = api.get(f"/tickets/{tid}", user="agent")
    assert read.status == 200 and _header(read, "ETag") == f'"{read.json["version"]}"'
    accepted = api.post(f"/tickets/{tid}/accept", json={}, user="agent", headers={"If-Match": _header(read, "ETag")})
    assert accepted.status == 200, accepted.body
    assert _header(accepted, "ETag") == f'"{accepted.json["version"]}"' and accepted.json["version"] > read.json["version"]
    # the ETag of the first read is stale now: a change sent with it is refused and writes nothing
    stale = api.post(f"/tickets/{tid}/dispatch", json={"mode": "single", "department": "MARKET"}, user="dispatcher",
                     headers={"If-Match": _header(read, "ETag")})
    assert stale.status == 409 and stale.json["error"]["code"] == "concurrent_modification"
    assert _header(api.get(f"/tickets/{tid}", user="agent"), "ETag") == _header(accepted, "ETag")
    odd = api.post(f"/tickets/{tid}/dispatch", json={"mode": "single", "department": "MARKET"}, user="dispatcher",
                   headers={"If-Match": "²"})  # a digit to str.isdigit, not a version
    assert odd.status == 400 and "If-Match" in odd.json["error"]["details"]

    document = api.get("/openapi.json").json
    ticket_read = document["paths"]["/tickets/{ticket_id}"]["get"]
    assert "ETag" in ticket_read["responses"]["2XX"]["headers"]
    assert not any(p["in"] == "header" for p in ticket_read["parameters"])  # a read takes no If-Match
    operations = _operations(document)
    assert len(operations) >= 20
    for action, operation in operations.items():
        if_match = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "If-Match"]
        assert len(if_match) == 1 and if_match[0]["required"] is False, action
        assert "ETag" in operation["responses"]["2XX"]["headers"], action
        assert "If-Match" in operation["responses"]["409"]["description"], action
    register = document["paths"]["/tickets"]["post"]
    assert not any(p["in"] == "header" for p in register["parameters"])
