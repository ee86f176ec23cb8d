"""Registration (登记): checking the facts a ticket needs and creating it (docs/domain.md "Code map").

* Art. 10: the facts every submission must carry (who complains, about whom, what they ask,
  what happened). Which facts are required depends on the kind: an inquiry has no
  respondent, a report may leave out the reporter's address; see :data:`REQUIRED`.
* Art. 9: a submission that is both a complaint and a report becomes two linked tickets.
* Art. 12: several complainants about one dispute may file one joint complaint
  (``co_complainants``), or join an open ticket later (lifecycle ``join``).
* Art. 35: a repeat by the same complainant about the same respondent and facts is not
  processed again; with new facts it is merged into the open ticket
  (:func:`classify_repeat` decides; lifecycle ``merge_repeat`` merges).

The channel decides where a new ticket waits: web submissions in the agents' internet inbox,
upper-level assignments as "not yet accepted", everything else pending acceptance. The
acceptance clock (7 working days, Art. 15) starts at receipt.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

from chalicelib.domain.clocks import ClockName, start_clock
from chalicelib.domain.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.domain.ticket import (
    Actor,
    Channel,
    JoinedComplainant,
    Kind,
    OutboxMessage,
    Outcome,
    Party,
    Policy,
    Priority,
    Respondent,
    Role,
    Status,
    Ticket,
    TimelineEvent,
    aware,
    encode,
)
from chalicelib.domain.vocabulary import MERGEABLE

MAX_NAME = 100
MAX_ADDRESS = 300
MAX_REQUEST = 2000
MAX_FACTS = 10_000
MAX_CODE = 64
MAX_CO_COMPLAINANTS = 200
INVALID_CHARACTER = "contains an invalid character (a lone UTF-16 surrogate)"

# Mainland mobile (11 digits) or a landline with area code (0xx-xxxxxxxx, dash optional).
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
# 18-character resident identity number (last character may be X).
ID_NUMBER_RE = re.compile(r"^\d{17}[\dXx]$")
# Codes of departments, districts, platforms: letters, digits and _ . : -
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")

# Which facts each kind needs (Art. 10 for complaints; the others need what handling needs).
REQUIRED: Mapping[str, frozenset[str]] = {
    Kind.COMPLAINT: frozenset({"complainant.name", "complainant.phone", "complainant.address",
                               "respondent.name", "respondent.address", "request", "facts"}),
    Kind.REPORT: frozenset({"complainant.name", "complainant.phone",
                            "respondent.name", "respondent.address", "facts"}),
    Kind.INQUIRY: frozenset({"complainant.name", "complainant.phone", "request"}),
    Kind.SUGGESTION: frozenset({"complainant.name", "complainant.phone", "request"}),
    Kind.HELP_REQUEST: frozenset({"complainant.name", "complainant.phone", "complainant.address",
                                  "request", "facts"}),
}

# Who may register on which channel.
CHANNEL_ROLES: Mapping[str, frozenset[str]] = {
    Channel.WEB: frozenset({Role.CITIZEN, Role.SYSTEM}),
    Channel.PHONE: frozenset({Role.AGENT}),
    Channel.WALK_IN: frozenset({Role.AGENT}),
    Channel.MAIL: frozenset({Role.AGENT}),
    Channel.HOTLINE_12345: frozenset({Role.AGENT, Role.PARTNER, Role.SYSTEM}),
    Channel.UPPER_LEVEL: frozenset({Role.AGENT, Role.PARTNER, Role.SYSTEM}),
}

# Where a new ticket waits, by channel.
INITIAL_STATUS: Mapping[str, str] = {
    Channel.WEB: Status.INTERNET_INBOX,
    Channel.UPPER_LEVEL: Status.UPPER_LEVEL_PENDING,
    Channel.PHONE: Status.PENDING_ACCEPTANCE,
    Channel.HOTLINE_12345: Status.PENDING_ACCEPTANCE,
    Channel.WALK_IN: Status.PENDING_ACCEPTANCE,
    Channel.MAIL: Status.PENDING_ACCEPTANCE,
}

KINDS = frozenset(k.value for k in Kind)
CHANNELS = frozenset(c.value for c in Channel)
PRIORITIES = frozenset(p.value for p in Priority)
MIXED = frozenset({Kind.COMPLAINT, Kind.REPORT})  # the one mix Art. 9 splits

_FIELDS = frozenset({
    "kind", "channel", "complainant", "respondent", "request", "facts", "report_facts",
    "report_request", "category", "priority", "district", "external_ref", "received_at",
    "co_complainants",
})
_PARTY_KEYS = frozenset({"name", "phone", "address", "id_number"})
_RESPONDENT_KEYS = frozenset({"name", "address", "phone", "credit_code"})


# --- field checks (shared with the lifecycle) -----------------------------------------------


class _Errors(dict):
    """Collects per-field problems so the caller sees them all at once."""

    def raise_if_any(self, message: str) -> None:
        if self:
            raise ValidationFailed(message, details=dict(self))


def _clean_text(value: Any, name: str, errors: dict, *, required: bool, max_len: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = "required"
        return None
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return None
    value = value.strip()
    if len(value) > max_len:
        errors[name] = f"at most {max_len} characters"
        return None
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        errors[name] = "contains control characters"
        return None
    if any(is_surrogate(ch) for ch in value):
        errors[name] = INVALID_CHARACTER
        return None
    return value


def check_text(value: Any, name: str, *, required: bool = True, max_len: int = MAX_REQUEST) -> str | None:
    """A trimmed, non-blank string of at most ``max_len`` characters; ValidationFailed otherwise."""
    errors: dict[str, str] = {}
    out = _clean_text(value, name, errors, required=required, max_len=max_len)
    if errors:
        raise ValidationFailed(f"invalid {name}", details=errors)
    return out


def check_code(value: Any, name: str, *, required: bool = True) -> str | None:
    """A department / district / platform code (letters, digits, ``_ . : -``)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not CODE_RE.match(value):
        raise ValidationFailed(f"invalid {name}", details={name: "must be a code of letters, digits, _ . : -"})
    return value


def named_codes(data: Any, keys: Sequence[str]) -> list[tuple[str, str]]:
    """``(key, code)`` for each string (or string in a list) under ``keys`` of ``data``."""
    if not isinstance(data, Mapping):
        return []
    named: list[tuple[str, str]] = []
    for key in keys:
        value = data.get(key)
        named += [(key, v) for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
    return named


_MOBILE_DIGITS = re.compile(r"^(?:0086|86|0)?(1[3-9]\d{9})$")


def normalize_phone(phone: str) -> str:
    """One form per phone, for repeat detection and per-phone limits.

    Digits only (``0571-88888888`` = ``057188888888``), and a mobile keeps its 11 digits whatever
    was put in front: a trunk ``0`` (``013700009999``), ``+86``, ``86`` or ``0086``.
    """
    digits = re.sub(r"\D", "", phone)
    mobile = _MOBILE_DIGITS.match(digits)
    return mobile.group(1) if mobile else digits


def is_surrogate(ch: str) -> bool:
    """A lone UTF-16 surrogate (JSON ``"\\ud800"``): not a character, cannot be stored as UTF-8."""
    return "\ud800" <= ch <= "\udfff"


def surrogate_fields(value: Any, path: str = "") -> dict[str, str]:
    """``{field path: problem}`` for every string (or key) in ``value`` holding a lone surrogate."""
    found: dict[str, str] = {}
    if isinstance(value, str):
        if any(is_surrogate(ch) for ch in value):
            found[path or "body"] = INVALID_CHARACTER
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key_text = str(key)
            if any(is_surrogate(ch) for ch in key_text):
                found[path or "body"] = INVALID_CHARACTER
                continue
            found.update(surrogate_fields(item, f"{path}.{key_text}" if path else key_text))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.update(surrogate_fields(item, f"{path}[{i}]" if path else f"[{i}]"))
    return found


def parse_party(raw: Any, prefix: str, required: frozenset[str], errors: dict) -> Party | None:
    """A complainant from its dict; problems go to ``errors`` as ``prefix.field``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        errors[prefix] = "must be an object"
        return None
    for key in set(raw) - _PARTY_KEYS:
        errors[f"{prefix}.{key}"] = "unknown field"
    values: dict[str, str | None] = {}
    limits = {"name": MAX_NAME, "phone": 20, "address": MAX_ADDRESS, "id_number": 18}
    for key, limit in limits.items():
        values[key] = _clean_text(raw.get(key), f"{prefix}.{key}", errors,
                                  required=f"complainant.{key}" in required, max_len=limit)
    if values["phone"] and not PHONE_RE.match(values["phone"]):
        errors[f"{prefix}.phone"] = "must be a mainland mobile (11 digits) or a landline with area code"
    if values["id_number"] and not ID_NUMBER_RE.match(values["id_number"]):
        errors[f"{prefix}.id_number"] = "must be an 18-character resident ID number"
    if values["id_number"]:
        values["id_number"] = values["id_number"].upper()
    return Party(**values)


def parse_respondent(raw: Any, required: frozenset[str], errors: dict) -> Respondent | None:
    """The respondent (被投诉/被举报对象), or None when the kind has none and none was given."""
    needs = {"respondent.name", "respondent.address"} & required
    if raw is None and not needs:
        return None
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        errors["respondent"] = "must be an object"
        return None
    for key in set(raw) - _RESPONDENT_KEYS:
        errors[f"respondent.{key}"] = "unknown field"
    name = _clean_text(raw.get("name"), "respondent.name", errors, required=True, max_len=MAX_NAME * 2)
    address = _clean_text(raw.get("address"), "respondent.address", errors,
                          required="respondent.address" in required, max_len=MAX_ADDRESS)
    phone = _clean_text(raw.get("phone"), "respondent.phone", errors, required=False, max_len=20)
    credit = _clean_text(raw.get("credit_code"), "respondent.credit_code", errors, required=False, max_len=18)
    if name is None:
        return None
    return Respondent(name=name, address=address, phone=phone, credit_code=credit)


def _parse_kinds(raw: Any, errors: dict) -> list[str]:
    kinds = [raw] if isinstance(raw, str) else raw
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        errors["kind"] = "required: one of " + ", ".join(sorted(KINDS)) + " (or [complaint, report])"
        return []
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        errors["kind"] = "unknown kind: " + ", ".join(unknown)
        return []
    distinct = list(dict.fromkeys(kinds))
    if len(distinct) > 1 and set(distinct) != MIXED:
        errors["kind"] = "only a complaint that is also a report is split (Art. 9)"
        return []
    return [Kind.COMPLAINT.value, Kind.REPORT.value] if len(distinct) > 1 else distinct


def _parse_received_at(raw: Any, now: datetime, errors: dict) -> datetime:
    if raw is None:
        return now
    try:
        received = aware(datetime.fromisoformat(raw) if isinstance(raw, str) else raw, "received_at")
    except (ValueError, TypeError):
        errors["received_at"] = "must be ISO 8601 with a UTC offset"
        return now
    except ValidationFailed as exc:
        errors.update(exc.details)
        return now
    if received > now:
        errors["received_at"] = "must not be in the future"
        return now
    return received


@dataclass(frozen=True)
class Submission:
    """A validated registration: the facts shared by every ticket it produces."""

    kinds: list[str]
    channel: str
    complainant: Party
    respondent: Respondent | None
    request: str
    facts: str
    report_request: str | None
    report_facts: str | None
    category: str | None
    priority: str
    district: str | None
    external_ref: str | None
    received_at: datetime
    co_complainants: list[Party]


def validate_submission(data: Any, *, now: datetime) -> Submission:
    """Check a registration payload; ValidationFailed lists every problem by field."""
    errors = _Errors()
    if not isinstance(data, Mapping):
        raise ValidationFailed("the submission must be an object", details={"body": "must be an object"})
    for key in set(data) - _FIELDS:
        errors[key] = "unknown field"
    kinds = _parse_kinds(data.get("kind"), errors)
    required = frozenset().union(*(REQUIRED[k] for k in kinds)) if kinds else frozenset()
    channel = data.get("channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        errors["channel"] = "required: one of " + ", ".join(sorted(CHANNELS))
    complainant = parse_party(data.get("complainant"), "complainant", required, errors)
    respondent = parse_respondent(data.get("respondent"), required, errors)
    request = _clean_text(data.get("request"), "request", errors, required="request" in required,
                          max_len=MAX_REQUEST)
    facts = _clean_text(data.get("facts"), "facts", errors, required="facts" in required, max_len=MAX_FACTS)
    report_request = _clean_text(data.get("report_request"), "report_request", errors, required=False,
                                 max_len=MAX_REQUEST)
    report_facts = _clean_text(data.get("report_facts"), "report_facts", errors, required=False,
                               max_len=MAX_FACTS)
    if (report_facts or report_request) and set(kinds) != MIXED:
        errors["report_facts"] = "only for a complaint that is also a report"
    category = _clean_text(data.get("category"), "category", errors, required=False, max_len=MAX_CODE)
    priority = data.get("priority", Priority.NORMAL)
    if not isinstance(priority, str) or priority not in PRIORITIES:
        errors["priority"] = "must be one of " + ", ".join(sorted(PRIORITIES))
    district = data.get("district")
    if district is not None and (not isinstance(district, str) or not CODE_RE.match(district)):
        errors["district"] = "must be a district code"
    external_ref = _clean_text(data.get("external_ref"), "external_ref", errors, required=False, max_len=128)
    received_at = _parse_received_at(data.get("received_at"), now, errors)
    co_raw = data.get("co_complainants") or []
    co: list[Party] = []
    if not isinstance(co_raw, list) or len(co_raw) > MAX_CO_COMPLAINANTS:
        errors["co_complainants"] = f"must be a list of at most {MAX_CO_COMPLAINANTS} complainants"
    else:
        party_required = frozenset(r for r in required if r.startswith("complainant."))
        for i, raw in enumerate(co_raw):
            party = parse_party(raw, f"co_complainants[{i}]", party_required | {"complainant.name",
                                                                                 "complainant.phone"}, errors)
            if party is not None:
                co.append(party)
        phones = [normalize_phone(p.phone) for p in [complainant, *co] if p is not None and p.phone]
        if len(phones) != len(set(phones)):
            errors["co_complainants"] = "each complainant must have a different phone"
    errors.raise_if_any("the submission is incomplete or invalid")
    assert complainant is not None
    return Submission(
        kinds=kinds, channel=channel, complainant=complainant, respondent=respondent,
        request=request or "", facts=facts or "", report_request=report_request,
        report_facts=report_facts, category=category, priority=priority, district=district,
        external_ref=external_ref, received_at=received_at, co_complainants=co,
    )


# --- registration ---------------------------------------------------------------------------


def register(
    data: dict,
    *,
    actor: Actor,
    now: datetime,
    policy: Policy,
    new_id: Callable[[], str],
    new_tracking_code: Callable[[], str],
) -> list[Outcome]:
    """Register a submission: one ticket, or two linked tickets for a complaint+report (Art. 9).

    Each outcome holds a version-1 ticket waiting for acceptance (where depends on the
    channel), its ``registered`` event and a ``ticket.registered`` outbox message. Raises
    ValidationFailed (every bad field in ``details``) or Forbidden (role not allowed on the
    channel). Duplicates are the caller's check (:func:`classify_repeat`) before this.
    """
    now = aware(now, "now")
    sub = validate_submission(data, now=now)
    if actor.role not in CHANNEL_ROLES[sub.channel]:
        raise Forbidden(
            f"role {actor.role} may not register on channel {sub.channel}",
            details={"channel": "not allowed for role " + actor.role},
        )
    ids = [(new_id(), new_tracking_code()) for _ in sub.kinds]
    outcomes: list[Outcome] = []
    for kind, (ticket_id, code) in zip(sub.kinds, ids):
        is_report_part = len(sub.kinds) > 1 and kind == Kind.REPORT
        ticket = Ticket(
            id=ticket_id,
            tracking_code=code,
            kind=kind,
            channel=sub.channel,
            status=INITIAL_STATUS[sub.channel],
            version=1,
            created_at=now,
            updated_at=now,
            received_at=sub.received_at,
            complainant=sub.complainant,
            respondent=sub.respondent,
            request=(sub.report_request or sub.request) if is_report_part else sub.request,
            facts=(sub.report_facts or sub.facts) if is_report_part else sub.facts,
            category=sub.category,
            priority=sub.priority,
            district=sub.district,
            external_ref=sub.external_ref,
            registered_by=actor.username,
            linked_ids=[other for other, _ in ids if other != ticket_id],
            co_complainants=[
                JoinedComplainant(at=now, by=actor.username, party=p) for p in sub.co_complainants
            ],
        )
        data_out: dict[str, Any] = {"kind": kind, "channel": sub.channel}
        try:
            rule = policy.sla.rule_for(ClockName.ACCEPTANCE, kind=kind, category=sub.category,
                                       priority=sub.priority)
        except NotFound:
            rule = None  # a manager removed the acceptance limit: no clock
        if rule is not None:
            clock = start_clock(rule, sub.received_at, policy.calendar)
            ticket.clocks[ClockName.ACCEPTANCE.value] = clock
            data_out["acceptance_due"] = clock.due.isoformat()
        if ticket.linked_ids:
            data_out["split_from_mixed"] = True
            data_out["linked_ids"] = list(ticket.linked_ids)
        if ticket.co_complainants:
            data_out["joint_complainants"] = len(ticket.co_complainants) + 1
        event = TimelineEvent(type="registered", at=now, actor=actor, from_status=None,
                              to_status=ticket.status, data=encode(data_out))
        payload = {
            "ticket_id": ticket.id, "kind": kind, "channel": sub.channel, "status": ticket.status,
            "version": 1, "at": now.isoformat(), "external_ref": sub.external_ref,
            "category": sub.category, "district": sub.district, "priority": sub.priority,
            "linked_ids": list(ticket.linked_ids),
        }
        outcomes.append(Outcome(ticket=ticket, events=[event],
                                outbox=[OutboxMessage(topic="ticket.registered", payload=encode(payload))]))
    return outcomes


# --- repeats (Art. 35) ----------------------------------------------------------------------

# Statuses in which a repeat with new facts can still be merged (before any closure).
MERGEABLE_STATUSES: frozenset[str] = MERGEABLE  # the vocabulary's group, named as callers know it

# Facts at least this similar (difflib ratio, in percent) count as "the same facts".
SAME_FACTS_PERCENT = 90


@dataclass(frozen=True)
class RepeatMatch:
    """What a new submission is relative to the complainant's open tickets."""

    kind: str  # "duplicate" | "new_facts" | "none"
    ticket_id: str | None = None


def _norm(text: str | None) -> str:
    """Compare texts by their content: width-folded, case-folded, without spaces or punctuation."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def same_facts(a: str | None, b: str | None) -> bool:
    """True when two fact statements say the same thing (equal, contained, or >= 90% alike)."""
    na, nb = _norm(a), _norm(b)
    if not na or not nb:
        return na == nb
    if na == nb or na in nb or nb in na:
        return True
    return SequenceMatcher(None, na, nb, autojunk=False).ratio() * 100 >= SAME_FACTS_PERCENT


def classify_repeat(data: dict, candidates: Sequence[Ticket]) -> RepeatMatch:
    """Is this submission a duplicate of, or new facts for, one of ``candidates``? (Art. 35)

    Same complainant (phone) + same respondent (name) + same kind + same facts -> duplicate
    (not processed again); same complainant + respondent + kind but new facts -> new_facts,
    naming the most recent ticket that can still take them (``merge_repeat``); else none.
    Only open tickets before closure count. ``data`` is the raw submission; it need not be
    valid yet (an unreadable one is simply ``none``).
    """
    if not isinstance(data, Mapping):
        return RepeatMatch("none")
    complainant = data.get("complainant") if isinstance(data.get("complainant"), Mapping) else {}
    respondent = data.get("respondent") if isinstance(data.get("respondent"), Mapping) else {}
    phone = complainant.get("phone")
    name = respondent.get("name")
    kinds_raw = data.get("kind")
    kinds = {k for k in (kinds_raw if isinstance(kinds_raw, list) else [kinds_raw]) if isinstance(k, str)}
    if not isinstance(phone, str) or not isinstance(name, str) or not _norm(name):
        return RepeatMatch("none")
    facts = data.get("facts") if isinstance(data.get("facts"), str) else ""
    same_party = [
        t for t in candidates
        if t.status in MERGEABLE_STATUSES
        and t.complainant.phone and normalize_phone(t.complainant.phone) == normalize_phone(phone)
        and t.respondent is not None and _norm(t.respondent.name) == _norm(name)
        and t.kind in kinds
    ]
    for ticket in same_party:
        known = [ticket.facts, *(m.facts for m in ticket.merged_facts)]
        if any(same_facts(facts, k) for k in known):
            return RepeatMatch("duplicate", ticket.id)
    if same_party:
        newest = max(same_party, key=lambda t: t.created_at)
        return RepeatMatch("new_facts", newest.id)
    return RepeatMatch("none")


def parse_joining_party(raw: Any, kind: str) -> Party:
    """A complainant joining an open ticket (Art. 12); same checks as at registration."""
    errors = _Errors()
    required = frozenset(r for r in REQUIRED[kind] if r.startswith("complainant.")) | {
        "complainant.name", "complainant.phone"}
    party = parse_party(raw, "complainant", required, errors)
    errors.raise_if_any("invalid complainant")
    assert party is not None
    return party


__all__ = [
    "REQUIRED", "CHANNEL_ROLES", "INITIAL_STATUS", "MERGEABLE_STATUSES", "RepeatMatch", "Submission",
    "register", "classify_repeat", "validate_submission", "same_facts", "normalize_phone",
    "parse_party", "parse_joining_party", "check_text", "check_code", "named_codes", "surrogate_fields",
    "is_surrogate", "INVALID_CHARACTER",
]
