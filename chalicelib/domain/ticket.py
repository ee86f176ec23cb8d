"""The ticket (工单) and its value objects: who acts, what happened, what the outside hears.

A :class:`Ticket` is plain data (docs/domain.md "Code map"); its codes and their labels are in
``vocabulary.py``. The lifecycle (``lifecycle/``) and intake (``intake.py``)
are the only code that produce new tickets; everything else reads them. Every record here
converts to a JSON-safe dict (str/int/bool/None/list/dict, datetimes as ISO 8601 with
+08:00, never floats) and back, so the store can save it and the API can show it.

Names follow the glossary of DOMAIN.md. Labels shown to people are Simplified Chinese.
"""
from __future__ import annotations

import types
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any, Callable, Union, get_args, get_origin, get_type_hints

from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import ClockState, SlaRules
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.vocabulary import (  # the codes live in vocabulary.py; re-exported for every caller
    ACTIVE_ASSIGNMENT_STATUSES,
    FINISHED,
    CENTER,
    DECLINE_REASON_LABELS,
    HANDLED,
    KIND_LABELS,
    ROLES,
    STATUS_LABELS,
    AssignmentRole,
    AssignmentStatus,
    Channel,
    DeclineReason,
    DispatchMode,
    Kind,
    MediationResult,
    PauseReason,
    Priority,
    ReportResult,
    Resolution,
    Role,
    Satisfaction,
    Status,
    TerminationReason,
)


# --- JSON-safe codec ------------------------------------------------------------------------
# Tickets are encoded and decoded on every request, so each record class gets its field
# decoders compiled once from its type hints.

_SCALARS = (str, int, bool, type(None))


def encode(value: Any) -> Any:
    """Turn a domain value into JSON-safe data: ISO 8601 strings, ints, bools, str, None.

    Floats are refused on purpose: DynamoDB stores numbers as decimals and a float that
    slips into an event would round-trip differently.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, int):  # an int subclass; plain ints and bools took the first branch
        return int(value)
    if kind is datetime:
        return value.astimezone(TZ).isoformat()
    if kind is date:
        return value.isoformat()
    if kind is list or kind is tuple:
        return [encode(v) for v in value]
    if kind is dict:
        return {str(k): encode(v) for k, v in value.items()}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        raise TypeError("non-integral Decimal in domain data")
    raise TypeError(f"{kind.__name__} is not JSON-safe domain data")


def _parse_datetime(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationFailed(f"{name} is not ISO 8601", details={name: "must be ISO 8601"}) from exc
    else:
        raise ValidationFailed(f"{name} must be a datetime", details={name: "must be ISO 8601"})
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationFailed(f"{name} has no UTC offset", details={name: "must carry a UTC offset"})
    return parsed.astimezone(TZ)


def _parse_date(value: Any, name: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{name} is not a date", details={name: "must be YYYY-MM-DD"}) from exc


def _plain(value: Any, name: str = "") -> Any:
    """Untyped data (event ``data``, outbox payloads): integral Decimals from DynamoDB -> int."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _parse_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(f"{name} must be a boolean", details={name: "must be true or false"})
    return value


def _parse_int(value: Any, name: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{name} must be an integer", details={name: "must be an integer"})
    return value


def _parse_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string", details={name: "must be a string"})
    return value


Decoder = Callable[[Any, str], Any]
_BASIC: dict[Any, Decoder] = {
    datetime: _parse_datetime, date: _parse_date, bool: _parse_bool, int: _parse_int, str: _parse_str,
    dict: _plain, Any: _plain,
}


@cache
def _decoder(tp: Any) -> Decoder:
    """A function parsing JSON data into type ``tp`` (a record field's type hint)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = _decoder(next(a for a in get_args(tp) if a is not type(None)))
        return lambda value, name: None if value is None else inner(value, name)
    if origin is list:
        item = _decoder(get_args(tp)[0])

        def decode_list(value: Any, name: str) -> list:
            if not isinstance(value, (list, tuple)):
                raise ValidationFailed(f"{name} must be a list", details={name: "must be a list"})
            return [item(v, f"{name}[{i}]") for i, v in enumerate(value)]
        return decode_list
    if origin is dict:
        item = _decoder(get_args(tp)[1])

        def decode_dict(value: Any, name: str) -> dict:
            if not isinstance(value, dict):
                raise ValidationFailed(f"{name} must be an object", details={name: "must be an object"})
            return {str(k): item(v, f"{name}.{k}") for k, v in value.items()}
        return decode_dict
    if tp in _BASIC:
        return _BASIC[tp]
    if isinstance(tp, type) and hasattr(tp, "from_dict"):
        return lambda value, name: tp.from_dict(value)
    raise TypeError(f"no decoder for {tp!r}")  # a programming error in this module


@cache
def _layout(cls: type) -> tuple[tuple[str, Decoder, bool], ...]:
    """(field name, decoder, required) for each field of a record class."""
    hints = get_type_hints(cls)
    return tuple(
        (f.name, _decoder(hints[f.name]), f.default is MISSING and f.default_factory is MISSING)
        for f in fields(cls)
    )


class Record:
    """Mixin for the dataclasses below: ``to_dict``/``from_dict`` driven by the type hints."""

    def to_dict(self) -> dict:
        """JSON-safe dict of every field."""
        return {name: encode(getattr(self, name)) for name, _, _ in _layout(type(self))}

    @classmethod
    def from_dict(cls, d: Any):
        """Parse what :meth:`to_dict` wrote; ValidationFailed names missing or bad fields."""
        if not isinstance(d, dict):
            raise ValidationFailed(f"{cls.__name__} must be an object", details={cls.__name__: "must be an object"})
        values: dict[str, Any] = {}
        missing: dict[str, str] = {}
        for name, decode, required in _layout(cls):
            if name in d:
                values[name] = decode(d[name], name)
            elif required:
                missing[name] = "required"
        if missing:
            raise ValidationFailed(f"{cls.__name__} is incomplete", details=missing)
        return cls(**values)


def aware(value: Any, name: str = "now") -> datetime:
    """``value`` as an Asia/Shanghai datetime; a naive or non-datetime value is ValidationFailed."""
    if not isinstance(value, datetime):
        raise ValidationFailed(f"{name} must be a datetime", details={name: "must be a timezone-aware datetime"})
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(f"{name} must be timezone-aware", details={name: "naive datetime: give a UTC offset"})
    return value.astimezone(TZ)


def end_of_day(d: date) -> datetime:
    """23:59:59 Asia/Shanghai on ``d``: when a deadline given as a date falls due."""
    return datetime.combine(d, time(23, 59, 59), tzinfo=TZ)


# --- who acts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor(Record):
    """The person or system performing an action, with the scope their role carries."""

    username: str
    role: str  # one of Role
    department: str | None = None  # handlers and dept leads; partner platforms: their platform id
    district: str | None = None
    # A department lead's grassroots offices (基层所): their shares are the lead's to assign and approve
    # too. Scope, not identity: the door fills it from the directory and events do not record it.
    offices: list[str] = field(default_factory=list, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationFailed(f"unknown role {self.role!r}", details={"role": "unknown role"})

    def to_dict(self) -> dict:
        """Who acted, as events record it (without ``offices``, which is scope read at the time)."""
        data = super().to_dict()
        data.pop("offices", None)
        return data


SYSTEM_ACTOR = Actor(username="system", role=Role.SYSTEM)


# --- people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party(Record):
    """A complainant or reporter (投诉人/举报人): personal data, masked when shown."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None
    id_number: str | None = None


@dataclass(frozen=True)
class Respondent(Record):
    """The business or person complained about (被投诉/被举报对象)."""

    name: str
    address: str | None = None
    phone: str | None = None
    credit_code: str | None = None  # 统一社会信用代码


# --- records on a ticket --------------------------------------------------------------------


@dataclass(frozen=True)
class Closure(Record):
    """A department's closure submission (办结): the result and the facts found."""

    result: str | None  # MediationResult / ReportResult / "handled"; None for an assist's part
    facts: str
    submitted_at: datetime
    submitted_by: str
    termination_reason: str | None = None  # Art. 23, when result == terminated
    approved_by: str | None = None  # the department lead who approved it (呈批), where the department asks for that
    approved_at: datetime | None = None


@dataclass(frozen=True)
class ExtensionRequest(Record):
    reason: str
    new_due: datetime
    requested_at: datetime
    requested_by: str


@dataclass(frozen=True)
class ReturnRequest(Record):
    reason: str
    basis: str
    requested_at: datetime
    requested_by: str


@dataclass(frozen=True)
class PauseRecord(Record):
    reason: str  # PauseReason
    text: str | None
    paused_at: datetime
    paused_by: str


@dataclass(frozen=True)
class Assignment(Record):
    """One department's share of a ticket (交办). ``owner`` is the handler who signed."""

    id: str
    department: str
    role: str  # AssignmentRole
    status: str  # AssignmentStatus
    dispatched_at: datetime
    owner: str | None = None
    signed_at: datetime | None = None
    closure: Closure | None = None
    extension_request: ExtensionRequest | None = None
    return_request: ReturnRequest | None = None
    pause: PauseRecord | None = None
    ended_at: datetime | None = None
    rework_count: int = 0
    assigned_to: str | None = None  # the handler the department lead assigned the share to (指派承办人)
    dispatched_by: str | None = None  # the person who dispatched it (None: the system)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_ASSIGNMENT_STATUSES


@dataclass(frozen=True)
class Decision(Record):
    """An acceptance decision (受理/不予受理/直接答复) or a non-acceptance review."""

    outcome: str  # accepted | declined | answered | return_upward | hand_to_local
    at: datetime
    by: str
    reason_code: str | None = None
    text: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class Reply(Record):
    """A reply the citizen may read (答复): shown on the portal, no personal data."""

    at: datetime
    text: str
    source: str  # answer | decline | review | callback | return_upward


@dataclass(frozen=True)
class Feedback(Record):
    """Satisfaction from a callback (回访) or the citizen's own evaluation (评价)."""

    satisfaction: str
    solved: bool
    at: datetime
    by: str
    via: str  # callback | evaluation
    comment: str | None = None


@dataclass(frozen=True)
class Urging(Record):
    """An urging (催办) addressed to the department responsible, or to the centre."""

    id: str
    at: datetime
    by: str
    department: str  # a department code, or CENTER
    text: str
    source: str  # manual | system | upper_level
    clock: str | None = None  # the clock key it is about, when known
    answered_at: datetime | None = None
    answered_by: str | None = None
    answer: str | None = None


@dataclass(frozen=True)
class Supervision(Record):
    """A supervision (督办): it counts against the department's score."""

    at: datetime
    by: str
    reason: str
    department: str | None = None
    urging_id: str | None = None


@dataclass(frozen=True)
class MergedFacts(Record):
    """New facts from a repeat submission merged into this ticket (Art. 35)."""

    at: datetime
    by: str
    facts: str
    channel: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class JoinedComplainant(Record):
    """A further complainant about the same dispute (Art. 12 joint complaint)."""

    at: datetime
    by: str
    party: Party
    source_ticket_id: str | None = None


BASIS_POINTS = 10_000  # probabilities and confidences are stored as integers out of 10 000


@dataclass(frozen=True)
class RankedDepartment(Record):
    """One department the dispatch model recommends, with its probability in basis points."""

    department: str
    probability_bp: int  # 0..10 000 (9 731 = 97.31 %)


@dataclass(frozen=True)
class Jurisdiction(Record):
    """Where a ticket belongs (属地), as located from its address and text; unknown: district None."""

    district: str | None = None
    district_name: str | None = None
    place: str | None = None  # the gazetteer name that decided it (a town, road, landmark...)
    place_kind: str | None = None
    subdistrict: str | None = None
    confidence_bp: int | None = None


@dataclass(frozen=True)
class DispatchRecommendation(Record):
    """The dispatch model's advice on a ticket (智能分拨推荐), stored at registration.

    ``auto`` says whether the top department cleared the model's threshold then; whether the
    platform actually dispatches by itself also depends on the configuration in force.
    ``threshold_bp`` is the top department's own threshold; ``abstain`` why the model would not
    dispatch alone (``unfamiliar``: the text is far from anything it knows; ``below_threshold``)
    and ``familiarity_bp`` how close the text is to what it knows (issue 18).
    """

    model_version: str
    departments: list[RankedDepartment]  # best first (top 3)
    threshold_bp: int
    auto: bool
    at: datetime
    jurisdiction: Jurisdiction | None = None
    abstain: str | None = None
    familiarity_bp: int | None = None

    @property
    def top(self) -> RankedDepartment | None:
        return self.departments[0] if self.departments else None


@dataclass(frozen=True)
class SuggestedCategory(Record):
    """One category of the tree suggested for a ticket, its confidence and what suggested it."""

    code: str
    confidence_bp: int  # 0..10 000
    method: str  # keywords | model


@dataclass(frozen=True)
class CategorySuggestion(Record):
    """The categories suggested at registration (诉求分类建议), kept to measure how good they are.

    ``source``: ``shown`` (the registration screen sent what it showed the agent) or ``computed``
    (worked out at registration: web, partners, clients that send none). ``method`` is the first
    item's (on an abstention: the method that abstained); ``first_taken`` whether the category
    registered is the first suggestion (None: no suggestion, or no category registered).
    """

    items: list[SuggestedCategory]
    method: str
    source: str
    at: datetime
    abstain: str | None = None
    model_version: str | None = None
    first_taken: bool | None = None


# --- the ticket -----------------------------------------------------------------------------


@dataclass
class Ticket(Record):
    """A ticket (工单). Treat it as a value: the lifecycle copies it, never edits it in place."""

    id: str
    tracking_code: str
    kind: str
    channel: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    received_at: datetime
    complainant: Party
    request: str
    facts: str
    respondent: Respondent | None = None
    category: str | None = None
    priority: str = Priority.NORMAL
    district: str | None = None
    external_ref: str | None = None  # the upper-level / partner platform's reference
    registered_by: str | None = None
    linked_ids: list[str] = field(default_factory=list)  # Art. 9 split siblings
    co_complainants: list[JoinedComplainant] = field(default_factory=list)
    merged_facts: list[MergedFacts] = field(default_factory=list)
    acceptance: Decision | None = None
    non_acceptance_review: Decision | None = None
    dispatch_mode: str | None = None
    assignments: list[Assignment] = field(default_factory=list)
    clocks: dict[str, ClockState] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    urgings: list[Urging] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    resolution: str | None = None
    rework_count: int = 0
    reopen_count: int = 0
    closed_at: datetime | None = None
    archived_at: datetime | None = None
    recommendation: DispatchRecommendation | None = None  # the dispatch model's advice (issue 5)
    category_suggestion: CategorySuggestion | None = None  # the categories suggested at registration

    def copy(self) -> "Ticket":
        """An independent copy: every container is new (the records inside are immutable)."""
        return replace(
            self,
            linked_ids=list(self.linked_ids),
            co_complainants=list(self.co_complainants),
            merged_facts=list(self.merged_facts),
            assignments=list(self.assignments),
            clocks=dict(self.clocks),
            replies=list(self.replies),
            feedback=list(self.feedback),
            urgings=list(self.urgings),
            supervisions=list(self.supervisions),
        )

    # -- lookups used by the lifecycle, queues and views --

    def assignment(self, assignment_id: str) -> Assignment | None:
        return next((a for a in self.assignments if a.id == assignment_id), None)

    def set_assignment(self, updated: Assignment) -> None:
        """Replace the assignment with ``updated.id`` (only on a copy being built)."""
        self.assignments = [updated if a.id == updated.id else a for a in self.assignments]

    @property
    def active_assignments(self) -> list[Assignment]:
        return [a for a in self.assignments if a.active]

    @property
    def departments(self) -> list[str]:
        """Departments holding an active assignment, in dispatch order."""
        seen: list[str] = []
        for a in self.active_assignments:
            if a.department not in seen:
                seen.append(a.department)
        return seen

    @property
    def last_feedback(self) -> Feedback | None:
        return self.feedback[-1] if self.feedback else None

    @property
    def is_open(self) -> bool:
        return self.status not in FINISHED


# --- what comes out of a transition ---------------------------------------------------------


@dataclass(frozen=True)
class TimelineEvent(Record):
    """One entry of the ticket's timeline: who did what, when, from which state to which.

    ``deadline_met`` is set on events that stop a clock (the main one when several stop;
    ``data["clocks_stopped"]`` lists each).
    """

    type: str
    at: datetime
    actor: Actor
    from_status: str | None
    to_status: str | None
    data: dict
    deadline_met: bool | None = None


@dataclass(frozen=True)
class OutboxMessage(Record):
    """A message for partners and analytics (e.g. ``ticket.accepted``); no personal data."""

    topic: str
    payload: dict


@dataclass(frozen=True)
class Outcome:
    """The result of a transition: the new ticket, its timeline events and outbox messages."""

    ticket: Ticket
    events: list[TimelineEvent]
    outbox: list[OutboxMessage]


@dataclass(frozen=True)
class Policy:
    """The configuration a transition depends on: SLA rules and the working calendar."""

    sla: SlaRules
    calendar: WorkingCalendar
    # Departments whose handlers' closures need their lead's approval (呈批) before reaching the centre.
    approval_departments: frozenset[str] = frozenset()
