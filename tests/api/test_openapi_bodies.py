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


def test_a_body_outside_the_document_is_refused_by_the_route_naming_the_field(module_api):
    api = module_api
    complaint = {"kind": "complaint", "channel": "phone",
                 "complainant": {"name": "吴用", "phone": "13955550000", "address": "苏州市姑苏区十全街1号"},
                 "respondent": {"name": "十全街某某酒店", "address": "苏州市姑苏区十全街9号"},
                 "request": "要求退款", "facts": "预订后被取消。"}
    tid = api.post("/tickets", json=complaint, user="agent").json["tickets"][0]["id"]
    for action, body, field in (("decline", {"reason_code": "because"}, "reason_code"),
                                ("accept", {"priority": "asap"}, "priority"),
                                ("accept", {"text": ["not", "text"]}, "text")):
        answer = api.post(f"/tickets/{tid}/{action}", json=body, user="agent")
        assert answer.status == 400, (action, body, answer.body)
        assert list(answer.json["error"]["details"]) == [field], answer.json
    assert api.get(f"/tickets/{tid}", user="agent").json["version"] == 1
