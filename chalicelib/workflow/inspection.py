"""What an administrator sees of one ticket's flow: its clocks and next checkpoint, the execution
that waits for it (and until when), how the earlier executions ended, and the latest history."""
from __future__ import annotations

from typing import Any

from chalicelib.domain import deadlines as schedule
from chalicelib.domain.calendar import TZ
from chalicelib.services import tickets as ticket_service
from chalicelib.store.tickets import timer_timestamp
from chalicelib.domain.errors import IllegalTransition
from chalicelib.workflow import executions, flows, graph, records, stages, tokens

HISTORY_EVENTS = 500  # the longest realistic ticket's whole history (tests/workflow/test_flow_limits.py)
MAX_GENERATIONS_SHOWN = 10


def _iso(moment: Any) -> str | None:
    return moment.astimezone(TZ).isoformat() if moment is not None else None


def describe_flow(ticket_id: str) -> dict[str, Any]:
    """The flow of ``ticket_id`` (NotFound if there is no such ticket)."""
    ticket = ticket_service.repository().get(ticket_id)
    policy = ticket_service.current_policy()
    checkpoint = schedule.clock_checkpoint(ticket)
    supervise_at = schedule.supervision_at(ticket, policy)
    record = records.get(ticket.id)
    answer: dict[str, Any] = {
        "ticket_id": ticket.id,
        "status": ticket.status,
        "has_flow": stages.has_flow(ticket),
        "stage": stages.ticket_stage(ticket),
        "clocks": [{"key": key, "label": schedule.clock_label(key), "status": state.status, "warning": state.warning,
                    "yellow_at": _iso(state.yellow_at), "due": _iso(state.due)}
                   for key, state in sorted(ticket.clocks.items())],
        "next_checkpoint": _iso(checkpoint),
        "timer_at": timer_timestamp(checkpoint) if checkpoint else None,
        "supervise_at": _iso(supervise_at),
        "record": record.to_dict() if record else None,
        "execution": None,
        "current": None,
        "history": [],
        "graph": None,
        "waiting_in": [],
        "earlier_executions": [],
    }
    answer["graph"] = graph.deployed_graph(executions.state_machine_arn())
    answer["waiting_in"] = [{"scope": t.scope, "stage": t.stage, "state": stages.waiting_state(t.scope, t.stage),
                             "wake": t.wake, "since": t.armed_at} for t in tokens.armed(ticket.id)]
    if record is None or not record.execution_arn:
        return answer
    info = executions.describe(record.execution_arn)
    if info is not None:
        answer["execution"] = {**info.to_dict(), "generation": record.generation,
                               "console_url": executions.console_url(info.arn)}
        events = executions.history(info.arn, limit=HISTORY_EVENTS)
        answer["history"] = [{k: v for k, v in e.items() if k != "input"} for e in events]
        answer["current"] = executions.current_state(events) if info.running else None
    else:
        answer["execution"] = {"name": record.execution_name, "arn": record.execution_arn, "status": "MISSING",
                               "generation": record.generation}
    first = max(1, record.generation - MAX_GENERATIONS_SHOWN)
    for generation in range(record.generation - 1, first - 1, -1):
        arn = executions.execution_arn(executions.execution_name(ticket.id, generation))
        earlier = executions.describe(arn)
        answer["earlier_executions"].append(
            earlier.to_dict() if earlier else {"name": arn.rsplit(":", 1)[-1], "arn": arn, "status": "MISSING"})
    return answer


def restart_flow(ticket_id: str, *, actor: str) -> dict[str, Any]:
    """Stop the ticket's execution and start the next generation (NotFound if no such ticket,
    IllegalTransition when a closed ticket needs no flow); answers the flow as it is now."""
    ticket = ticket_service.repository().get(ticket_id)
    if flows.restart(ticket, ticket_service.current_policy(), reason=f"restarted by {actor}") is None:
        raise IllegalTransition("the ticket has no flow to restart", details={"status": ticket.status})
    return describe_flow(ticket_id)
