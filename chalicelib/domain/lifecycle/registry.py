"""The one table of lifecycle actions (docs/domain.md "Code map"): every stage's rows, in stage
order - the order ``allowed_actions`` lists them in.
"""
from __future__ import annotations

from chalicelib.domain.lifecycle import callback, dispatch, handling, intake, repeats, review, supervision
from chalicelib.domain.lifecycle.action import Action

STAGES = (intake, dispatch, handling, review, callback, repeats, supervision)
ROWS: tuple[Action, ...] = tuple(r for stage in STAGES for r in stage.ROWS)
BY_ACTION: dict[str, Action] = {r.name: r for r in ROWS}
ACTIONS: frozenset[str] = frozenset(BY_ACTION)
# The parameters each action takes (anything else is a ValidationFailed: typos do not pass).
PARAMS: dict[str, frozenset[str]] = {r.name: r.params for r in ROWS}

if len(BY_ACTION) != len(ROWS):
    raise RuntimeError("an action has two rows")
