"""The local stream keeps a bounded window of records, like DynamoDB's 24 hours, and readers carry on."""
from __future__ import annotations

import time

import boto3
import pytest
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodbstreams.models import dynamodbstreams_backends

from chalicelib.local import moto_streams


@pytest.fixture
def stream(aws, monkeypatch):
    monkeypatch.setenv("LOCAL_STREAM_RETENTION", "1000")
    ddb = boto3.client("dynamodb")
    arn = ddb.describe_table(TableName=aws["TABLE_NAME"])["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def iterator(kind: str = "TRIM_HORIZON") -> str:
        return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind)["ShardIterator"]

    def write(count: int, prefix: str) -> None:
        for n in range(count):
            ddb.put_item(TableName=aws["TABLE_NAME"], Item={"PK": {"S": f"X#{prefix}{n}"}, "SK": {"S": "x"}})

    table = dynamodb_backends["123456789012"]["us-east-1"].get_table(aws["TABLE_NAME"])
    return streams, iterator, write, table.stream_shard


def _keys(answer: dict) -> list[str]:
    return [r["dynamodb"]["Keys"]["PK"]["S"] for r in answer["Records"]]


def test_the_oldest_records_go_beyond_the_bound_and_a_late_reader_reads_on_from_the_oldest_kept(stream):
    streams, iterator, write, shard = stream
    write(1, "old")
    late = iterator("LATEST")  # a reader positioned after the first record
    write(1200, "n")
    assert 900 <= len(shard.items) <= 1000
    first = streams.get_records(ShardIterator=iterator(), Limit=5)
    kept = _keys(first)
    assert kept[0] == f"X#n{1200 - len(shard.items)}"  # the newest records are kept, in order
    assert _keys(streams.get_records(ShardIterator=late, Limit=5)) == kept  # no error, no gap beyond the trim
    following = streams.get_records(ShardIterator=first["NextShardIterator"], Limit=2)
    assert int(following["Records"][0]["dynamodb"]["SequenceNumber"]) == \
        int(first["Records"][-1]["dynamodb"]["SequenceNumber"]) + 1


def test_records_older_than_a_day_are_dropped_whatever_the_count(stream):
    _, _, write, shard = stream
    write(10, "a")
    assert moto_streams.trim(shard, now=time.time() + moto_streams.RETENTION_SECONDS - 60) == 0
    assert moto_streams.trim(shard, now=time.time() + moto_streams.RETENTION_SECONDS + 60) == len(shard.items) + 10
    assert shard.items == []


def test_iterators_are_forgotten_after_fifteen_minutes(stream):
    streams, iterator, write, _ = stream
    backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
    old = iterator()
    backend.shard_iterators[old].handed_out_at -= moto_streams.ITERATOR_SECONDS + 1
    fresh = iterator()
    streams.get_records(ShardIterator=fresh, Limit=1)
    assert old not in backend.shard_iterators and fresh in backend.shard_iterators
