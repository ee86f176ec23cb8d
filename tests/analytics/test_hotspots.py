"""Hotspots: the statistic (pure), an injected spike found in noise, a flat background quiet,
and the scan over real counters raising one alert with the tickets behind it."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from chalicelib.analytics import alerts, counters, hotspots
from chalicelib.analytics.facts import Change, Dims, Fact
from chalicelib.analytics.hotspots import dispersion, find, nb_upper_tail, windows
from chalicelib.analytics.hotspots import test as tail_test
from chalicelib.domain.calendar import TZ

END = date(2030, 6, 30)
DAYS = hotspots.WINDOW_DAYS * (hotspots.BASELINE_WINDOWS + 1)


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson sampler (small rates), so the test needs nothing beyond the standard library."""
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def background(rng: random.Random, *, series: int = 30, overdispersed: bool = False) -> dict[str, dict[str, int]]:
    """Flat daily counts for many series: Poisson, or gamma-mixed Poisson (negative binomial)."""
    out = {}
    for n in range(series):
        rate = rng.uniform(0.5, 12.0)
        counts = {}
        for d in range(DAYS):
            lam = rng.gammavariate(2.0, rate / 2.0) if overdispersed else rate
            counts[(END - timedelta(days=d)).isoformat()] = poisson(rng, lam)
        out[f"S{n}"] = counts
    return out


def test_the_negative_binomial_tail_matches_scipy():
    from scipy.stats import nbinom  # test-only oracle

    for x, r, p in [(0, 2.0, 0.5), (3, 0.5, 0.9), (10, 4.5, 0.3), (40, 8.0, 0.5), (200, 30.0, 0.4), (5, 120.5, 0.98)]:
        assert nb_upper_tail(x, r, p) == pytest.approx(nbinom.sf(x - 1, r, p), rel=1e-9, abs=1e-15)


def test_the_test_judges_levels_dispersion_and_empty_baselines():
    flat = tail_test(35, [35, 30, 40, 33, 37, 36, 34, 35])
    assert flat.p_value > 0.3 and flat.method == "poisson_gamma"
    jump = tail_test(80, [35, 30, 40, 33, 37, 36, 34, 35])
    assert jump.p_value < 1e-8
    assert tail_test(80, [35] * 8, kappa=0.5).p_value > 0.01  # overdispersed series: 80 is not remarkable
    assert tail_test(1, [0] * 8).p_value > 0.05  # one ticket for a new respondent is no hotspot
    assert tail_test(8, [0] * 8).p_value < 1e-6  # eight is
    assert dispersion([[35, 30, 40, 33, 37, 36, 34, 35]]) == 0.0  # less spread than Poisson: no excess
    assert dispersion([[10, 60, 20, 70, 15, 65, 30, 50]]) > 0.3
    assert windows({"2030-06-30": 2, "2030-06-24": 1, "2030-06-23": 5}, END) == (3, [5, 0, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("overdispersed", [False, True])
def test_a_flat_background_raises_nothing(overdispersed):
    alarms = 0
    for seed in range(12):
        alarms += bool(find(background(random.Random(seed), overdispersed=overdispersed), END))
    assert alarms <= 1  # Bonferroni at 5 % family-wise: about 0.6 runs in 12, by design


def test_a_hotspot_injected_into_noise_is_found():
    rng = random.Random(7)
    series = background(rng, overdispersed=True)
    for n in range(3):  # three days at about four times its usual rate
        day = (END - timedelta(days=n)).isoformat()
        series["S5"][day] += 3 * sum(series["S5"].values()) // DAYS + 4
    found = find(series, END)
    assert [key for key, *_ in found] == ["S5"]
    key, result, baseline, threshold = found[0]
    assert result.p_value < threshold and result.count > max(baseline)


def _change(n: int, day: date, district: str, respondent: str, count: int = 1) -> Change:
    dims = Dims(district=district, category="食品安全", kind="complaint", channel="phone", respondent=respondent,
                respondent_name={"N_hot": "某网红餐厅", "N_calm": "某老字号"}.get(respondent, respondent))
    return Change(ticket_id=f"H{n:05d}", version=1, dims=dims,
                  facts=(Fact("received", day.isoformat(), count, "-"),))


def test_a_scan_over_the_counters_alerts_once_with_the_tickets(scratch_table):
    # window of 2 days, baseline of 4 such windows: a short history keeps the test small
    end = date(2030, 7, 20)
    changes, n = [], 0
    for d in range(10):
        day = end - timedelta(days=d)
        for district, per_day in (("GUSU", 3), ("WUZHONG", 2), ("SIP", 1)):
            n += 1
            changes.append(_change(n, day, district, "N_calm", per_day))
    for d in range(2):
        for _ in range(6):  # the hot respondent: 12 tickets in the window, none before
            n += 1
            changes.append(_change(n, end - timedelta(days=d), "WUZHONG", "N_hot"))
    counters.apply(changes)
    found, tested = hotspots.detect(end, window=2, baseline=4)
    # the hot respondent's tickets also lift its district and its category
    assert {(h.dimension, h.value) for h in found} == {("district", "WUZHONG"), ("respondent", "N_hot"),
                                                       ("category", "食品安全")}
    assert tested == 3 + 1 + 2  # three districts, one category, two respondents active in the window
    respondent = next(h for h in found if h.dimension == "respondent")
    assert respondent.label == "某网红餐厅" and respondent.test.count == 12 and respondent.baseline == [0, 0, 0, 0]

    first = hotspots.alert_new_hotspots(datetime(2030, 7, 20, 15, tzinfo=TZ), window=2, baseline=4)
    again = hotspots.alert_new_hotspots(datetime(2030, 7, 20, 16, tzinfo=TZ), window=2, baseline=4)
    assert len(first["alerts"]) == 3 and again["alerts"] == []
    listed = alerts.list_alerts(["2030-07"], kind="hotspot")
    hot = next(a for a in listed if a["data"]["dimension"] == "respondent")
    assert len(hot["ticket_ids"]) == 12 and set(hot["ticket_ids"]) <= {c.ticket_id for c in changes}
    assert "某网红餐厅" in hot["title"] and hot["acknowledged_at"] is None


def test_a_jump_spread_over_a_matters_problems_is_found_at_the_matter(scratch_table):
    """Three 具体问题 of 食品安全 each rise a little (none a hotspot alone); their 事项 is one. The 领域
    (same members) and a 事项 with one stored category are not tested twice."""
    end = date(2030, 9, 20)
    leaves = ("C020201", "C020202", "C020203")
    changes, n = [], 0

    def ticket(day: date, category: str) -> None:
        nonlocal n
        n += 1
        dims = Dims(district="GUSU", category=category, kind="complaint", channel="phone", respondent="-")
        changes.append(Change(ticket_id=f"R{n:05d}", version=1, dims=dims,
                              facts=(Fact("received", day.isoformat(), 1, "-"),)))

    for d in range(10):
        day = end - timedelta(days=d)
        for category in (*leaves, "C0101", "C0101"):
            ticket(day, category)
        if d < 2:  # the window: two more a day for each problem of 食品安全
            for category in leaves:
                ticket(day, category)
                ticket(day, category)
    counters.apply(changes)
    found, tested = hotspots.detect(end, window=2, baseline=4)
    assert tested == 1 + 4 + 1  # GUSU; four stored categories; the 事项 食品安全 (C0101 alone and C02 = C0202 skipped)
    hot = {(h.dimension, h.value): h for h in found}
    assert ("category_l2", "C0202") in hot and not any(d == "category" for d, _ in hot)
    matter = hot[("category_l2", "C0202")]
    assert matter.label == "市场监管 / 食品安全" and matter.test.count == 18 and matter.baseline == [6, 6, 6, 6]
    assert matter.to_dict()["dimension_label"] == "事项"
    behind = hotspots.tickets_of(matter)
    assert len(behind) == 18 and set(behind) <= {c.ticket_id for c in changes if c.dims.category in leaves}
