"""The operations dashboard in infra/: valid JSON once CloudFormation substitutes it, and a widget
for everything the console admin watches (issue 16)."""
from __future__ import annotations

import json
import re

from chalicelib.local.bootstrap import load_template


def _body() -> dict:
    resource = load_template()["Resources"]["OperationsDashboard"]
    assert resource["Type"] == "AWS::CloudWatch::Dashboard"
    text = resource["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", text))
    resources = load_template()["Resources"]
    for name in names:  # every substitution names a pseudo parameter or a resource of the template
        assert name.startswith("AWS::") or name.split(".")[0] in resources, name
    return json.loads(re.sub(r"\$\{[^}]+\}", "x", text))


def test_the_dashboard_shows_what_the_runbook_promises():
    widgets = _body()["widgets"]
    metrics = json.dumps([w["properties"]["metrics"] for w in widgets])
    for name in ("TicketsRegistered", "TicketsClosed", "WarningsRed", "WarningsYellow", "Urgings", "Supervisions",
                 "AutoDispatched", "DispatchCorrected", "ApproximateNumberOfMessagesVisible", "ExecutionsFailed",
                 "Errors", "Throttles", "IteratorAge"):
        assert name in metrics, name
    for queue in ("OutboxDLQ", "NotifyDLQ", "WorkflowDLQ", "ReportsDLQ", "StreamDLQ"):
        assert queue in metrics, queue
    assert all(w["properties"]["region"] == "x" for w in widgets)  # the stack's own region
