"""Operations for Chalice's functions, added by ``make package`` (infra/template.yaml cannot name them).

For every function ``chalice package`` emits:
- a log group ``/aws/lambda/<function>`` with the stack's retention (``LogRetentionDays``) and
  encrypted with ``OpsKey`` (without it Lambda creates one that keeps logs forever);
- alarms on its ``Errors`` and ``Throttles``, and for a stream consumer on ``IteratorAge`` (the
  stream falling behind), each notifying ``AlarmTopic`` (the ops e-mail);
- the checkov skips that infra/template.yaml lists for Chalice's functions
  (``Metadata.ChaliceFunctionChecks``), each with its reason, so the built template carries them.

The API gets X-Ray tracing and the skips listed for it (``Metadata.ChaliceApiChecks``).
docs/operations.md says what each alarm means and what to do.
"""
from __future__ import annotations

import copy
from typing import Any

FUNCTION_TYPE = "AWS::Serverless::Function"
ALARM_TOPIC = "AlarmTopic"
OPS_KEY = "OpsKey"
RETENTION_PARAMETER = "LogRetentionDays"
ITERATOR_AGE_LIMIT_MS = 5 * 60 * 1000  # a change older than 5 minutes: timers and webhooks are late


def _alarm(function_id: str, metric: str, statistic: str, threshold: float, description: str, *,
           periods: int = 1, period: int = 300) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}],
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "OKActions": [{"Ref": ALARM_TOPIC}],
        },
    }


def _with_skips(resource: dict[str, Any], skips: list[dict[str, str]]) -> None:
    if not skips:
        return
    checkov = resource.setdefault("Metadata", {}).setdefault("checkov", {})
    existing = {s["id"] for s in checkov.get("skip", [])}
    checkov.setdefault("skip", []).extend(copy.deepcopy([s for s in skips if s["id"] not in existing]))


def add_function_operations(resources: dict[str, Any], infra_metadata: dict[str, Any]) -> list[str]:
    """Log groups, alarms and checkov skips for every Chalice function in ``resources``; returns the
    ids of the alarms added."""
    function_skips = list(infra_metadata.get("ChaliceFunctionChecks", {}).get("skip", []))
    added: list[str] = []
    for function_id, function in list(resources.items()):
        if function.get("Type") != FUNCTION_TYPE:
            continue
        _with_skips(function, function_skips)
        log_group = f"{function_id}LogGroup"
        resources[log_group] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{function_id}}}"},
                "RetentionInDays": {"Ref": RETENTION_PARAMETER},
                "KmsKeyId": {"Fn::GetAtt": [OPS_KEY, "Arn"]},
            },
        }
        alarms = {
            f"{function_id}ErrorsAlarm": _alarm(
                function_id, "Errors", "Sum", 0,
                f"{function_id} raised errors (a failed request, batch or scheduled run); see its log group."),
            f"{function_id}ThrottlesAlarm": _alarm(
                function_id, "Throttles", "Sum", 0,
                f"{function_id} was throttled: the account's or the function's concurrency is exhausted."),
        }
        events = (function["Properties"].get("Events") or {}).values()
        if any(event.get("Type") == "DynamoDB" for event in events):
            alarms[f"{function_id}IteratorAgeAlarm"] = _alarm(
                function_id, "IteratorAge", "Maximum", ITERATOR_AGE_LIMIT_MS,
                f"{function_id} is more than 5 minutes behind the table's stream (webhooks, flows and "
                f"statistics are late).", periods=3, period=60)
        for alarm_id, alarm in alarms.items():
            if alarm_id in resources:
                raise ValueError(f"{alarm_id} already exists")
            resources[alarm_id] = alarm
            added.append(alarm_id)
    return added


def configure_api(resources: dict[str, Any], infra_metadata: dict[str, Any], rest_api: str = "RestAPI") -> None:
    """X-Ray tracing on the API stage, and the checkov skips listed for the API."""
    api = resources.get(rest_api)
    if api is None:
        return
    api["Properties"]["TracingEnabled"] = True
    _with_skips(api, list(infra_metadata.get("ChaliceApiChecks", {}).get("skip", [])))
