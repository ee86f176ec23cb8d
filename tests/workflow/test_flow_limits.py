"""The ticket flow's bounds, on the real definition in moto: the longest realistic ticket stays far
below Step Functions' 25,000-event history limit (we hold it under 5,000), and a checkpoint that
cannot apply what is due waits instead of spinning."""
from __future__ import annotations

import math

from chalicelib.domain.errors import IllegalTransition
from chalicelib.domain.ticket import SYSTEM_ACTOR
from chalicelib.services import tickets as service
from chalicelib.services.tickets import TicketService
from chalicelib.workflow import stages
from tests.workflow.conftest import DISPATCHER, HANDLER, MANAGER
from tests.workflow.flowhistory import entered, history, timeline_sequence, top_sequence
from tests.workflow.test_stages_flow import Walk, _closure, _dispatch_single

MAX_HISTORY_EVENTS = 5_000
MEDIATION_DAYS = 60
# events of one deadline that finds nothing due (a stage's task times out, the checkpoint runs, the
# stage is entered again): what the 30-day idle cap adds to a real 60-day ticket per waiting scope
IDLE_CYCLE_EVENTS = 20


def test_the_longest_realistic_ticket_stays_far_below_the_history_limit(flow):
    """A 60-day mediation (here: seconds) with two pauses, three reworks and ten urgings."""
    walk = Walk(flow, kind="complaint").accept_and_dispatch(_dispatch_single())
    assert "mediation" in walk.ticket.clocks
    walk.act("sign", {}, HANDLER)
    for _ in range(2):
        walk.act("pause", {"reason": "appraisal_testing", "text": "送检"}, HANDLER)
        walk.act("resume", {}, HANDLER)
    for n in range(10):
        walk.act("urge", {"text": f"请加快办理（第{n + 1}次）", "department": "MARKET"}, MANAGER)
    for n in range(3):
        walk.act("submit_closure", {"result": "settled", "facts": f"双方达成和解（第{n + 1}次提交）。"}, HANDLER)
        walk.act("review_closure", {"decision": "rework", "text": "请补充调解笔录。"}, DISPATCHER)
    walk.act("submit_closure", {"result": "settled", "facts": "双方达成和解，已退款。"}, HANDLER).finish()

    events = history(walk.id)
    assert top_sequence(walk.id) == timeline_sequence(walk.id)
    assert service.repository().get(walk.id).rework_count == 3
    idle = math.ceil(MEDIATION_DAYS * 86400 / stages.IDLE_SECONDS) * IDLE_CYCLE_EVENTS * 2  # ticket + a share
    print(f"history events: {len(events)} measured + {idle} for the idle re-waits of 60 real days")
    assert len(events) + idle < MAX_HISTORY_EVENTS


def test_a_refused_step_waits_instead_of_spinning(flow, monkeypatch):
    original = TicketService.change

    def refuse(self, ticket, changes, actor, **kwargs):  # the rules refuse the system's own steps (a bug)
        if actor is SYSTEM_ACTOR:
            raise IllegalTransition("refused for the test")
        return original(self, ticket, changes, actor, **kwargs)

    monkeypatch.setattr(TicketService, "change", refuse)
    walk = Walk(flow).accept_and_dispatch(_dispatch_single())  # sign: yellow after 1.5 s
    flow.until(lambda: "ShareCheckpoint" in entered(walk.id), what="the sign deadline")
    flow.until(lambda: entered(walk.id)[-1] == "Sign", what="back in the sign stage")
    flow.settle(4)  # the yellow point passed and cannot be applied: the stage now waits RETRY_SECONDS
    assert entered(walk.id).count("ShareCheckpoint") == 1
    outputs = [e for e in history(walk.id) if e["type"] == "TaskSucceeded"]
    assert '"timeout": %d' % stages.RETRY_SECONDS in outputs[-1]["taskSucceededEventDetails"]["output"]
