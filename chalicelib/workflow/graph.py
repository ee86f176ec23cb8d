"""The state machine's graph as the console draws it, for the admin page where there is no console.

Read from Step Functions itself (``DescribeStateMachine``: the deployed definition, the same the
console shows), turned into nodes and edges: every state (those of the handling Map's iterations
with the Map as their parent) and every transition (``Next``, a Choice's branches and default, a
Catch), with the kind of each. Cached per state machine ARN for the life of the process.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from chalicelib.aws import client


def _edges(name: str, state: dict[str, Any]) -> list[dict[str, str]]:
    edges = []
    if state.get("Next"):
        edges.append({"from": name, "to": state["Next"], "kind": "next"})
    for choice in state.get("Choices", []):
        edges.append({"from": name, "to": choice["Next"], "kind": "choice"})
    if state.get("Default"):
        edges.append({"from": name, "to": state["Default"], "kind": "default"})
    for catch in state.get("Catch", []):
        kind = "timeout" if catch.get("ErrorEquals") == ["States.Timeout"] else "catch"
        edges.append({"from": name, "to": catch["Next"], "kind": kind})
    return edges


def _walk(states: dict[str, Any], parent: str | None, start: str, nodes: list, edges: list) -> None:
    for name, state in states.items():
        nodes.append({"id": name, "type": state["Type"], "comment": state.get("Comment", ""), "parent": parent,
                      "start": name == start})
        edges.extend(_edges(name, state))
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            _walk(processor["States"], name, processor["StartAt"], nodes, edges)


def graph_of(definition: dict[str, Any]) -> dict[str, Any]:
    """Nodes and edges of an ASL document."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    _walk(definition["States"], None, definition["StartAt"], nodes, edges)
    return {"start": definition["StartAt"], "comment": definition.get("Comment", ""), "nodes": nodes, "edges": edges}


@lru_cache(maxsize=4)
def deployed_graph(state_machine_arn: str) -> dict[str, Any]:
    """The graph of the deployed state machine (one DescribeStateMachine per process)."""
    answer = client("stepfunctions").describe_state_machine(stateMachineArn=state_machine_arn)
    return graph_of(json.loads(answer["definition"]))
