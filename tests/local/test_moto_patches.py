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


def test_partition_indexed_queries_see_every_kind_of_write(aws):
    """Queries read through the partition index; puts, updates, deletes, batches and transactions
    (including a cancelled one) keep it exact: the answers equal a filtered scan's."""
    ddb = boto3.client("dynamodb")

    def item(n: int, queue: str) -> dict:
        return {"PK": {"S": f"T#{n}"}, "SK": {"S": "TICKET"}, "GSI1PK": {"S": queue}, "GSI1SK": {"S": f"{n:04d}"}}

    def by_queue(queue: str) -> list[str]:
        items = ddb.query(TableName="tickets", IndexName="GSI1", KeyConditionExpression="GSI1PK = :q",
                          ExpressionAttributeValues={":q": {"S": queue}})["Items"]
        return [i["PK"]["S"] for i in items]

    def scanned(queue: str) -> list[str]:
        items = ddb.scan(TableName="tickets")["Items"]
        return sorted((i for i in items if i.get("GSI1PK", {}).get("S") == queue), key=lambda i: i["GSI1SK"]["S"])

    for n in range(6):
        ddb.put_item(TableName="tickets", Item=item(n, "Q#A" if n % 2 else "Q#B"))
    assert by_queue("Q#A") == ["T#1", "T#3", "T#5"]  # builds the index
    ddb.update_item(TableName="tickets", Key={"PK": {"S": "T#1"}, "SK": {"S": "TICKET"}},
                    UpdateExpression="SET GSI1PK = :q", ExpressionAttributeValues={":q": {"S": "Q#B"}})
    ddb.delete_item(TableName="tickets", Key={"PK": {"S": "T#3"}, "SK": {"S": "TICKET"}})
    ddb.batch_write_item(RequestItems={"tickets": [{"PutRequest": {"Item": item(7, "Q#A")}},
                                                   {"DeleteRequest": {"Key": {"PK": {"S": "T#0"}, "SK": {"S": "TICKET"}}}}]})
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "tickets", "Item": item(8, "Q#A")}},
                                            {"Update": {"TableName": "tickets",
                                                        "Key": {"PK": {"S": "T#5"}, "SK": {"S": "TICKET"}},
                                                        "UpdateExpression": "REMOVE GSI1PK"}}])
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "tickets", "Item": item(9, "Q#A")}},
            {"Put": {"TableName": "tickets", "Item": item(7, "Q#B"), "ConditionExpression": "attribute_not_exists(PK)"}}])
    for queue in ("Q#A", "Q#B"):
        assert by_queue(queue) == [i["PK"]["S"] for i in scanned(queue)]
    assert by_queue("Q#A") == ["T#7", "T#8"]
    assert by_queue("Q#B") == ["T#1", "T#2", "T#4"]


def test_overwritten_item_versions_and_queue_messages_are_not_kept_alive(aws):
    """moto tracks every model object it makes; the runtime's high-volume ones must be freed."""
    import gc
    import weakref

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.local import moto_patches

    untracked = moto_patches.untrack_high_volume_models()
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName="tickets", Item={"PK": {"S": "T#gone"}, "SK": {"S": "TICKET"}, "n": {"N": "1"}})
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][ddb.meta.region_name].get_table("tickets")
    first = weakref.ref(next(iter(table.items[next(k for k in table.items if k.value == "T#gone")].values())))
    for n in range(2, 5):
        ddb.put_item(TableName="tickets", Item={"PK": {"S": "T#gone"}, "SK": {"S": "TICKET"}, "n": {"N": str(n)}})
    if table.stream_shard is not None:
        table.stream_shard.items.clear()  # what the stream's retention does to old records
    gc.collect()
    assert first() is None, "the first version of the item is still referenced"
    assert all(cls.instances_tracked == [] for cls in untracked)


def test_partition_pages_follow_the_sort_key_both_ways(aws):
    """A partition read a page at a time (the local runtime sorts it once and starts each page by
    bisection) gives every item once, in DynamoDB's order, forwards, backwards and within a range."""
    ddb = boto3.client("dynamodb")
    keys = [f"{n % 7}|{n:03d}#{n % 30 + 1:02d}" for n in range(120)] + ["a", "B", "é", "中文"]
    for key in keys:
        ddb.put_item(TableName="tickets", Item={"PK": {"S": "AGG#2031-06#cube"}, "SK": {"S": key}})
    ddb.put_item(TableName="tickets", Item={"PK": {"S": "AGG#2031-07#cube"}, "SK": {"S": "0|000#01"}})

    def pages(**extra: object) -> list[str]:
        out, start = [], None
        while True:
            answer = ddb.query(TableName="tickets", Limit=17, **({"ExclusiveStartKey": start} if start else {}),
                               **extra)
            out += [i["SK"]["S"] for i in answer["Items"]]
            start = answer.get("LastEvaluatedKey")
            if not start:
                return out

    whole = {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "AGG#2031-06#cube"}}}
    in_bytes = sorted(keys, key=lambda k: k.encode())
    assert pages(**whole) == in_bytes
    assert pages(**whole, ScanIndexForward=False) == in_bytes[::-1]
    ranged = {"KeyConditionExpression": "PK = :p AND SK BETWEEN :lo AND :hi",
              "ExpressionAttributeValues": {":p": {"S": "AGG#2031-06#cube"}, ":lo": {"S": "2|"}, ":hi": {"S": "4|~"}}}
    assert pages(**ranged) == [k for k in in_bytes if "2|" <= k <= "4|~"]


def test_an_execution_stopped_before_its_worker_built_its_environment_is_stopped_not_a_crash():
    """Restarting a flow twice in a row stops an execution whose worker thread has not started yet:
    moto raised AttributeError (an API 500); the stop now waits for the environment."""
    import threading
    from types import SimpleNamespace

    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    stops: list[dict] = []
    worker = ExecutionWorker.__new__(ExecutionWorker)
    worker.env = None
    threading.Timer(0.05, lambda: setattr(worker, "env", SimpleNamespace(set_stop=lambda **kw: stops.append(kw)))).start()
    worker.stop(stop_date="now", error="Restarted", cause="twice")
    assert stops == [{"stop_date": "now", "cause": "twice", "error": "Restarted"}]


def test_cached_routing_sends_every_request_where_moto_sent_it(aws):
    """The URL patterns are tried once per URL and the action names once per class: requests of
    every kind still reach their service (S3 by host and by path, SQS, DynamoDB, an unknown action)."""
    import moto.backend_index
    from moto.core import responses
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.responses import DynamoHandler

    assert responses.method_names_from_class(DynamoHandler) == frozenset(method_names_from_class(DynamoHandler))
    assert len(list(moto.backend_index.backend_url_patterns)) > 100  # outside a request: every pattern
    s3 = boto3.client("s3")
    for _ in range(2):  # the second round is routed from the cache
        s3.create_bucket(Bucket="routing-probe")
        s3.put_object(Bucket="routing-probe", Key="a/b.txt", Body=b"x")
        assert s3.get_object(Bucket="routing-probe", Key="a/b.txt")["Body"].read() == b"x"
        url = boto3.client("sqs").create_queue(QueueName="routing-probe")["QueueUrl"]
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody="m")
        assert boto3.client("dynamodb").describe_table(TableName="tickets")["Table"]["TableName"] == "tickets"
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            boto3.client("dynamodb").describe_table(TableName="no-such-table")
    assert boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "2"
