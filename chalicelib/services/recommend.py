"""Smart dispatch in the ticket use cases: recommend on register, learn from corrections, settings.

* :func:`prepare` + :func:`attach` (called by ``services.tickets.register``): the jurisdiction
  (属地) from the address and the text, filled in as the ticket's district when the intake left it
  empty and the gazetteer is sure; then the model's top 3 departments with probabilities, stored on
  each new ticket as data (``Ticket.recommendation``). Inference is CPU only: no I/O beyond the
  container's periodic check for a promoted model (``chalicelib.dispatch.registry``), so
  registering keeps its budget of one Query and one transaction.
* :func:`corrections` (a store companion around ``services.tickets.act``): a dispatcher's decision
  that differs from the model's first choice is stored as a labelled example, in the same
  transaction as the decision.
* :func:`dispatch_settings` / :func:`save_dispatch_settings`: auto-dispatch on or off, a minimum
  probability that overrides the model's threshold, and channels never auto-dispatched.

Heavy modules (numpy, jieba) load on the first recommendation, never on import.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Sequence

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.privacy import mask_text
from chalicelib.domain.ticket import (
    BASIS_POINTS,
    CENTER,
    Channel,
    DispatchRecommendation,
    Jurisdiction,
    Outcome,
    RankedDepartment,
    Role,
    Ticket,
    TimelineEvent,
)
from chalicelib.observability import logger
from chalicelib.store import directory
from chalicelib.store.tickets import Companion

TOP_K = 3
# The gazetteer's confidence from which a located district becomes the ticket's district.
CONFIDENT_DISTRICT_BP = 6000
SETTINGS_KEY = "DISPATCH"
SETTINGS_CACHE_SECONDS = 30.0
# Upper-level assignments (上级交办) carry the upper level's instructions, which the model does not
# read: by default a dispatcher looks at them before they go out.
DEFAULT_EXCLUDED_CHANNELS: tuple[str, ...] = (Channel.UPPER_LEVEL.value,)
MIN_OVERRIDE_BP = 5000


def to_bp(value: float) -> int:
    """A probability or confidence (0..1) in basis points."""
    return max(0, min(BASIS_POINTS, int(round(float(value) * BASIS_POINTS))))


def ticket_text(ticket: Ticket) -> str:
    """What the model reads: the request and the facts."""
    return "\n".join(part for part in (ticket.request, ticket.facts) if part)


# --- on register ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """The submission to register (district filled in when located) and where it was located."""

    data: Any
    jurisdiction: Jurisdiction | None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _address(data: dict) -> str | None:
    """The jurisdiction follows the respondent's address; without one, the complainant's."""
    for party in ("respondent", "complainant"):
        raw = data.get(party)
        if isinstance(raw, dict) and _str(raw.get("address")):
            return raw["address"]
    return None


def locate(address: str | None, text: str | None) -> Jurisdiction | None:
    """The jurisdiction from the gazetteer, or None when unknown (never a confident guess)."""
    from chalicelib.dispatch.jurisdiction import locate as gazetteer_locate

    found = gazetteer_locate(address, text)
    if found is None:
        return None
    return Jurisdiction(district=found.district, district_name=found.district_name, place=found.place,
                        place_kind=found.kind, subdistrict=found.subdistrict, confidence_bp=to_bp(found.confidence))


def prepare(data: Any) -> Prepared:
    """Locate a submission; an empty district becomes the located one when the gazetteer is sure.

    A submission that is not even an object is passed on untouched (the intake rejects it).
    """
    if not isinstance(data, dict):
        return Prepared(data, None)
    text = "\n".join(t for t in (_str(data.get("request")), _str(data.get("facts"))) if t)
    try:
        jurisdiction = locate(_address(data), text or None)
    except (OSError, ValueError) as exc:  # the gazetteer file is part of the build: report, do not block intake
        logger.error("jurisdiction lookup failed", extra={"error": type(exc).__name__})
        jurisdiction = None
    if (jurisdiction is not None and data.get("district") is None
            and (jurisdiction.confidence_bp or 0) >= CONFIDENT_DISTRICT_BP):
        data = {**data, "district": jurisdiction.district}
    return Prepared(data, jurisdiction)


def recommendations(texts: Sequence[str], jurisdiction: Jurisdiction | None, *,
                    now: datetime) -> list[DispatchRecommendation] | None:
    """The active model's advice for each text; None when no model can be used right now."""
    from chalicelib.dispatch.registry import active_predictor

    if not texts or not all(t.strip() for t in texts):
        return None
    try:
        predictor = active_predictor()
        ranked = predictor.recommend_many(texts, k=TOP_K)
    except Exception:  # noqa: BLE001 - a broken model must never stop a citizen's ticket from being registered
        logger.exception("dispatch recommendation failed; the ticket goes to the dispatcher without one")
        return None
    return [DispatchRecommendation(
        model_version=r.model_version,
        departments=[RankedDepartment(department=code, probability_bp=to_bp(p)) for code, p in r.top],
        # not capped: a threshold above 1 (10 000 bp) means the model never dispatches alone
        threshold_bp=max(0, int(round(r.threshold * BASIS_POINTS))), auto=bool(r.auto), at=now,
        jurisdiction=jurisdiction, abstain=r.abstain,
        familiarity_bp=None if r.familiarity is None else to_bp(r.familiarity),
    ) for r in ranked]


def attach(outcomes: list[Outcome], jurisdiction: Jurisdiction | None, *, now: datetime) -> list[Outcome]:
    """The registered outcomes with the recommendation on each ticket and in its ``registered`` event."""
    recs = recommendations([ticket_text(o.ticket) for o in outcomes], jurisdiction, now=now)
    if recs is None:
        return outcomes
    out = []
    for outcome, rec in zip(outcomes, recs):
        top = rec.departments[0]
        summary = {"model_version": rec.model_version, "department": top.department,
                   "probability_bp": top.probability_bp, "auto": rec.auto,
                   "district": jurisdiction.district if jurisdiction else None}
        events = [replace(e, data={**e.data, "recommendation": summary}) if e.type == "registered" else e
                  for e in outcome.events]
        out.append(Outcome(ticket=replace(outcome.ticket, recommendation=rec), events=events,
                           outbox=outcome.outbox))
    return out


def suggest(text: str, address: str | None, *, now: datetime) -> DispatchRecommendation | None:
    """The model's advice on a text being typed (an agent registering a call): nothing is stored."""
    located = locate(address, text)
    recs = recommendations([text], located, now=now)
    return recs[0] if recs else None


def suggest_categories(text: str) -> dict[str, Any] | None:
    """Categories of the tree for a text being typed (``services.category_suggestions``):
    up to three with a confidence, or an abstention; None when they cannot be worked out right now."""
    from chalicelib.services import category_suggestions

    return category_suggestions.suggest(text)  # the category model where it knows the category, else keywords


# --- learning from corrections ----------------------------------------------------------------


def _decided(event: TimelineEvent, top: str) -> tuple[str, str] | None:
    """(label, decision) when ``event`` is a dispatcher's choice of department other than ``top``."""
    if event.actor.role != Role.DISPATCHER:
        return None
    data = event.data or {}
    if event.type == "dispatched":
        shares = [a for a in data.get("assignments") or [] if isinstance(a, dict)]
        primary = [a["department"] for a in shares if a.get("role") in ("single", "lead", "parallel")]
        if not primary or top in primary:
            return None
        return primary[0], "dispatch"
    if event.type == "non_acceptance_reviewed" and data.get("decision") == "hand_to_local":
        label = data.get("department")
        return (label, "hand_to_local") if isinstance(label, str) and label != top else None
    if event.type == "closure_reviewed" and data.get("decision") == "transfer":
        label = data.get("to_department")
        return (label, "transfer") if isinstance(label, str) and label != top else None
    return None


def corrections(outcomes: Sequence[Outcome]) -> list[Companion]:
    """Labelled examples to store with these outcomes: decisions that differ from the model.

    A store companion builder: ``with companions(corrections): repo.save(...)`` writes them in the
    ticket's own transaction, so an example exists exactly when the decision does.
    """
    from chalicelib.dispatch.corrections import LabelledExample, item_for

    items: list[Companion] = []
    for outcome in outcomes:
        ticket = outcome.ticket
        rec = ticket.recommendation
        if rec is None or rec.top is None:
            continue
        for event in outcome.events:
            decided = _decided(event, rec.top.department)
            if decided is None or decided[0] == CENTER:
                continue
            label, decision = decided
            example = LabelledExample(
                text=mask_text(ticket_text(ticket)) or "", label=label, district=ticket.district,
                ticket_id=ticket.id, ticket_version=ticket.version, model_version=rec.model_version,
                predicted=rec.top.department, predicted_probability_bp=rec.top.probability_bp,
                decision=decision, decided_by=event.actor.username, at=event.at, kind=ticket.kind,
                channel=ticket.channel)
            items.append(Companion(item=item_for(example)))
    return items


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchSettings:
    """How far the platform dispatches by itself."""

    auto_dispatch: bool = True
    min_probability_bp: int | None = None  # when set, replaces the model's threshold
    exclude_channels: tuple[str, ...] = DEFAULT_EXCLUDED_CHANNELS
    version: int = 0

    def threshold_bp(self, model_threshold_bp: int) -> int:
        """The probability the first department must reach for an automatic dispatch."""
        return self.min_probability_bp if self.min_probability_bp is not None else model_threshold_bp

    def to_dict(self) -> dict[str, Any]:
        return {"auto_dispatch": self.auto_dispatch,
                "min_probability": None if self.min_probability_bp is None else self.min_probability_bp / BASIS_POINTS,
                "exclude_channels": list(self.exclude_channels), "_version": self.version,
                "default": self.version == 0}


_lock = threading.Lock()
_cached: tuple[float, DispatchSettings] | None = None


def _from_entry(entry: dict[str, Any] | None) -> DispatchSettings:
    if entry is None:
        return DispatchSettings()
    bp = entry.get("min_probability_bp")
    return DispatchSettings(auto_dispatch=bool(entry.get("auto_dispatch", True)),
                            min_probability_bp=int(bp) if bp is not None else None,
                            exclude_channels=tuple(str(c) for c in entry.get("exclude_channels") or ()),
                            version=int(entry.get("_version") or 0))


def dispatch_settings(*, fresh: bool = False) -> DispatchSettings:
    """The settings in force (read at most every ``SETTINGS_CACHE_SECONDS`` per container)."""
    global _cached
    now = time.monotonic()
    with _lock:
        hit = _cached
    if hit is not None and not fresh and now - hit[0] < SETTINGS_CACHE_SECONDS:
        return hit[1]
    settings = _from_entry(directory.find_entry(directory.CONFIG, SETTINGS_KEY))
    with _lock:
        _cached = (now, settings)
    return settings


def forget_settings() -> None:
    """Drop the cached settings (after a change, and in tests)."""
    global _cached
    with _lock:
        _cached = None


def save_dispatch_settings(body: dict[str, Any], *, expected_version: int, actor: str) -> DispatchSettings:
    """Validate and store new settings (optimistic locking on the document)."""
    auto = body.get("auto_dispatch")
    if not isinstance(auto, bool):
        raise ValidationFailed("invalid settings", details={"auto_dispatch": "true or false"})
    raw = body.get("min_probability")
    bp: int | None = None
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not MIN_OVERRIDE_BP <= to_bp(raw) <= BASIS_POINTS:
            raise ValidationFailed("invalid settings", details={"min_probability": "null, or a number from 0.5 to 1"})
        bp = to_bp(raw)
    channels = body.get("exclude_channels", list(DEFAULT_EXCLUDED_CHANNELS))
    known = {c.value for c in Channel}
    if not isinstance(channels, list) or not all(isinstance(c, str) and c in known for c in channels):
        raise ValidationFailed("invalid settings", details={"exclude_channels": "channels among " + ", ".join(sorted(known))})
    stored = {"auto_dispatch": auto, "min_probability_bp": bp, "exclude_channels": sorted(set(channels)),
              "updated_by": actor}
    version = directory.put_entry(directory.CONFIG, SETTINGS_KEY, stored, expected_version=expected_version)
    forget_settings()
    return DispatchSettings(auto_dispatch=auto, min_probability_bp=bp, exclude_channels=tuple(stored["exclude_channels"]),
                            version=version)
