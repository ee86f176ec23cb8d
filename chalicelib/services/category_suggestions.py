"""Category suggestions in the ticket use cases: suggest, record at registration, measure, train.

* :func:`suggest`: the categories of the tree for a text (the category model where it knows the
  category, keyword evidence otherwise: ``dispatch.category_model``); None when it cannot be worked
  out right now (advice only: registering never depends on it).
* :func:`take_shown` + :func:`attach` (``services.tickets.register``): the suggestion the agent was
  shown (the registration screen sends it back as ``category_suggestion``) or, for tickets from
  other channels and clients that send none, the one computed at registration, stored on each new
  ticket (``Ticket.category_suggestion``) in the registration's own transaction, with whether the
  category registered is the first suggestion.
* :func:`figures`: how good the stored suggestions were against the agents' final category (the
  ticket's category now, re-classified at acceptance if it was): top-1 and top-3 hit rates by
  method, from the tickets received in a range of days (the received-time index, Queries only).
* :func:`run_training`: the scheduled training of the category model.
"""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.ticket import BASIS_POINTS, CategorySuggestion, Outcome, Role, SuggestedCategory, Ticket
from chalicelib.observability import logger
from chalicelib.services import categories, category_keywords
from chalicelib.store.tickets import items_received_between, load_ticket

FIELD = "category_suggestion"
#: Roles whose registration screen shows suggestions and may send back what it showed.
SHOWN_BY = frozenset({Role.AGENT})
METHODS = ("keywords", "model")
ABSTAIN = ("no_match", "ambiguous")
ITEM_KEYS = {"code", "confidence", "method", "name", "path", "label", "level", "matched"}
MAX_DAYS = 92
MAX_TICKETS = 5000


def suggest(text: str, tree: Any = None) -> dict[str, Any] | None:
    """The suggestions for a text being typed (``items``, ``abstain``, ``method``), or None; ``tree``:
    the category tree (default: the one in force)."""
    from chalicelib.dispatch import category_model

    try:
        return category_model.suggest(text, tree if tree is not None else categories.tree(), category_keywords.custom()[0]).to_dict()
    except Exception:  # noqa: BLE001 - advice only: registering never depends on it
        logger.exception("category suggestion failed; the agent chooses in the cascader")
        return None


# --- recorded at registration -----------------------------------------------------------------------


def _bp(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1 or math.isnan(value):
        raise ValidationFailed("invalid category suggestion", details={f"{FIELD}.{name}": "a number from 0 to 1"})
    return int(round(float(value) * BASIS_POINTS))


def parse_shown(raw: Any, *, at: datetime) -> CategorySuggestion:
    """What the registration screen showed (the ``categories`` answer of ``POST /dispatch/recommend``),
    checked: at most 3 items of known categories, a confidence from 0 to 1, a known method."""
    def bad(path: str, why: str) -> ValidationFailed:
        return ValidationFailed("invalid category suggestion", details={f"{FIELD}{path}": why})

    if not isinstance(raw, dict):
        raise bad("", "an object: the categories answer of POST /dispatch/recommend")
    unknown = set(raw) - {"items", "abstain", "method", "model_version"}
    if unknown:
        raise bad("." + sorted(unknown)[0], "unknown field")
    items, abstain, method = raw.get("items"), raw.get("abstain"), raw.get("method", "keywords")
    version = raw.get("model_version")
    if not isinstance(items, list) or len(items) > 3:
        raise bad(".items", "a list of at most 3 suggestions")
    if abstain is not None and abstain not in ABSTAIN:
        raise bad(".abstain", "null, no_match or ambiguous")
    if method not in METHODS:
        raise bad(".method", "keywords or model")
    if version is not None and (not isinstance(version, str) or not 0 < len(version) <= 64):
        raise bad(".model_version", "a model version")
    if bool(items) == (abstain is not None):
        raise bad(".abstain", "set exactly when there are no items")
    tree = categories.tree()
    parsed = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - ITEM_KEYS:
            raise bad(f".items[{i}]", "an object with code, confidence and method")
        if not isinstance(item.get("code"), str) or item["code"] not in tree:
            raise bad(f".items[{i}].code", "a category of the tree")
        if item.get("method", "keywords") not in METHODS:
            raise bad(f".items[{i}].method", "keywords or model")
        parsed.append(SuggestedCategory(item["code"], _bp(item.get("confidence"), f"items[{i}].confidence"),
                                        item.get("method", "keywords")))
    return CategorySuggestion(items=parsed, method=method, source="shown", at=at, abstain=abstain,
                              model_version=version)


def take_shown(data: Any, role: str, *, at: datetime) -> tuple[Any, CategorySuggestion | None]:
    """The submission without ``category_suggestion``, and that suggestion parsed (agents only: from
    anyone else the field stays and the intake refuses it as unknown)."""
    if not isinstance(data, dict) or FIELD not in data or role not in SHOWN_BY:
        return data, None
    raw = data[FIELD]
    rest = {k: v for k, v in data.items() if k != FIELD}
    return rest, (None if raw is None else parse_shown(raw, at=at))


def computed(text: str, *, at: datetime) -> CategorySuggestion | None:
    """The suggestion worked out now for a ticket's text (None when it cannot be, or no tree is stored)."""
    tree = categories.stored()
    found = suggest(text, tree) if text.strip() and tree.nodes else None
    if found is None:
        return None
    return CategorySuggestion(
        items=[SuggestedCategory(i["code"], int(round(i["confidence"] * BASIS_POINTS)), i.get("method", "keywords"))
               for i in found["items"]],
        method=found["method"], source="computed", at=at, abstain=found["abstain"],
        model_version=found.get("model_version"))


def _taken(suggestion: CategorySuggestion, ticket: Ticket) -> bool | None:
    if not suggestion.items or not ticket.category:
        return None
    return ticket.category == suggestion.items[0].code


def attach(outcomes: list[Outcome], shown: CategorySuggestion | None, *, now: datetime) -> list[Outcome]:
    """The registered outcomes with the suggestion on each ticket (shown, else computed from its text)."""
    out = []
    for outcome in outcomes:
        ticket = outcome.ticket
        suggestion = shown or computed("\n".join(p for p in (ticket.request, ticket.facts) if p), at=now)
        if suggestion is None:
            out.append(outcome)
            continue
        suggestion = replace(suggestion, first_taken=_taken(suggestion, ticket))
        out.append(Outcome(ticket=replace(ticket, category_suggestion=suggestion), events=outcome.events,
                           outbox=outcome.outbox))
    return out


# --- how good they were -----------------------------------------------------------------------------


def check_range(start: Any, end: Any, *, today: date) -> tuple[date, date]:
    """The days to measure (default: the last 30); at most ``MAX_DAYS``; ValidationFailed otherwise."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=29)
    except (TypeError, ValueError):
        raise ValidationFailed("invalid dates", details={"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}) from None
    if first > last:
        raise ValidationFailed("invalid dates", details={"from": "not after to"})
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed("range too long", details={"from": f"at most {MAX_DAYS} days"})
    return first, last


def _hit(tree: Any, final: str, suggested: str) -> bool:
    """The suggestion was right: the final category is it, or lies under it (a 事项 suggested, one of
    its 具体问题 chosen)."""
    return suggested in tree and tree.descends(final, suggested)


def _rates(row: dict[str, int]) -> dict[str, Any]:
    n, suggested = row["n"], row["suggested"]
    return {**row, "top1_rate": round(row["top1"] / n, 4) if n else None,
            "top3_rate": round(row["top3"] / n, 4) if n else None,
            "top1_when_suggested": round(row["top1"] / suggested, 4) if suggested else None}


def figures(start: date, end: date, *, limit: int = MAX_TICKETS) -> dict[str, Any]:
    """Hit rates of the stored suggestions of the tickets received from ``start`` to ``end``.

    Counted: tickets with a stored suggestion and a category of the tree now. ``n`` per method; an
    abstention counts as a miss in ``top1_rate``/``top3_rate`` (``top1_when_suggested`` leaves
    them out). ``first_taken``: how often the agent registered the first suggestion."""
    tree = categories.tree()
    empty = {"n": 0, "suggested": 0, "abstained": 0, "top1": 0, "top3": 0}
    rows: dict[str, dict[str, int]] = {"all": dict(empty)}
    read = with_suggestion = taken = offered = 0
    truncated = False
    for item in items_received_between(start, end):
        if read >= limit:
            truncated = True
            break
        read += 1
        ticket = load_ticket(item)
        s = ticket.category_suggestion
        if s is None:
            continue
        with_suggestion += 1
        if s.first_taken is not None:
            offered += 1
            taken += bool(s.first_taken)
        final = tree.resolve(ticket.category)
        if final is None:
            continue
        codes = [i.code for i in s.items]
        for key in ("all", s.method):
            row = rows.setdefault(key, dict(empty))
            row["n"] += 1
            row["suggested" if codes else "abstained"] += 1
            row["top1"] += bool(codes) and _hit(tree, final, codes[0])
            row["top3"] += any(_hit(tree, final, c) for c in codes[:3])
    by_method = {m: _rates(rows.get(m, dict(empty))) for m in METHODS}
    return {"from": start.isoformat(), "to": end.isoformat(), "tickets": read, "with_suggestion": with_suggestion,
            "truncated": truncated, "overall": _rates(rows["all"]), "by_method": by_method,
            "first_taken": {"n": offered, "taken": taken, "rate": round(taken / offered, 4) if offered else None}}


# --- training ---------------------------------------------------------------------------------------


def run_training(now: datetime) -> dict[str, Any]:
    """The scheduled training of the category model (``dispatch.category_model_training``)."""
    from chalicelib.dispatch import category_model_training

    try:
        return category_model_training.train(categories.tree(), category_keywords.custom(fresh=True)[0],
                                             now=now).to_dict()
    except ValidationFailed as exc:
        logger.error("category model training refused its data", extra={"details": exc.details})
        return {"status": "refused", "details": exc.details}
