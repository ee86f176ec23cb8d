"""The lifecycle of a ticket (DOMAIN.md "The lifecycle of a ticket"; docs/domain.md "Code map"):
every action, who may take it, from which state, and what it does to the ticket and its clocks.

One row per action (:class:`Action`: sources, roles, parameters, guard, share test, handler,
targets), declared by its stage module - ``intake``, ``dispatch``, ``handling``, ``review``,
``callback``, ``repeats``, ``supervision`` - and gathered in one table by ``registry``.

``apply`` is pure: it copies the ticket, runs the action's handler on the copy and returns the
new ticket (version + 1) with exactly one timeline event and one outbox message. A failed
action raises a DomainError and leaves nothing changed:

* ValidationFailed - bad or missing parameters (``details`` per field);
* Forbidden - the role may not take the action, or the assignment is another department's;
* IllegalTransition - the ticket (or assignment) is not in a state that allows it;
* Conflict - the action was already done (a warning already recorded, an urging answered).
"""
from __future__ import annotations

from chalicelib.domain.clocks import clock_key, clock_name
from chalicelib.domain.deadlines import supervision_due
from chalicelib.domain.lifecycle.action import SAME, Action, UndeclaredTarget
from chalicelib.domain.lifecycle.context import Context, in_scope
from chalicelib.domain.lifecycle.engine import action_shares, allowed_actions, apply, can_apply
from chalicelib.domain.lifecycle.registry import ACTIONS, BY_ACTION, PARAMS, ROWS
from chalicelib.domain.vocabulary import (
    ACCEPTING,
    AFTER_CLOSURE,
    CALLING_BACK,
    HANDLING,
    MERGEABLE,
    NOTICE_DUE,
    OPEN,
    RESULTS_BY_KIND,
)

__all__ = [
    "ACCEPTING", "ACTIONS", "AFTER_CLOSURE", "Action", "BY_ACTION", "CALLING_BACK", "Context", "HANDLING",
    "MERGEABLE", "NOTICE_DUE", "OPEN", "PARAMS", "RESULTS_BY_KIND", "ROWS", "SAME", "UndeclaredTarget",
    "action_shares", "allowed_actions", "apply", "can_apply", "clock_key", "clock_name", "in_scope",
    "supervision_due",
]
