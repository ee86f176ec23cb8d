"""Read answers serialised by the fast path are the ones moto's own serializer gives."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import boto3
import pytest

from chalicelib.local import moto_responses

ITEM = {"PK": {"S": "R#1"}, "SK": {"S": "a"}, "n": {"N": "12.5"}, "b": {"B": b"\x00\xff\x10"}, "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"\x01", b"\x02"]}, "bool": {"BOOL": False}, "null": {"NULL": True},
        "m": {"M": {"inner": {"S": "中文"}, "B": {"N": "1"}}}, "l": {"L": [{"S": "v"}, {"N": "3"}, {"B": b"\x03"}]},
        "empty": {"L": []}, "nothing": {"M": {}}}
PASS_FLOW = json.dumps({"StartAt": "One", "States": {"One": {"Type": "Pass", "Result": {"ok": True}, "Next": "Two"},
                                                    "Two": {"Type": "Pass", "End": True}}})


def _answers(ddb, streams, sfn, table: str, execution: str) -> list[dict]:
    stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    calls = [
        lambda: ddb.query(TableName=table, KeyConditionExpression="PK = :p", Limit=1,
                          ExpressionAttributeValues={":p": {"S": "R#1"}}, ReturnConsumedCapacity="TOTAL"),
        lambda: ddb.query(TableName=table, KeyConditionExpression="PK = :p", ProjectionExpression="n, m",
                          ExpressionAttributeValues={":p": {"S": "R#1"}}),
        lambda: ddb.query(TableName=table, KeyConditionExpression="PK = :p", Select="COUNT",
                          ExpressionAttributeValues={":p": {"S": "R#1"}}),
        lambda: ddb.get_item(TableName=table, Key={"PK": {"S": "R#1"}, "SK": {"S": "a"}}),
        lambda: ddb.get_item(TableName=table, Key={"PK": {"S": "R#1"}, "SK": {"S": "a"}},
                             ProjectionExpression="n, l[1], m.inner", ReturnConsumedCapacity="INDEXES"),
        lambda: ddb.get_item(TableName=table, Key={"PK": {"S": "R#1"}, "SK": {"S": "missing"}}),
        lambda: ddb.batch_get_item(RequestItems={table: {"Keys": [{"PK": {"S": "R#1"}, "SK": {"S": sk}}
                                                                 for sk in ("a", "b", "missing")]}}),
        lambda: ddb.update_item(TableName=table, Key={"PK": {"S": "R#1"}, "SK": {"S": "b"}}, ReturnValues="ALL_NEW",
                                UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "12.5"}}),
        lambda: streams.get_records(Limit=2, ShardIterator=streams.get_shard_iterator(  # the two puts
            StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]),
        lambda: sfn.get_execution_history(executionArn=execution),
        lambda: sfn.get_execution_history(executionArn=execution, maxResults=2, reverseOrder=True),
    ]
    answers = []
    for call in calls:
        answer = call()
        answer.pop("ResponseMetadata")
        answer.pop("NextShardIterator", None)  # a new iterator on every call
        for items in answer.get("Responses", {}).values():
            items.sort(key=lambda i: i["SK"]["S"])
        answers.append(answer)
    return answers


def _finished_execution(sfn, role: str) -> str:
    machine = sfn.create_state_machine(name="pass-two", definition=PASS_FLOW, roleArn=role)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
    deadline = time.monotonic() + 10
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    return arn


def test_read_answers_match_moto_serializer(aws, monkeypatch):
    ddb, streams, sfn = boto3.client("dynamodb"), boto3.client("dynamodbstreams"), boto3.client("stepfunctions")
    table = aws["TABLE_NAME"]
    ddb.put_item(TableName=table, Item=ITEM)
    ddb.put_item(TableName=table, Item={**ITEM, "SK": {"S": "b"}})
    execution = _finished_execution(sfn, boto3.client("iam").list_roles()["Roles"][0]["Arn"])
    fast_bodies: list[str] = []
    real = moto_responses.fast_body

    def recording(handler, result):
        body = real(handler, result)
        if body is not None:
            fast_bodies.append(handler._get_action())
        return body

    monkeypatch.setattr(moto_responses, "fast_body", recording)
    fast = _answers(ddb, streams, sfn, table, execution)
    assert {"Query", "GetItem", "BatchGetItem", "UpdateItem", "GetRecords", "GetExecutionHistory"} <= set(fast_bodies)  # the fast path answered
    for cls, name, original in moto_responses.originals():
        monkeypatch.setattr(cls, name, original)
    assert fast == _answers(ddb, streams, sfn, table, execution)
    assert fast[0]["Items"][0]["b"] == {"B": b"\x00\xff\x10"} and "LastEvaluatedKey" in fast[0]
    records = fast[8]["Records"]
    assert records and isinstance(records[0]["dynamodb"]["ApproximateCreationDateTime"], datetime)
    assert [e["type"] for e in fast[9]["events"]][-1] == "ExecutionSucceeded"


class _Handler:
    boto3_service_name = "dynamodb"

    def _get_action(self) -> str:
        return "GetItem"


@pytest.mark.parametrize("result", [
    {"Item": {"n": {"N": 5}}},  # a number where the shape has a string: moto's serializer converts it
    {"Item": {"n": {"X": "5"}}},  # a member the shape does not name
    {"Item": {"n": {"NULL": 1}}},
    {"Item": {"n": {"S": "a"}}, "Unknown": 1},
    {"Item": {"n": {"L": [None]}}},
    ["not", "a", "dict"],
])
def test_values_not_in_wire_form_are_left_to_moto(result):
    assert moto_responses.fast_body(_Handler(), result) is None


def test_wire_form_is_written_as_moto_writes_it():
    body = moto_responses.fast_body(_Handler(), {"Item": {"b": {"B": b"\xff"}, "s": {"S": "中"}},
                                                 "ConsumedCapacity": None})
    assert json.loads(body) == {"Item": {"b": {"B": "/w=="}, "s": {"S": "中"}}}
    stamp = datetime(2030, 3, 1, 8, 0, 0, 123456, tzinfo=timezone.utc)
    shape = moto_responses._output_shape("dynamodbstreams", "GetRecords").members["Records"].member
    assert moto_responses._wire({"dynamodb": {"ApproximateCreationDateTime": stamp}}, shape) == {
        "dynamodb": {"ApproximateCreationDateTime": stamp.timestamp() // 1 + 0.123}}
