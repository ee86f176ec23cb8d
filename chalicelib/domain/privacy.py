"""Personal data on screen: masked by default, revealed on purpose, withheld under Art. 37
(docs/domain.md "Confidentiality", "Code map").

DOMAIN.md "Confidentiality": a citizen's name, phone, ID number and address are shown masked
(138****5678); a role that needs the full value reveals it explicitly (the service records the
reveal as an event); a reporter's (举报人) identity is never shown to the departments handling
the report (Art. 37). These functions shape the dicts the API returns; they never touch the
ticket itself.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable
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
# Free-text fields of a ticket, event or list row that may quote a phone, ID number, e-mail or name.
_TEXT_KEYS = frozenset({"facts", "request", "text", "answer", "comment", "reason", "basis", "reply", "title"})

# Personal data quoted inside free text. Bounds are ASCII letters, digits, ``#`` and ``_`` so that
# ids and keys (``O#0000000012#000``, order numbers, hashes) are never taken for personal data;
# a CJK character next to a number is a bound (``电话13812345678``), so is an escaped ``\\n``.
_B = r"(?:(?<![0-9A-Za-z#_])|(?<=\\[ntr]))"
_E = r"(?![0-9A-Za-z#_])"
# Mainland mobiles, also written +86 138..., 0138... (a trunk 0), 138-1234-5678 or 138 1234 5678.
MOBILE_IN_TEXT = re.compile(_B + r"(?:\+?86[- ]?|0)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})" + _E)
# Landlines with an area code: 0571-88886666, (0571)88886666, 010 12345678, 057188886666.
# Area codes: 010 and 02x (3 digits), 03xx-09xx (4 digits); local numbers start with 2-9.
_AREA = r"0(?:10|2\d|[3-9]\d{2})"
LANDLINE_IN_TEXT = re.compile(_B + r"(?:\((" + _AREA + r")\)|(" + _AREA + r"))[- ]?([2-9]\d{2,3})[- ]?(\d{4})" + _E)
# 18-character resident ID numbers (region, birth date, sequence, check character).
ID_IN_TEXT = re.compile(_B + r"([1-9]\d{2})\d{3}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                        r"(\d{3}[0-9Xx])" + _E)
EMAIL_IN_TEXT = re.compile(r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
_MIN_NAME_IN_TEXT = 2  # a one-character "name" would mask every occurrence of a common character

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


def mask_text(text: str | None, *, names: Iterable[str | None] = (), hide_names: bool = False) -> str | None:
    """Mask personal data someone typed into free text.

    Mobile and landline numbers keep their first 3 (area code) and last 4 digits, ID numbers their
    first 3 and last 4 characters, e-mail addresses their first character and domain. ``names``
    (the ticket's complainants as stored) are masked wherever they appear: to their surname
    (``张**``), or entirely with ``hide_names`` (a reporter withheld under Art. 37).
    """
    if not text:
        return text
    text = EMAIL_IN_TEXT.sub(lambda m: m.group(1) + "***@" + m.group(2), text)
    text = ID_IN_TEXT.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), text)
    text = MOBILE_IN_TEXT.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    text = LANDLINE_IN_TEXT.sub(lambda m: (m.group(1) or m.group(2)) + "-****" + m.group(4), text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= _MIN_NAME_IN_TEXT}, key=len, reverse=True):
        text = text.replace(name, "*" * len(name) if hide_names else mask_name(name) or "")
    return text


def party_names(ticket_dict: dict) -> list[str]:
    """The stored names of a ticket's complainant and joined complainants (to mask in its free text)."""
    parties = [ticket_dict.get("complainant")] + [
        (j or {}).get("party") for j in ticket_dict.get("co_complainants") or []]
    return [p["name"] for p in parties if isinstance(p, dict) and isinstance(p.get("name"), str)]


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


def _mask_texts(value: Any, names: Iterable[str] = (), hide_names: bool = False) -> Any:
    """Recursively mask personal data inside the free-text keys of nested dicts."""
    if isinstance(value, dict):
        return {
            k: (mask_text(v, names=names, hide_names=hide_names) if k in _TEXT_KEYS and isinstance(v, str)
                else _mask_texts(v, names, hide_names))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_texts(v, names, hide_names) for v in value]
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
    names = party_names(view)
    if _reporter_hidden(view, actor):
        view["complainant"] = None
        view["co_complainants"] = []
        view["reporter_withheld"] = True
        return _mask_texts(view, names, hide_names=True)
    if reveal:
        return view
    view["complainant"] = mask_party(view.get("complainant"))
    view["co_complainants"] = [
        {**joined, "party": mask_party(joined.get("party"))} for joined in view.get("co_complainants") or []
    ]
    return _mask_texts(view, names)


def event_view_for(event_dict: dict, ticket_kind: str, actor: Actor, *, reveal: bool = False,
                   names: Iterable[str] = ()) -> dict:
    """A timeline event as ``actor`` may see it: free text masked unless revealed.

    Events never carry a party's fields (the lifecycle keeps them out); only typed-in phone and ID
    numbers, e-mail addresses and the complainants' ``names`` need masking. For a report seen by its
    handling department the text is always masked, names entirely, whatever ``reveal`` says.
    """
    hidden = ticket_kind == Kind.REPORT and actor.role in REPORTER_HIDDEN_ROLES
    if reveal and not hidden and actor.role in REVEAL_ROLES:
        return copy.deepcopy(event_dict)
    return _mask_texts(copy.deepcopy(event_dict), list(names), hide_names=hidden)


def summary_view_for(row: dict, actor: Actor) -> dict:
    """A list row (a queue item or a search hit) as ``actor`` may see it.

    Rows are stored masked; a report's row shown to its handling department carries no trace of
    the reporter at all, not even the masked surname (Art. 37).
    """
    if row.get("kind") == Kind.REPORT and actor.role in REPORTER_HIDDEN_ROLES:
        return {**row, "complainant": None, "reporter_withheld": True}
    return row
