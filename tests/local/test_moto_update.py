"""The fast UpdateItem path answers exactly as moto does: same item, same stream records, same errors."""
from __future__ import annotations

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from chalicelib.local import moto_update
from tests.conftest import fresh_mock_aws

ATTRIBUTES = ["m1", "m2", "m3", "name", "GSI1PK", "PK"]
NUMBERS = st.one_of(st.integers(-10**6, 10**6).map(str), st.decimals(-1000, 1000, places=2).map(str),
                    st.sampled_from(["1e3", "abc", ""]))
VALUES = st.one_of(NUMBERS.map(lambda n: {"N": n}), st.text(max_size=5).map(lambda s: {"S": s}),
                   st.just({"SS": ["x"]}))
ACTION = st.tuples(st.sampled_from(["ADD", "SET", "SET_IF_ABSENT", "REMOVE"]), st.sampled_from(ATTRIBUTES), VALUES)
STATE = st.dictionaries(st.sampled_from(["m1", "m2", "name", "GSI1PK"]),
                        st.one_of(st.integers(0, 50).map(lambda n: {"N": str(n)}), st.just({"S": "s"})), max_size=4)


def _expression(actions: list[tuple[str, str, dict]], extra_name: bool, extra_value: bool):
    clauses: dict[str, list[str]] = {}
    names, values = {}, {}
    for n, (kind, attribute, value) in enumerate(actions):
        names[f"#n{n}"] = attribute
        if kind == "REMOVE":
            clauses.setdefault("REMOVE", []).append(f"#n{n}")
            continue
        values[f":v{n}"] = value
        if kind == "ADD":
            clauses.setdefault("ADD", []).append(f"#n{n} :v{n}")
        elif kind == "SET":
            clauses.setdefault("SET", []).append(f"#n{n} = :v{n}")
        else:
            clauses.setdefault("SET", []).append(f"#n{n} = if_not_exists(#n{n}, :v{n})")
    if extra_name:
        names["#unused"] = "m9"
    if extra_value:
        values[":unused"] = {"N": "1"}
    return " ".join(f"{k} {', '.join(v)}" for k, v in clauses.items()), names, values or None


def _outcome(backend, table: str, call, expression, names, values):
    key = {"PK": {"S": "AGG#x"}, "SK": {"S": "k"}}
    try:
        call(backend, table, key, update_expression=expression, expression_attribute_names=names,
             expression_attribute_values=values)
        error = None
    except Exception as exc:  # the comparison is the point: both paths must fail alike
        error = type(exc).__name__
    item = backend.get_table(table).get_item(*[DynamoType(key[k]) for k in ("PK", "SK")])
    stream = [{k: r.record["dynamodb"].get(k) for k in ("Keys", "NewImage", "OldImage")} | {"e": r.record["eventName"]}
              for r in backend.get_table(table).stream_shard.items]
    return error, item.to_json()["Attributes"] if item else None, stream


@pytest.fixture(scope="module")
def tables():
    with fresh_mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        for name in ("fast", "moto"):
            ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                        {"AttributeName": "SK", "KeyType": "RANGE"}],
                             AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"}
                                                   for a in ("PK", "SK", "GSI1PK")],
                             GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
                                                      "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"}]}],
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        yield ddb, dynamodb_backends["123456789012"]["us-east-1"]


COUNTER_ACTION = st.tuples(st.sampled_from(["ADD", "ADD", "SET", "SET_IF_ABSENT"]),
                           st.sampled_from(["m1", "m2", "m3", "name", "GSI1PK"]),
                           st.integers(-50, 10**9).map(lambda n: {"N": str(n)}))
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(state=st.one_of(st.none(), STATE), actions=st.lists(ACTION, min_size=1, max_size=5),
       extra_name=st.booleans(), extra_value=st.booleans())
def test_any_update_answers_as_moto_does(tables, state, actions, extra_name, extra_value):
    _compare(tables, state, actions, extra_name and len(actions) % 3 == 0, extra_value and len(actions) % 4 == 0)


@SETTINGS
@given(state=st.one_of(st.none(), STATE.filter(lambda s: all("N" in v for v in s.values()))),
       actions=st.lists(COUNTER_ACTION, min_size=1, max_size=6, unique_by=lambda a: a[1]))
def test_counter_updates_take_the_fast_path_and_answer_as_moto_does(tables, state, actions):
    actions = [(kind, attribute, value) if attribute not in ("GSI1PK", "name") else  # strings are SET, never ADDed
               ("SET" if kind == "ADD" else kind, attribute, {"S": "RA#" + value["N"]})
               for kind, attribute, value in actions]
    expression, names, values = _expression(actions, False, False)
    table = tables[1].get_table("fast")
    assert moto_update._plan(table, moto_update.parse(expression), names, values) is not None
    _compare(tables, state, actions, False, False)


def _compare(tables, state, actions, extra_name: bool, extra_value: bool) -> None:
    ddb, backend = tables
    expression, names, values = _expression(actions, extra_name, extra_value)
    outcomes = []
    for table, call in (("fast", type(backend).update_item), ("moto", moto_update.moto_update_item)):
        ddb.delete_item(TableName=table, Key={"PK": {"S": "AGG#x"}, "SK": {"S": "k"}})
        if state is not None:
            ddb.put_item(TableName=table, Item={"PK": {"S": "AGG#x"}, "SK": {"S": "k"}, **state})
        backend.get_table(table).stream_shard.items.clear()
        outcomes.append(_outcome(backend, table, call, expression, names, values))
    assert outcomes[0] == outcomes[1]


def test_counter_updates_take_the_fast_path(tables, monkeypatch):
    ddb, backend = tables
    def refuse(*args, **kwargs):
        raise AssertionError("a counter update went to moto's slow path")

    monkeypatch.setattr(moto_update, "moto_update_item", refuse)
    assert moto_update.parse("ADD #a0 :a0, #a1 :a1 SET #s0 = :s0, #ra = if_not_exists(#ra, :ra)") is not None
    for _ in range(2):
        ddb.update_item(TableName="fast", Key={"PK": {"S": "AGG#y"}, "SK": {"S": "d#01"}},
                        UpdateExpression="ADD #a0 :a0 SET #ra = if_not_exists(#ra, :ra)",
                        ExpressionAttributeNames={"#a0": "received", "#ra": "GSI1PK"},
                        ExpressionAttributeValues={":a0": {"N": "2"}, ":ra": {"S": "RA#1"}})
    item = ddb.get_item(TableName="fast", Key={"PK": {"S": "AGG#y"}, "SK": {"S": "d#01"}})["Item"]
    assert item["received"] == {"N": "4"} and item["GSI1PK"] == {"S": "RA#1"}


@pytest.mark.parametrize("expression", ["REMOVE #a", "ADD #a.b :v", "SET #a = #b + :v", "ADD #a :v REMOVE #b",
                                        "SET #a = if_not_exists(#b, :v)", "ADD a :v", "ADD #a :v ADD #b :w", ""])
def test_other_shapes_are_left_to_moto(expression):
    assert moto_update.parse(expression) is None


def test_two_actions_on_one_attribute_are_left_to_moto(tables):
    table = tables[1].get_table("fast")
    actions = moto_update.parse("ADD #a :v SET #b = :w")
    assert moto_update._plan(table, actions, {"#a": "m1", "#b": "m1"}, {":v": {"N": "1"}, ":w": {"N": "2"}}) is None
    assert moto_update._plan(table, actions, {"#a": "m1", "#b": "m2"}, {":v": {"N": "1"}, ":w": {"N": "2"}})
