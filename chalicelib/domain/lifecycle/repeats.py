"""Lifecycle stage: repeats and joint complaints (DOMAIN.md lifecycle step 1, Art. 35 and 12;
docs/domain.md "Code map"): merge a repeat with new facts, join another complainant.
"""
from __future__ import annotations

from chalicelib.domain.clocks import ClockName, clock_name
from chalicelib.domain.errors import Conflict
from chalicelib.domain.intake import MAX_FACTS, normalize_phone, parse_joining_party
from chalicelib.domain.lifecycle.action import Action, row
from chalicelib.domain.lifecycle.context import Context
from chalicelib.domain.ticket import Channel, JoinedComplainant, MergedFacts
from chalicelib.domain.vocabulary import CENTRE_ROLES, CITIZEN, MERGEABLE, PARTNER, SYSTEM

# Clocks that restart when a repeat with new facts is merged (Art. 35).
RESTART_ON_MERGE = frozenset({ClockName.ACCEPTANCE, ClockName.HANDLING, ClockName.MEDIATION,
                              ClockName.REPORT_VERIFICATION, ClockName.MATTER_HANDLING})


def _merge_repeat(ctx: Context) -> str:
    t = ctx.ticket
    facts = ctx.text("facts", max_len=MAX_FACTS)
    request = ctx.text("request", required=False)
    channel = ctx.choice("channel", set(Channel), required=False)
    t.merged_facts.append(MergedFacts(at=ctx.now, by=ctx.actor.username, facts=facts, channel=channel, request=request))
    restarted = [key for key, state in t.clocks.items()
                 if clock_name(key) in RESTART_ON_MERGE and state.status != "stopped" and ctx.restart(key)]
    ctx.data.update(facts=facts, request=request, source=channel, restarted=sorted(restarted))
    return "repeat_merged"


def _join(ctx: Context) -> str:
    t = ctx.ticket
    party = parse_joining_party(ctx.params.get("complainant"), t.kind)
    source = ctx.text("source_ticket_id", required=False, max_len=64)
    phones = {normalize_phone(p.phone) for p in [t.complainant, *(j.party for j in t.co_complainants)] if p.phone}
    if party.phone and normalize_phone(party.phone) in phones:
        raise Conflict("this complainant is already on the ticket", details={"complainant.phone": "already joined"})
    t.co_complainants.append(JoinedComplainant(at=ctx.now, by=ctx.actor.username, party=party, source_ticket_id=source))
    ctx.data.update(complainants=len(t.co_complainants) + 1, source_ticket_id=source)
    return "complainant_joined"


ROWS: tuple[Action, ...] = (
    # row(action, from statuses, roles, parameters, to statuses ("=": may stay), handler, guard/share)
    row("merge_repeat", MERGEABLE, CENTRE_ROLES | SYSTEM | PARTNER | CITIZEN, "facts request channel", "=",
        _merge_repeat),
    row("join", MERGEABLE, CENTRE_ROLES, "complainant source_ticket_id", "=",
        _join),
)
