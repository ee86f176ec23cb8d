"""Admins list, promote and roll back model versions; every container notices the active one."""
from __future__ import annotations

from datetime import datetime

import boto3
import pytest
from dispatch_helpers import register, submission

from chalicelib.config import get_settings
from chalicelib.dispatch import registry
from chalicelib.domain.calendar import TZ


def _publish(result) -> str:
    registry.publish(result.artifact, source="test", now=datetime.now(TZ))
    return result.artifact.version


def test_admins_list_promote_and_roll_back_versions(api, tiny_models):
    bundled = registry.bundled_version()
    listed = api.get("/admin/models", user="admin").json
    assert listed["active"]["version"] == bundled and listed["active"]["bundled"] is True
    assert [v["version"] for v in listed["versions"]] == [bundled]

    good = _publish(tiny_models["good"])
    versions = api.get("/admin/models", user="admin").json["versions"]
    entry = next(v for v in versions if v["version"] == good)
    assert entry["active"] is False and entry["source"] == "test"
    assert entry["labels"] == ["GAS", "POWER", "WATER"]
    assert entry["training_data_sha256"] == tiny_models["good"].artifact.metadata["training_data_sha256"]
    assert entry["threshold"] == tiny_models["good"].artifact.metadata["threshold"]
    assert len(entry["sha256"]) == 64 and entry["size"] > 0

    detail = api.get(f"/admin/models/versions/{good}", user="admin").json
    assert detail["version"] == good and "validation_out_of_fold" in detail["metrics"]
    assert "user_words" not in detail and detail["published"]["sha256"] == entry["sha256"]

    promoted = api.post(f"/admin/models/versions/{good}/promote", json={"reason": "试运行"}, user="admin")
    assert promoted.status == 200, promoted.body
    assert promoted.json["active"]["version"] == good and promoted.json["active"]["previous"] == [bundled]
    assert api.get("/admin/models", user="admin").json["active"]["version"] == good
    # this container sees its own promotion at once: new tickets carry the new version
    ticket = register(api, submission("31"))
    assert ticket["recommendation"]["model_version"] == good
    assert {d["department"] for d in ticket["recommendation"]["departments"]} == {"GAS", "POWER", "WATER"}

    assert api.post(f"/admin/models/versions/{good}/promote", json={}, user="admin").status == 409  # already active
    rolled = api.post("/admin/models/rollback", json={"reason": "效果不佳"}, user="admin")
    assert rolled.status == 200 and rolled.json["active"]["version"] == bundled
    assert rolled.json["active"]["previous"] == []
    assert register(api, submission("32"))["recommendation"]["model_version"] == bundled
    assert api.post("/admin/models/rollback", json={}, user="admin").status == 409  # nothing earlier


def test_unknown_or_malformed_versions_and_other_roles_are_refused(api):
    assert api.post("/admin/models/versions/dispatch-000000000000/promote", json={}, user="admin").status == 404
    assert api.get("/admin/models/versions/dispatch-000000000000", user="admin").status == 404
    assert api.get("/admin/models/versions/..%2F..%2Fetc", user="admin").status in (400, 404)
    assert api.post("/admin/models/versions/a b/promote", json={}, user="admin").status in (400, 404)
    for user in ("dispatcher", "manager", "agent"):
        assert api.get("/admin/models", user=user).status == 403
        assert api.post("/admin/models/rollback", json={}, user=user).status == 403


def test_a_container_notices_a_promotion_made_elsewhere_within_the_check_interval(seeded, tiny_models, monkeypatch):
    bundled = registry.bundled_version()
    good = _publish(tiny_models["good"])
    assert registry.active_predictor().version == bundled

    with monkeypatch.context() as elsewhere:  # another container promotes: this one is not told
        elsewhere.setattr(registry.active_model, "forget", lambda: None)
        registry.promote(good, actor="admin", now=datetime.now(TZ))
    assert registry.active_version() == good
    assert registry.active_predictor().version == bundled  # checked at most every N seconds

    later = registry.time.monotonic() + registry.active_model.check_seconds + 1
    monkeypatch.setattr(registry.time, "monotonic", lambda: later)
    assert registry.active_predictor().version == good
    assert registry.active_predictor().version == good  # and an unchanged copy costs a 304 only


def test_a_copy_that_failed_to_publish_is_published_again(seeded, tiny_models, monkeypatch):
    good = _publish(tiny_models["good"])
    with monkeypatch.context() as broken:
        def fail(pointer, **kwargs):
            raise registry.ClientError({"Error": {"Code": "SlowDown"}}, "PutObject")
        broken.setattr(registry, "publish_pointer", fail)
        with pytest.raises(registry.ClientError):
            registry.promote(good, actor="admin", now=datetime.now(TZ))
    assert registry.active_version() == good  # the table says so
    assert registry.read_mirror().pointer is None  # the containers do not know yet
    assert registry.active_predictor(force_check=True).version == registry.bundled_version()

    again = registry.promote(good, actor="admin", now=datetime.now(TZ))  # the admin retries
    assert again.version == good and registry.read_mirror().pointer.revision == again.revision
    assert registry.active_predictor(force_check=True).version == good
    assert registry.sync_mirror() is False  # nothing left to publish


def test_a_broken_copy_keeps_the_model_the_container_has(seeded, tiny_models):
    good = _publish(tiny_models["good"])
    registry.promote(good, actor="admin", now=datetime.now(TZ))
    assert registry.active_predictor().version == good
    boto3.client("s3").put_object(Bucket=get_settings().models_bucket, Key=registry.ACTIVE_KEY, Body=b"{broken")
    assert registry.active_predictor(force_check=True).version == good
    assert registry.sync_mirror() is True  # the retraining job repairs it
    assert registry.read_mirror().pointer.version == good


def test_two_admins_promoting_from_the_same_state_cannot_both_win(seeded, tiny_models):
    from chalicelib.domain.errors import ConcurrentModification

    good, bad = _publish(tiny_models["good"]), _publish(tiny_models["bad"])
    seen = registry.active_pointer()  # both read "never promoted"
    registry.promote(good, actor="admin", now=datetime.now(TZ))
    with pytest.raises(ConcurrentModification):
        registry._record(registry.ActivePointer(version=bad, promoted_at="", promoted_by="admin2"),
                         expected=seen.revision if seen else 0)
    assert registry.active_version() == good


def test_a_tampered_blob_is_not_loaded(seeded, tiny_models):
    good = _publish(tiny_models["good"])
    bad_blob = registry.model_key(good)
    s3 = boto3.client("s3")
    blob = s3.get_object(Bucket=get_settings().models_bucket, Key=bad_blob)
    s3.put_object(Bucket=get_settings().models_bucket, Key=bad_blob, Body=blob["Body"].read()[:-10] + b"0" * 10,
                  Metadata=blob["Metadata"])
    from chalicelib.domain.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        registry.load_version(good)
