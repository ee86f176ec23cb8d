"""Read answers serialised by the fast path are the ones moto's own serializer gives."""
from __future__ import annotations

import boto3
from moto.dynamodb.responses import DynamoHandler

from chalicelib.local import moto_responses

ITEM = {"PK": {"S": "R#1"}, "SK": {"S": "a"}, "n": {"N": "12.5"}, "b": {"B": b"\x00\xff\x10"}, "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"\x01", b"\x02"]}, "bool": {"BOOL": False}, "null": {"NULL": True},
        "m": {"M": {"inner": {"S": "中文"}, "B": {"N": "1"}}}, "l": {"L": [{"S": "v"}, {"N": "3"}, {"B": b"\x03"}]}}


def _answers(ddb, table: str) -> list[dict]:
    calls = [
        lambda: ddb.query(TableName=table, KeyConditionExpression="PK = :p", Limit=1,
                          ExpressionAttributeValues={":p": {"S": "R#1"}}, ReturnConsumedCapacity="TOTAL"),
        lambda: ddb.query(TableName=table, KeyConditionExpression="PK = :p", ProjectionExpression="n, m",
                          ExpressionAttributeValues={":p": {"S": "R#1"}}),
        lambda: ddb.query(TableName=table, KeyConditionExpression="PK = :p", Select="COUNT",
                          ExpressionAttributeValues={":p": {"S": "R#1"}}),
        lambda: ddb.get_item(TableName=table, Key={"PK": {"S": "R#1"}, "SK": {"S": "a"}}),
        lambda: ddb.get_item(TableName=table, Key={"PK": {"S": "R#1"}, "SK": {"S": "missing"}}),
        lambda: ddb.batch_get_item(RequestItems={table: {"Keys": [{"PK": {"S": "R#1"}, "SK": {"S": sk}}
                                                                 for sk in ("a", "b", "missing")]}}),
    ]
    answers = []
    for call in calls:
        answer = call()
        answer.pop("ResponseMetadata")
        for items in answer.get("Responses", {}).values():
            items.sort(key=lambda i: i["SK"]["S"])
        answers.append(answer)
    return answers


def test_read_answers_match_moto_serializer(aws, monkeypatch):
    ddb = boto3.client("dynamodb")
    table = aws["TABLE_NAME"]
    ddb.put_item(TableName=table, Item=ITEM)
    ddb.put_item(TableName=table, Item={**ITEM, "SK": {"S": "b"}})
    fast = _answers(ddb, table)
    for name in moto_responses.READS:
        monkeypatch.setattr(DynamoHandler, name, getattr(DynamoHandler, name).__wrapped__)
    assert fast == _answers(ddb, table)
    assert fast[0]["Items"][0]["b"] == {"B": b"\x00\xff\x10"} and "LastEvaluatedKey" in fast[0]
