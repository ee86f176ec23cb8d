"""One row per lifecycle action (docs/domain.md "Code map"): where it may start, who may take
it, the parameters it takes, when it is open to the actor, what it does and where it may lead.

The stage modules (intake, dispatch, handling, review, callback, repeats, supervision) each
declare their rows; ``registry.py`` puts them in one table, in stage order.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.lifecycle.context import acts_on
from chalicelib.domain.ticket import Actor, Assignment, Ticket

if TYPE_CHECKING:
    from chalicelib.domain.lifecycle.context import Context

SAME = "="  # in ``targets``: the action may leave the ticket's status as it is (an assignment's may change)

Guard = Callable[[Ticket, Actor], bool]
Handler = Callable[["Context"], str]
ShareTest = Callable[[Ticket, Assignment], bool]


class UndeclaredTarget(RuntimeError):
    """A handler moved a ticket to a status its row does not name (a bug in the rules, not in input)."""


@dataclass(frozen=True)
class Action:
    """A lifecycle action.

    ``share`` is set for actions a department takes on its own share (assignment): which shares
    qualify. ``guard`` says, beyond status and role, whether the actor could take it now
    (parameters aside); without one, an action with ``share`` needs a qualifying share of the
    actor's department, any other is open. ``handler`` changes the ticket copy and returns the
    event type. ``targets`` are the statuses it may lead to (``SAME``: it may stay).
    """

    name: str
    sources: frozenset[str]
    roles: frozenset[str]
    params: frozenset[str]
    targets: frozenset[str]
    handler: Handler
    guard: Guard | None = None
    share: ShareTest | None = None

    def shares(self, ticket: Ticket, actor: Actor) -> list[str]:
        """Ids of the actor's department's shares this action could be about now (not those the lead
        assigned to another handler)."""
        if self.share is None:
            return []
        return [a.id for a in ticket.assignments if acts_on(actor, a) and self.share(ticket, a)]

    def open_to(self, ticket: Ticket, actor: Actor) -> bool:
        """Could ``actor`` take this action on ``ticket`` now (role, status, guard; parameters aside)?"""
        if actor.role not in self.roles or ticket.status not in self.sources:
            return False
        if self.guard is not None:
            return self.guard(ticket, actor)
        return self.share is None or bool(self.shares(ticket, actor))

    def check_target(self, before: str, after: str) -> None:
        if after in self.targets or (after == before and SAME in self.targets):
            return
        raise UndeclaredTarget(f"{self.name} moved a ticket from {before} to {after}, not in its row")


def row(name: str, sources: Iterable[str], roles: Iterable[str], params: str, targets: str, handler: Handler, *,
        guard: Guard | None = None, share: ShareTest | None = None) -> Action:
    """A row from short forms: ``params`` and ``targets`` as space-separated names."""
    return Action(name, frozenset(sources), frozenset(roles), frozenset(params.split()), frozenset(targets.split()),
                  handler, guard, share)
