"""The incremental save: changed items captured under the writers' lock, a journal whose uncommitted
tail a crash may leave and a restore ignores, compaction, retries after errors, and /health."""
from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest

from chalicelib.local import changes, snapshot
from chalicelib.local.changes import Capture, key_text
from chalicelib.local.saver import InjectedSaveFailure, Saver

KEYS = ("PK", "SK")


@pytest.fixture
def tracked(aws):
    """The embedded AWS with the dirty-key set recording (as the local runtime runs it)."""
    changes.enable()
    try:
        yield aws
    finally:
        changes.disable()


def _key(pk: str, sk: str) -> dict:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _capture(puts: dict[tuple[str, str], dict] | None = None, deletes: list[tuple[str, str]] = ()) -> Capture:
    capture = Capture(table="t", key_names=KEYS)
    for (pk, sk), attrs in (puts or {}).items():
        key = _key(pk, sk)
        capture.keys[key_text(key)] = key
        capture.items[key_text(key)] = {**key, **attrs}
    for pk, sk in deletes:
        key = _key(pk, sk)
        capture.keys[key_text(key)] = key
        capture.items[key_text(key)] = None
    return capture


def _scan(table: str) -> dict[str, dict]:
    from chalicelib.local.snapshot import _to_json

    items = {}
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            items[key_text({k: _to_json(item)[k] for k in KEYS})] = _to_json(item)
    return items


def test_capture_copies_exactly_the_changed_items_as_a_scan_reads_them(tracked):
    table = tracked["TABLE_NAME"]
    ddb = boto3.client("dynamodb")
    changes.capture(table)  # what the bootstrap wrote
    ddb.put_item(TableName=table, Item={**_key("A", "1"), "n": {"N": "1"}, "blob": {"B": b"\x00\xff"},
                                        "m": {"M": {"B": {"B": b"\x01"}, "L": {"L": [{"S": "x"}, {"N": "2"}]}}},
                                        "ss": {"SS": ["a", "b"]}})
    ddb.put_item(TableName=table, Item={**_key("A", "2"), "n": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**_key("B", "1"), "n": {"N": "1"}})
    first = changes.capture(table)
    assert first.key_names == KEYS and len(first.items) == 3
    assert changes.pending(table) == 0

    ddb.update_item(TableName=table, Key=_key("A", "1"), UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "5"}})
    ddb.delete_item(TableName=table, Key=_key("A", "2"))
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": {**_key("C", "1"), "v": {"S": "新"}}}},
        {"Update": {"TableName": table, "Key": _key("B", "1"), "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "改"}}}}])
    second = changes.capture(table)
    scan = _scan(table)
    assert set(second.items) == {key_text(_key(*k)) for k in [("A", "1"), ("A", "2"), ("B", "1"), ("C", "1")]}
    assert second.items[key_text(_key("A", "2"))] is None  # deleted
    for text, item in second.items.items():
        if item is not None:
            assert item == scan[text], text  # the same DynamoDB JSON a Scan answers, binary as base64
    assert scan[key_text(_key("A", "1"))]["blob"] == {"B": "AP8="}
    everything = changes.capture_all(table)
    assert everything.items == scan


def test_the_journal_replays_committed_batches_and_ignores_a_torn_tail(tmp_path):
    snapshot.append(tmp_path, _capture({("A", "1"): {"v": {"S": "one"}}, ("A", "2"): {"v": {"S": "two"}}}), 1)
    size = snapshot.journal_bytes(tmp_path)
    snapshot.append(tmp_path, _capture({("A", "1"): {"v": {"S": "uno"}}}, deletes=[("A", "2")]), 2)
    items, counts = snapshot.load_items(tmp_path, KEYS)
    assert counts["batches"] == 2 and counts["uncommitted_bytes"] == 0
    assert items == {key_text(_key("A", "1")): {**_key("A", "1"), "v": {"S": "uno"}}}

    committed = snapshot.journal_bytes(tmp_path)
    with open(tmp_path / snapshot.JOURNAL_FILE, "ab") as out:  # a save killed mid-batch: no commit line
        out.write(json.dumps({"put": {**_key("Z", "1"), "v": {"S": "lost"}}}).encode() + b"\n")
        out.write(b'{"put": {"PK": {"S": "Y"}, "SK"')  # and a torn line
    items, counts = snapshot.load_items(tmp_path, KEYS)
    assert set(items) == {key_text(_key("A", "1"))} and counts["uncommitted_bytes"] > 0
    assert snapshot.repair_journal(tmp_path) > 0
    assert snapshot.journal_bytes(tmp_path) == committed

    # a failed append's remains are cut off before the next batch (else its commit would commit them)
    with open(tmp_path / snapshot.JOURNAL_FILE, "ab") as out:
        out.write(b'{"put": {"PK": {"S": "Q"}')
    snapshot.append(tmp_path, _capture({("B", "1"): {"v": {"S": "b"}}}), 3, committed_size=committed)
    items, counts = snapshot.load_items(tmp_path, KEYS)
    assert set(items) == {key_text(_key("A", "1")), key_text(_key("B", "1"))} and counts["batches"] == 3
    assert size < committed


def test_compaction_folds_the_journal_into_the_base_and_a_crash_between_its_steps_loses_nothing(tmp_path):
    snapshot.append(tmp_path, _capture({("A", str(n)): {"v": {"N": str(n)}} for n in range(50)}), 1)
    snapshot.append(tmp_path, _capture({("A", "1"): {"v": {"S": "changed"}}}, deletes=[("A", "2")]), 2)
    before, _ = snapshot.load_items(tmp_path, KEYS)
    journal = (tmp_path / snapshot.JOURNAL_FILE).read_bytes()
    assert snapshot.compact(tmp_path, KEYS) == 49
    assert snapshot.journal_bytes(tmp_path) == 0 and snapshot.load_items(tmp_path, KEYS)[0] == before
    (tmp_path / snapshot.JOURNAL_FILE).write_bytes(journal)  # as if killed after the base's rename
    assert snapshot.load_items(tmp_path, KEYS)[0] == before


def test_leftovers_of_interrupted_saves_are_removed_and_reset_wipes_only_the_snapshot(tmp_path):
    (tmp_path / ".snapshot-abc123" / "s3").mkdir(parents=True)
    (tmp_path / ".snapshot-abc123" / "table.jsonl").write_text("{}\n")
    (tmp_path / "s3" / "bucket").mkdir(parents=True)
    (tmp_path / "s3" / "bucket" / ".tmp-x.html-1").write_text("half")
    (tmp_path / ".tmp-table.jsonl-2").write_text("half")
    (tmp_path / "notes.txt").write_text("the user's own file")
    removed = snapshot.clean_leftovers(tmp_path)
    assert len(removed) == 3 and not list(tmp_path.glob(".snapshot-*")) and not list(tmp_path.rglob(".tmp-*"))
    snapshot.write_state(tmp_path, {"demo": {"complete": True}})
    assert snapshot.exists(tmp_path) and not snapshot.has_table_data(tmp_path)
    snapshot.wipe(tmp_path)
    assert not snapshot.exists(tmp_path) and (tmp_path / "notes.txt").exists()


def test_a_failed_save_keeps_its_changes_reports_degraded_and_the_next_save_writes_them(tracked, tmp_path,
                                                                                        monkeypatch):
    fail = tmp_path / "fail-saves"
    fail.touch()
    monkeypatch.setenv("LOCAL_SAVE_FAIL_FILE", str(fail))
    tmp_path = tmp_path / "data"
    table = tracked["TABLE_NAME"]
    ddb = boto3.client("dynamodb")
    saver = Saver(tmp_path, tracked, interval=60)
    ddb.put_item(TableName=table, Item={**_key("T", "1"), "v": {"S": "first"}})
    with pytest.raises(InjectedSaveFailure):
        saver.save_now()
    report = saver.health()
    assert report["status"] == "degraded" and report["consecutive_failures"] == 1
    assert "InjectedSaveFailure" in report["last_error"] and report["pending_items"] >= 1
    ddb.put_item(TableName=table, Item={**_key("T", "2"), "v": {"S": "second"}})
    ddb.update_item(TableName=table, Key=_key("T", "1"), UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "newer"}})
    with pytest.raises(InjectedSaveFailure):
        saver.save_now()
    assert not snapshot.has_table_data(tmp_path)
    fail.unlink()
    result = saver.save_now()
    assert result.items >= 2
    report = saver.health()
    assert report["status"] == "ok" and report["consecutive_failures"] == 0 and "last_error" not in report
    items, _ = snapshot.load_items(tmp_path, KEYS)
    assert items[key_text(_key("T", "1"))]["v"] == {"S": "newer"}  # the newer value won
    assert items[key_text(_key("T", "2"))]["v"] == {"S": "second"}
    assert items == _scan(table)  # everything the bootstrap and the test wrote


def test_health_says_degraded_when_the_last_good_save_is_older_than_two_intervals(tracked, tmp_path):
    saver = Saver(tmp_path, tracked, interval=10)
    saver.save_now()
    at = saver.status.last_success_at
    assert saver.health(now=at + 15)["status"] == "ok"
    stale = saver.health(now=at + 25)
    assert stale["status"] == "degraded" and stale["age_seconds"] == 25.0 and "25 s ago" in stale["reason"]
    never = Saver(tmp_path, tracked, interval=10)
    assert never.health(now=never.status.started_at + 21)["reason"].startswith("no successful save")


def test_the_health_route_reports_a_degraded_reporter_without_failing_the_request(api):
    from chalicelib.services.health import register_reporter, unregister_reporter

    register_reporter("snapshot", lambda: {"status": "degraded", "age_seconds": 130.0, "reason": "last save 130 s ago"})
    try:
        answer = api.get("/health")
    finally:
        unregister_reporter("snapshot")
    assert answer.status == 200, answer.body
    body = answer.json
    assert body["status"] == "degraded" and body["degraded"] == ["snapshot"] and body["down"] == []
    assert body["snapshot"]["age_seconds"] == 130.0
    healthy = api.get("/health").json
    assert healthy["status"] == "ok" and healthy["degraded"] == [] and "snapshot" not in healthy


def test_a_full_save_then_an_incremental_one_restore_together(tracked, tmp_path):
    table = tracked["TABLE_NAME"]
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=table, Item={**_key("F", "1"), "v": {"S": "in the base"}})
    snapshot.save(tmp_path, tracked)  # the Scan-based full copy: a base, no journal
    changes.capture(table)
    ddb.put_item(TableName=table, Item={**_key("F", "2"), "v": {"S": "in the journal"}})
    ddb.delete_item(TableName=table, Key=_key("F", "1"))
    Saver(tmp_path, tracked, interval=60).save_now()
    items, counts = snapshot.load_items(tmp_path, KEYS)
    assert counts["base"] > 0 and counts["batches"] == 1
    assert items == _scan(table) and key_text(_key("F", "1")) not in items
    assert os.stat(tmp_path / snapshot.TABLE_FILE).st_size > 0 and Path(tmp_path / snapshot.JOURNAL_FILE).exists()


def test_a_chunked_capture_under_concurrent_transactions_is_one_point_in_time(tracked, monkeypatch):
    """Pairs of items always written together in one transaction are captured with equal values, though
    the copy releases the writers' lock every few items."""
    import threading

    monkeypatch.setattr(changes, "CHUNK", 5)
    table = tracked["TABLE_NAME"]
    ddb = boto3.client("dynamodb")
    pairs = 60
    for n in range(pairs):
        for side in "AB":
            ddb.put_item(TableName=table, Item={**_key(f"P#{n}", side), "v": {"N": "0"}})
    stop = threading.Event()
    writes = [0]

    def writer() -> None:
        own = boto3.client("dynamodb")
        value = 0
        while not stop.is_set():
            value += 1
            n = value % pairs
            own.transact_write_items(TransactItems=[
                {"Update": {"TableName": table, "Key": _key(f"P#{n}", side), "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"N": str(value)}}}} for side in "AB"])
            writes[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        captures = []
        while len(captures) < 5 or writes[0] < 50:
            changes.mark_all(table)
            captures.append(changes.capture(table))
    finally:
        stop.set()
        thread.join()
    assert writes[0] >= 50
    for captured in captures:
        for n in range(pairs):
            a = captured.items[key_text(_key(f"P#{n}", "A"))]
            b = captured.items[key_text(_key(f"P#{n}", "B"))]
            assert a["v"] == b["v"], (n, a["v"], b["v"])
        assert captured.held_seconds < 1.0


def test_a_journal_removed_under_a_running_saver_is_replaced_by_a_full_copy_not_a_hole(tracked, tmp_path):
    import shutil

    table = tracked["TABLE_NAME"]
    ddb = boto3.client("dynamodb")
    data = tmp_path / "data"
    saver = Saver(data, tracked, interval=60)
    ddb.put_item(TableName=table, Item={**_key("R", "1"), "v": {"S": "before"}})
    saver.save_now()
    shutil.rmtree(data)  # e.g. the folder deleted while the runtime runs
    ddb.put_item(TableName=table, Item={**_key("R", "2"), "v": {"S": "after"}})
    saver.save_now()
    items, counts = snapshot.load_items(data, KEYS)
    assert b"\x00" not in (data / snapshot.JOURNAL_FILE).read_bytes()
    assert items == _scan(table) and counts["base"] == len(items)
    ddb.put_item(TableName=table, Item={**_key("R", "3"), "v": {"S": "appended again"}})
    saver.save_now()
    assert snapshot.load_items(data, KEYS)[0] == _scan(table)


def test_a_folder_whose_first_run_died_before_its_first_save_gets_reference_data_and_no_demo_tickets(tracked, tmp_path):
    """The start's data step (``LocalRuntime._prepare_data``, what ``make run`` does before serving) on a
    folder whose seeding began but whose run died before anything was saved: the reference data again,
    saved at once, and no demo seeding scheduled (a crash must not turn into demo data later)."""
    from datetime import date, timedelta

    from chalicelib.local.runtime import LocalRuntime
    from tests.conftest import ApiClient

    data = tmp_path / "data"
    snapshot.write_state(data, {"demo": {"requested": 3, "complete": False}})  # seeding began, nothing saved
    assert not snapshot.has_table_data(data)
    runtime = LocalRuntime(data_dir=data, demo_tickets=3, env=dict(tracked))
    runtime._prepare_data()

    assert runtime.seeding is None and runtime.restored is None
    assert [note for note in runtime.notes if "stopped before its first save" in note]
    assert not [note for note in runtime.notes if "first save failed" in note]
    assert runtime.seeded["users"] > 0 and snapshot.has_table_data(data)  # reference data, saved at once
    assert snapshot.read_state(data)["demo"] == {"requested": 3, "complete": False}  # never seeded later
    assert "being added in the background" not in runtime.banner()
    api = ApiClient()  # the reference data serves: sign-ins work, and there is not one ticket in the
    today = date.today() + timedelta(days=1)  # 180 days the demo would fill (UTC+8 is ahead)
    for start in (0, 90):
        period = f"from={today - timedelta(days=start + 89)}&to={today - timedelta(days=start)}&limit=200"
        answer = api.get(f"/tickets?{period}", user="manager")
        assert answer.status == 200 and answer.json["items"] == [], answer.body
