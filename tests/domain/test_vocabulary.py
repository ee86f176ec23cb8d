"""The one vocabulary: every code has a label, the status groups are the ones the rules use, and
the document the API serves is JSON-safe and complete."""
from __future__ import annotations

import json

from chalicelib.analytics import measures
from chalicelib.domain import lifecycle, vocabulary as v
from chalicelib.domain.clocks import ClockName


def test_every_code_has_one_label():
    for enum, labels in ((v.Status, v.STATUS_LABELS), (v.Kind, v.KIND_LABELS), (v.Channel, v.CHANNEL_LABELS),
                         (v.Role, v.ROLE_LABELS), (v.Priority, v.PRIORITY_LABELS),
                         (v.DispatchMode, v.DISPATCH_MODE_LABELS), (v.AssignmentRole, v.ASSIGNMENT_ROLE_LABELS),
                         (v.AssignmentStatus, v.ASSIGNMENT_STATUS_LABELS), (v.Satisfaction, v.SATISFACTION_LABELS),
                         (v.Resolution, v.RESOLUTION_LABELS), (v.TerminationReason, v.TERMINATION_REASON_LABELS),
                         (v.PauseReason, v.PAUSE_REASON_LABELS), (v.DeclineReason, v.DECLINE_REASON_LABELS),
                         (ClockName, v.CLOCK_LABELS)):
        assert set(labels) == {e.value for e in enum}, enum.__name__
    assert set(v.ACTION_LABELS) == lifecycle.ACTIONS
    assert {r for results in v.RESULTS_BY_KIND.values() for r in results} == set(v.RESULT_LABELS)


def test_statistics_use_the_domains_labels():
    assert measures.CHANNEL_LABELS is v.CHANNEL_LABELS and measures.KIND_LABELS is v.KIND_LABELS
    assert measures.dimension_label("channel", "web") == "互联网"


def test_status_groups_are_the_lifecycles():
    assert v.OPEN | v.FINISHED == set(v.Status) and not v.OPEN & v.FINISHED
    assert lifecycle.BY_ACTION["accept"].sources == v.ACCEPTING
    assert all(row.sources <= set(v.Status) for row in lifecycle.ROWS)
    assert all(target in set(v.Status) | {lifecycle.SAME} for row in lifecycle.ROWS for target in row.targets)


def test_the_document_is_json_safe_and_keeps_declaration_order():
    doc = json.loads(json.dumps(v.document(), ensure_ascii=False))
    assert doc["labels"]["channel"]["web"] == "互联网" and doc["labels"]["channel"]["mail"] == "信件"
    assert doc["status_groups"]["open"][0] == "pending_acceptance" and "closed" in doc["status_groups"]["finished"]
    assert doc["results_by_kind"]["report"] == ["case_filed", "not_filed"]
    assert v.clock_label("handling:A1") == "办理时限" and v.clock_label("unknown") == "unknown"
