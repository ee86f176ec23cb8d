"""The local runtime's DynamoDB keeps DynamoDB's promises: conditions hold under threads, transactions are all-or-nothing."""
from __future__ import annotations

import threading

import boto3
import pytest
from botocore.exceptions import ClientError


def _put(version: int, expected: int | None) -> dict:
    op = {"TableName": "tickets", "Item": {"PK": {"S": "T#x"}, "SK": {"S": "TICKET"}, "version": {"N": str(version)}}}
    if expected is None:
        op["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        op["ConditionExpression"] = "version = :v"
        op["ExpressionAttributeValues"] = {":v": {"N": str(expected)}}
    return {"Put": op}


def _event(n: int) -> dict:
    return {"Put": {"TableName": "tickets", "Item": {"PK": {"S": "T#x"}, "SK": {"S": f"E#{n}"}}}}


def test_failed_condition_cancels_the_whole_transaction(aws):
    ddb = boto3.client("dynamodb")
    ddb.transact_write_items(TransactItems=[_put(1, None), _event(1)])
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=[_event(2), _put(2, 7)])
    reasons = [r["Code"] for r in caught.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    keys = {i["SK"]["S"] for i in ddb.query(TableName="tickets", KeyConditionExpression="PK = :p",
                                            ExpressionAttributeValues={":p": {"S": "T#x"}})["Items"]}
    assert keys == {"TICKET", "E#1"}


def test_concurrent_conditional_transactions_exactly_one_wins(aws):
    ddb = boto3.client("dynamodb")
    ddb.transact_write_items(TransactItems=[_put(1, None)])
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(n: int) -> None:
        client = boto3.client("dynamodb")
        barrier.wait()
        try:
            client.transact_write_items(TransactItems=[_put(2, 1), _event(100 + n)])
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("TransactionCanceledException") == 7
    items = ddb.query(TableName="tickets", KeyConditionExpression="PK = :p",
                      ExpressionAttributeValues={":p": {"S": "T#x"}})["Items"]
    assert len([i for i in items if i["SK"]["S"].startswith("E#")]) == 1
