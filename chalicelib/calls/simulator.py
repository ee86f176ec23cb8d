"""A realistic day of hotline calls for the demo (pure, seeded: the same seed gives the same day).

Arrivals follow a hotline's day: almost nothing at night, a morning peak (9-11), a dip at lunch and
an afternoon peak (14-16). Each call waits in one queue for the first free agent on shift; a
caller whose patience (exponential, mean 70 s) runs out first hangs up (``abandoned``). A few
answered calls are transferred, a few ring an agent who does not pick up (``missed``), and at night
with nobody on shift the caller leaves a ``voicemail``. Talk time is log-normal around 4 minutes.
Callers are random mobile numbers; some call twice in the day (repeat callers).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain.calendar import TZ

#: Relative call volume by hour of day (0-23).
HOURLY = (1, 0.5, 0.3, 0.3, 0.3, 0.6, 1.5, 4, 9, 12, 12, 10, 6, 6, 10, 11, 10, 8, 5, 4, 3, 2.5, 2, 1.5)
QUEUES = (("complaint", 0.45), ("inquiry", 0.35), ("report", 0.12), ("suggestion", 0.08))
DAY_SHIFT = (8, 20)  # agents on the day shift answer from 08:00 to 20:00; one agent covers the night
MEAN_PATIENCE = 70.0
MEAN_TALK = 240.0


@dataclass
class _Agent:
    name: str
    free_at: datetime
    night: bool


def _on_shift(agent: _Agent, at: datetime) -> bool:
    return agent.night or DAY_SHIFT[0] <= at.hour < DAY_SHIFT[1]


def _mobile(rng: random.Random) -> str:
    return rng.choice(("13", "15", "18", "17")) + "".join(str(rng.randint(0, 9)) for _ in range(9))


def simulate_day(day: date, agents: list[str], *, calls: int = 600, seed: int = 2026,
                 until: datetime | None = None) -> list[dict[str, Any]]:
    """Call records (webhook/CSV fields) for ``day``; only calls that ended before ``until`` (today: now)."""
    if not agents:
        raise ValueError("the simulator needs at least one agent")
    rng = random.Random(f"{seed}:{day.isoformat()}")
    midnight = datetime(day.year, day.month, day.day, tzinfo=TZ)
    total = sum(HOURLY)
    arrivals: list[datetime] = []
    for hour, weight in enumerate(HOURLY):
        for _ in range(round(calls * weight / total)):
            arrivals.append(midnight + timedelta(hours=hour, seconds=rng.uniform(0, 3600)))
    arrivals.sort()
    staff = [_Agent(name, midnight, night=(i == 0)) for i, name in enumerate(agents)]
    callers: list[str] = []
    records = []
    for n, start in enumerate(arrivals, start=1):
        repeat = callers and rng.random() < 0.08
        caller = rng.choice(callers) if repeat else _mobile(rng)
        callers.append(caller)
        queue = rng.choices([q for q, _ in QUEUES], weights=[w for _, w in QUEUES])[0]
        patience = rng.expovariate(1 / MEAN_PATIENCE)
        on_shift = [a for a in staff if _on_shift(a, start)]
        record: dict[str, Any] = {"call_id": f"SIM-{day:%Y%m%d}-{n:05d}", "caller": caller, "queue": queue,
                                  "start": start.isoformat()}
        if not on_shift:
            end = start + timedelta(seconds=rng.uniform(20, 60))
            record.update(outcome="voicemail", end=end.isoformat(), recording=f"vm/{day:%Y%m%d}/{n:05d}.wav")
        else:
            agent = min(on_shift, key=lambda a: a.free_at)
            answer = max(start + timedelta(seconds=rng.uniform(3, 12)), agent.free_at)
            if (answer - start).total_seconds() > patience:
                record.update(outcome="abandoned", end=(start + timedelta(seconds=patience)).isoformat())
            elif rng.random() < 0.03:
                end = answer + timedelta(seconds=15)
                record.update(outcome="missed", agent=agent.name, end=end.isoformat())
            else:
                talk = min(3600.0, rng.lognormvariate(math.log(MEAN_TALK) - 0.18, 0.6))
                end = answer + timedelta(seconds=talk)
                agent.free_at = end + timedelta(seconds=rng.uniform(10, 45))  # wrap-up
                record.update(outcome="transferred" if rng.random() < 0.05 else "answered", agent=agent.name,
                              answer=answer.isoformat(), end=end.isoformat(),
                              recording=f"rec/{day:%Y%m%d}/{n:05d}.wav")
        if until is None or datetime.fromisoformat(record["end"]) <= until:
            records.append(record)
    return records
