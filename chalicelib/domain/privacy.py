"""Personal data on screen: masked by default, revealed on purpose, withheld under Art. 37.

DOMAIN.md "Confidentiality": a citizen's name, phone, ID number and address are shown masked
(138****5678); a role that needs the full value reveals it explicitly (the service records the
reveal as an event); a reporter's (举报人) identity is never shown to the departments handling
the report (Art. 37). These functions shape the dicts the API returns; they never touch the
ticket itself.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from chalicelib.domain.errors import Forbidden
from chalicelib.domain.ticket import Actor, Kind, Role

# Roles whose work needs the full contact data (calling the citizen back, mediating).
REVEAL_ROLES: frozenset[str] = frozenset(
    {Role.AGENT, Role.DISPATCHER, Role.HANDLER, Role.DEPT_LEAD, Role.MANAGER}
)
# Roles that never learn who filed a report (Art. 37): the departments doing the verification.
REPORTER_HIDDEN_ROLES: frozenset[str] = frozenset({Role.HANDLER, Role.DEPT_LEAD})

# The parts of a ticket dict holding a citizen's identity.
_PARTY_FIELDS = ("name", "phone", "address", "id_number")
# Free-text fields of a ticket or event that may quote a phone or ID number.
_TEXT_KEYS = frozenset({"facts", "request", "text", "answer", "comment", "reason", "basis"})

# Mainland mobile numbers and 18-digit resident ID numbers quoted inside free text.
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{11}(\d{3}[0-9Xx])(?![0-9A-Za-z])")

# Administrative levels after which an address turns into a street-level location.
_ADDRESS_LEVELS = ("自治区", "自治州", "特别行政区", "省", "市", "州", "盟", "地区", "区", "县", "旗")
_ADDRESS_PREFIX_LIMIT = 12


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``: the first 3 and last 4 characters stay."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1) if len(phone) > 1 else "*"
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str | None) -> str | None:
    """``张三丰`` -> ``张**``: the first character stays (the surname)."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def mask_id_number(id_number: str | None) -> str | None:
    """``110101199003074512`` -> ``110***********4512``: hides the birth date and region."""
    if not id_number:
        return id_number
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


def mask_address(address: str | None) -> str | None:
    """``北京市朝阳区建国路88号`` -> ``北京市朝阳区****``: keeps the administrative prefix only."""
    if not address:
        return address
    head = address[:_ADDRESS_PREFIX_LIMIT]
    cut = 0
    for level in _ADDRESS_LEVELS:
        start = 0
        while (pos := head.find(level, start)) != -1:
            cut = max(cut, pos + len(level))
            start = pos + 1
    if cut == 0 or cut >= len(address):
        cut = min(3, max(len(address) - 1, 0))
    return address[:cut] + "****"


def mask_text(text: str | None) -> str | None:
    """Mask mobile numbers and ID numbers that a citizen or staff typed into free text."""
    if not text:
        return text
    text = _ID_IN_TEXT.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), text)
    return _PHONE_IN_TEXT.sub(lambda m: m.group(1) + "****" + m.group(3), text)


_MASKERS = {"name": mask_name, "phone": mask_phone, "address": mask_address, "id_number": mask_id_number}


def mask_party(party: dict | None) -> dict | None:
    """A party dict (name/phone/address/id_number) with every personal field masked."""
    if party is None:
        return None
    out = dict(party)
    for key, masker in _MASKERS.items():
        if isinstance(out.get(key), str):
            out[key] = masker(out[key])
    return out


def can_reveal(ticket_dict: dict, actor: Actor) -> bool:
    """True when ``actor`` may see this ticket's personal data unmasked."""
    if actor.role not in REVEAL_ROLES:
        return False
    return not _reporter_hidden(ticket_dict, actor)


def _reporter_hidden(ticket_dict: dict, actor: Actor) -> bool:
    return ticket_dict.get("kind") == Kind.REPORT and actor.role in REPORTER_HIDDEN_ROLES


def _mask_texts(value: Any) -> Any:
    """Recursively mask phone/ID numbers inside the free-text keys of nested dicts."""
    if isinstance(value, dict):
        return {
            k: (mask_text(v) if k in _TEXT_KEYS and isinstance(v, str) else _mask_texts(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_texts(v) for v in value]
    return value


def view_for(ticket_dict: dict, actor: Actor, *, reveal: bool = False) -> dict:
    """The ticket as ``actor`` may see it (a new dict; the input is not changed).

    * default: complainant and joined complainants masked, phone/ID numbers in free text masked;
    * ``reveal=True``: everything in clear, for roles in :data:`REVEAL_ROLES` (Forbidden otherwise;
      the caller records the reveal as a timeline event);
    * a report (举报) seen by a handler or department lead: the reporter's identity is removed
      entirely (Art. 37) and cannot be revealed.
    """
    if reveal and not can_reveal(ticket_dict, actor):
        raise Forbidden(
            "this role may not reveal personal data on this ticket",
            details={"reveal": "not allowed for role " + actor.role},
        )
    view = copy.deepcopy(ticket_dict)
    if _reporter_hidden(view, actor):
        view["complainant"] = None
        view["co_complainants"] = []
        view["reporter_withheld"] = True
        return _mask_texts(view)
    if reveal:
        return view
    view["complainant"] = mask_party(view.get("complainant"))
    view["co_complainants"] = [
        {**joined, "party": mask_party(joined.get("party"))} for joined in view.get("co_complainants") or []
    ]
    return _mask_texts(view)


def event_view_for(event_dict: dict, ticket_kind: str, actor: Actor, *, reveal: bool = False) -> dict:
    """A timeline event as ``actor`` may see it: free text masked unless revealed.

    Events never carry a party's fields (the lifecycle keeps them out); only typed-in phone
    and ID numbers need masking. For a report seen by its handling department the text is
    always masked, whatever ``reveal`` says.
    """
    hidden = ticket_kind == Kind.REPORT and actor.role in REPORTER_HIDDEN_ROLES
    if reveal and not hidden and actor.role in REVEAL_ROLES:
        return copy.deepcopy(event_dict)
    return _mask_texts(copy.deepcopy(event_dict))
