"""Scheduled retraining: the corpus + corrections; a new model is promoted only when it is better."""
from __future__ import annotations

from datetime import datetime, timedelta

from dispatch_helpers import TINY_LABELS, read_rows

from chalicelib.dispatch import corrections, registry, retraining
from chalicelib.domain.calendar import TZ


def _install(result) -> str:
    """Publish and promote a model: it becomes the active one the retraining must beat."""
    now = datetime.now(TZ)
    registry.publish(result.artifact, source="test", now=now)
    registry.promote(result.artifact.version, actor="admin", now=now)
    return result.artifact.version


def _store_examples(rows: list[dict[str, str]], label_of, *, at: datetime) -> int:
    """Labelled examples as dispatchers would have left them (on tickets whose correction trains)."""
    stored = 0
    for n, row in enumerate(rows):
        ticket_id = f"20260101-T{n:07d}"
        if retraining.held_out(ticket_id):
            continue
        corrections.item_for(corrections.LabelledExample(
            text=row["text"], label=label_of(row["label"]), district=None, ticket_id=ticket_id, ticket_version=3,
            model_version="dispatch-test", predicted=row["label"], predicted_probability_bp=9000,
            decision="dispatch", decided_by="dispatcher", at=at + timedelta(seconds=n))).save()
        stored += 1
    return stored


def test_a_better_candidate_is_promoted(seeded, tiny_data, tiny_models, tiny_config):
    worse = _install(tiny_models["bad"])  # every label rotated: always wrong on held-out data
    result = retraining.retrain(now=datetime.now(TZ), corpus=tiny_data["corpus"], heldout=tiny_data["heldout"],
                                config=tiny_config)
    assert result.status == "promoted", result.notes
    assert result.current_version == worse and result.candidate_version == tiny_models["good"].artifact.version
    assert result.candidate_scores["macro_f1"] > result.current_scores["macro_f1"]
    assert result.candidate_scores["n"] == result.current_scores["n"] == 30
    assert registry.active_version() == result.candidate_version
    assert registry.active_predictor().version == result.candidate_version  # the container noticed

    stored = registry.version_metadata(result.candidate_version)
    assert stored["metrics"]["heldout"] == result.candidate_scores
    assert stored["published"]["retraining"]["compared_with"] == worse
    assert stored["published"]["retraining"]["promoted"] is True
    assert stored["labels"] == list(TINY_LABELS) and len(stored["training_data_sha256"]) == 64

    again = retraining.retrain(now=datetime.now(TZ), corpus=tiny_data["corpus"], heldout=tiny_data["heldout"],
                               config=tiny_config)
    assert again.status == "unchanged" and again.candidate_version is None  # nothing new to learn


def test_a_worse_candidate_is_published_but_not_promoted(seeded, tiny_data, tiny_models, tiny_config):
    good = _install(tiny_models["good"])
    now = datetime.now(TZ)
    # dispatchers "correcting" the held-out texts to the wrong departments: a deliberately worse model
    rotate = dict(zip(TINY_LABELS, TINY_LABELS[1:] + TINY_LABELS[:1]))
    trained = _store_examples(read_rows(tiny_data["heldout"]), rotate.__getitem__, at=now - timedelta(days=1))
    assert trained > 10

    result = retraining.retrain(now=now, corpus=tiny_data["corpus"], heldout=tiny_data["heldout"],
                                config=tiny_config)
    assert result.status == "not_better"
    assert result.corrections == result.corrections_trained == trained and result.corrections_held_out == 0
    assert result.candidate_scores["macro_f1"] < result.current_scores["macro_f1"]
    assert registry.active_version() == good
    listed = {v["version"]: v for v in registry.versions()}
    assert result.candidate_version in listed and listed[result.candidate_version]["retraining"]["promoted"] is False


def test_held_out_corrections_judge_and_never_train(seeded, tiny_data, tiny_models, tiny_config):
    _install(tiny_models["good"])
    now = datetime.now(TZ)
    for n in range(40):
        ticket_id = f"20260102-H{n:07d}"
        corrections.item_for(corrections.LabelledExample(
            text="小区燃气管道漏气，闻到很重的煤气味", label="GAS", district=None, ticket_id=ticket_id,
            ticket_version=2, model_version="x", predicted="WATER", predicted_probability_bp=6000,
            decision="dispatch", decided_by="dispatcher", at=now)).save()
    expected_held = sum(retraining.held_out(f"20260102-H{n:07d}") for n in range(40))
    assert 0 < expected_held < 40
    result = retraining.retrain(now=now, corpus=tiny_data["corpus"], heldout=tiny_data["heldout"],
                                config=tiny_config)
    assert result.corrections == 40 and result.corrections_held_out == expected_held
    assert result.corrections_trained == 40 - expected_held
    assert result.candidate_scores["n"] == 30 + expected_held


def test_the_weekly_schedule_runs_the_retraining(seeded, monkeypatch):
    import app as application
    from chalicelib.local.bootstrap import scheduled_rules
    from chalicelib.local.pump import EventPump

    [rule] = [r for r in scheduled_rules() if r.handler == "dispatch_retraining"]
    assert rule.expression == "cron(0 19 ? * SAT *)"  # 03:00 Asia/Shanghai on Sundays
    calls = []
    monkeypatch.setattr(retraining, "retrain", lambda **kw: calls.append(kw) or retraining.RetrainResult(
        status="unchanged", current_version="v"))
    assert EventPump(application.app, seeded).fire_schedule("dispatch_retraining")
    assert len(calls) == 1 and calls[0]["now"].tzinfo is not None
