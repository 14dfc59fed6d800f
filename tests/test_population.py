"""The roster within a year (RULES.md section 2): groups, exposure, financing, claim timing; income.

The small scenario below is the Henan file with two cells, worked by hand:
registered poor, 1,000 persons, quarterly exit rate 3% (20% of exits stay needy, as rural minimum
allowance), quarterly entry rate 0.5% from ordinary residents; rural minimum allowance, 500 persons,
no roster changes. In 2019 the changes take effect on April 10, July 10 and October 10, i.e. after
99, 190 and 282 of the year's 365 days. Each quarter: 30 exits (6 stay needy, 24 leave), 5 entrants.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulation.errors import FundsimError
from simulation.models.income import sample_income
from simulation.models.population import (
    Group,
    Segment,
    cell_groups,
    exposure,
    financed_count,
    group_expected_claims,
    roster_groups,
    sample_claim_times,
    segment_expected_claims,
    verification_times,
)
from simulation.models.severity import lognormal_params
from simulation.params import Dated
from simulation.scenario.load import load_scenario
from simulation.scenario.schema import Cell, ClaimType, Income, Population, Roster, Scenario

HENAN_FILE = Path(__file__).parent.parent / "scenarios" / "henan_supplementary_2019.toml"


@pytest.fixture(scope="module")
def henan() -> Scenario:
    return load_scenario(HENAN_FILE)


def cell(category: str, count: float, age_band: str = "16-59") -> dict:
    return {
        "category": category,
        "age_band": age_band,
        "count": count,
        "tier": "tier4",
        "income": {"mean_yuan": 7000.0, "cv": 0.5},
    }


ROSTER = {
    "exit_rate": {"registered_poor": 0.03},
    "entry_rate": {"registered_poor": 0.005},
    "stay_needy": {"registered_poor": 0.2},
    "stay_needy_category": {"registered_poor": "min_allowance_rural"},
    "entrant_from": "ordinary",
    "verification_day": 10,
}


def with_population(base: Scenario, cells: dict, roster: dict) -> Scenario:
    population = Population.model_validate({"cells": cells, "roster": roster})
    return base.model_copy(update={"population": population})


@pytest.fixture(scope="module")
def small(henan) -> Scenario:
    return with_population(
        henan,
        {"rp": cell("registered_poor", 1000), "mar": cell("min_allowance_rural", 500)},
        ROSTER,
    )


NEEDY = {
    "extremely_poor",
    "min_allowance_urban",
    "min_allowance_rural",
    "registered_poor",
    "children_in_distress",
}
DAYS = (99, 190, 282)  # days of 2019 before April 10, July 10, October 10


def test_verification_dates():
    assert verification_times(2019, 10) == pytest.approx([d / 365 for d in DAYS])
    assert verification_times(2020, 10) == pytest.approx(
        [100 / 366, 191 / 366, 283 / 366]
    )  # leap year
    assert verification_times(2019, 1) == pytest.approx([90 / 365, 181 / 365, 273 / 365])


def test_small_scenario_groups_by_hand(small):
    groups = {g.key: g for g in roster_groups(small, 2019)}
    t2, t3, t4 = (d / 365 for d in DAYS)
    assert groups["rp/whole_year"].count == 1000 - 3 * 30
    assert groups["mar/whole_year"].count == 500
    for q, t in zip((2, 3, 4), (t2, t3, t4), strict=True):
        stay, leave, entry = (
            groups[f"rp/exit_q{q}/stay"],
            groups[f"rp/exit_q{q}/leave"],
            groups[f"rp/entry_q{q}"],
        )
        assert (stay.count, leave.count, entry.count) == (6, 24, 5)
        assert [(s.start, s.end, s.category) for s in stay.segments] == [
            (0.0, t, "registered_poor"),
            (t, 1.0, "min_allowance_rural"),
        ]
        assert [s.category for s in leave.segments] == ["registered_poor", "ordinary"]
        assert [(s.start, s.end, s.category) for s in entry.segments] == [
            (0.0, t, "ordinary"),
            (t, 1.0, "registered_poor"),
        ]
        assert stay.financed_this_year and leave.financed_this_year and not entry.financed_this_year
    assert len(groups) == 2 + 9


def test_exposure_by_hand(small):
    groups = roster_groups(small, 2019)
    before = sum(DAYS) / 365  # sum over quarters of the time before the change
    after = sum(365 - d for d in DAYS) / 365  # ... and after it
    registered = 910 + 30 * before + 5 * after
    min_allowance = 500 + 6 * after
    ordinary = 24 * after + 5 * before
    assert exposure(groups, {"registered_poor"}) == pytest.approx(registered, rel=1e-12)
    assert exposure(groups, {"min_allowance_rural"}) == pytest.approx(min_allowance, rel=1e-12)
    assert exposure(groups, {"ordinary"}) == pytest.approx(ordinary, rel=1e-12)
    assert exposure(groups, NEEDY) == pytest.approx(registered + min_allowance, rel=1e-12)
    # every person is somewhere all year: 1,000 + 500 at the start and 15 entrants
    assert exposure(groups, set(small.categories)) == pytest.approx(1515, rel=1e-12)


def test_financed_count_by_hand(small):
    groups = roster_groups(small, 2019)
    # a fund for the needy is financed for the start-of-year roster; entrants' money comes next year
    assert financed_count(groups, NEEDY) == (1500, 15)
    assert financed_count(groups, NEEDY).next_year == 15
    # a fund for every category finances entrants as ordinary residents this year
    assert financed_count(groups, set(small.categories)) == (1515, 0)
    assert financed_count(groups, {"ordinary"}) == (15, 0)


def test_expected_claims_scale_with_exposure(small):
    groups = {g.key: g for g in roster_groups(small, 2019)}
    freq = small.claims[ClaimType.INPATIENT].frequency
    rp = small.population.cells["rp"]
    t = 99 / 365
    stay = groups["rp/exit_q2/stay"]
    # rate 0.22 (registered poor) then 0.24 (rural minimum allowance), age factor 0.8 (16-59)
    expected = 0.22 * 0.8 * t + 0.24 * 0.8 * (1 - t)
    assert group_expected_claims(stay, freq, rp, 2019, 2019) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(
        segment_expected_claims(stay, freq, rp, 2019, 2019), [0.22 * 0.8 * t, 0.24 * 0.8 * (1 - t)]
    )
    entry = groups["rp/entry_q2"]
    assert group_expected_claims(entry, freq, rp, 2019, 2019) == pytest.approx(
        0.16 * 0.8 * t + 0.22 * 0.8 * (1 - t), rel=1e-12
    )
    assert group_expected_claims(groups["rp/whole_year"], freq, rp, 2019, 2019) == pytest.approx(
        0.22 * 0.8
    )


@pytest.mark.parametrize("year", [2019, 2020, 2021])
def test_henan_roster_rules(henan, year):
    groups = roster_groups(henan, year)
    roster = henan.population.roster
    times = verification_times(year, roster.verification_day)
    keys = [g.key for g in groups]
    assert len(set(keys)) == len(keys)
    for g in groups:
        assert g.count > 0 and isinstance(g.count, int)
        assert g.segments[0].start == 0.0 and g.segments[-1].end == 1.0
        for a, b in zip(g.segments[:-1], g.segments[1:], strict=True):
            assert a.end == b.start and a.start < a.end
        if "/entry_" in g.key:
            # entrants: never in a needy category before verification, financed next year
            q = int(g.key.rsplit("_q", 1)[1])
            assert not g.financed_this_year
            assert g.segments[0].category == roster.entrant_from
            assert not henan.categories[g.segments[0].category].needy
            assert g.segments[0].end == times[q - 2]
            assert henan.categories[g.segments[-1].category].needy
        else:
            assert g.financed_this_year
        if g.key.endswith("/stay"):
            # an exit that stays needy keeps cover: needy after the exit date
            cat = henan.population.cells[g.cell].category
            assert g.segments[-1].category == roster.stay_needy_category[cat]
            assert henan.categories[g.segments[-1].category].needy
        if g.key.endswith("/leave"):
            assert g.segments[-1].category == roster.entrant_from


@pytest.mark.parametrize("year", [2019, 2020, 2021])
def test_henan_counts_sum_as_configured(henan, year):
    groups = roster_groups(henan, year)
    roster = henan.population.roster
    for name, c in henan.population.cells.items():
        mine = [g for g in groups if g.cell == name]
        n = round(c.count.at(year))
        assert sum(g.count for g in mine if g.financed_this_year) == n  # the start-of-year roster
        exit_rate = roster.exit_rate[c.category].at(year) if c.category in roster.exit_rate else 0.0
        entry_rate = (
            roster.entry_rate[c.category].at(year) if c.category in roster.entry_rate else 0.0
        )
        exits = sum(g.count for g in mine if "/exit_" in g.key)
        stays = sum(g.count for g in mine if g.key.endswith("/stay"))
        assert exits == math.floor(3 * exit_rate * n + 0.5)
        assert stays == math.floor(roster.stay_needy.get(c.category, 0.0) * exits + 0.5)
        assert sum(g.count for g in mine if "/entry_" in g.key) == math.floor(
            3 * entry_rate * n + 0.5
        )


def test_group_keys_do_not_depend_on_other_cells(henan):
    before = roster_groups(henan, 2019)
    cells = dict(henan.population.cells)
    changed = "registered_poor_0_15_other"
    cells[changed] = cells[changed].model_copy(update={"count": Dated.parse(2 * 165600)})
    population = henan.population.model_copy(update={"cells": cells})
    after = roster_groups(henan.model_copy(update={"population": population}), 2019)
    assert {g.key for g in before} == {g.key for g in after}
    unchanged_before = [g for g in before if g.cell != changed]
    unchanged_after = [g for g in after if g.cell != changed]
    assert unchanged_before == unchanged_after
    assert [g.count for g in before if g.cell == changed] != [
        g.count for g in after if g.cell == changed
    ]
    assert all(g.key.startswith(g.cell + "/") for g in after)
    assert "registered_poor_16_59_other/exit_q2/stay" in {g.key for g in after}


@given(
    n=st.integers(0, 2_000_000),
    exit_rate=st.floats(0.0, 1 / 3),
    entry_rate=st.floats(0.0, 0.3),
    stay=st.floats(0.0, 1.0),
    day=st.integers(1, 90),
)
def test_cell_groups_conserve_persons(n, exit_rate, entry_rate, stay, day):
    roster = Roster.model_validate(
        {
            "exit_rate": {"registered_poor": exit_rate},
            "entry_rate": {"registered_poor": entry_rate},
            "stay_needy": {"registered_poor": stay},
            "stay_needy_category": {"registered_poor": "min_allowance_rural"},
            "entrant_from": "ordinary",
            "verification_day": day,
        }
    )
    c = Cell.model_validate(cell("registered_poor", n))
    groups = cell_groups("rp", c, roster, 2019)
    assert all(g.count > 0 for g in groups)
    assert sum(g.count for g in groups if g.financed_this_year) == n
    exits = sum(g.count for g in groups if "/exit_" in g.key)
    assert exits == math.floor(3 * exit_rate * n + 0.5)
    assert sum(g.count for g in groups if g.key.endswith("/stay")) == math.floor(stay * exits + 0.5)
    assert sum(g.count for g in groups if not g.financed_this_year) == math.floor(
        3 * entry_rate * n + 0.5
    )
    start_roster = sum(g.count for g in groups if g.financed_this_year)
    assert exposure(
        groups, {"registered_poor", "min_allowance_rural", "ordinary"}
    ) == pytest.approx(
        start_roster + sum(g.count for g in groups if not g.financed_this_year), rel=1e-12
    )


def test_too_many_exits_is_an_error(henan):
    roster = dict(ROSTER, exit_rate={"registered_poor": 0.4})
    bad = with_population(henan, {"rp": cell("registered_poor", 1000)}, roster)
    with pytest.raises(
        FundsimError, match=r"exit_rate\.registered_poor.*1200 persons.*1000 persons"
    ):
        roster_groups(bad, 2019)


def test_cells_without_roster_rates_have_only_stayers(henan):
    groups = roster_groups(henan, 2019)
    for g in groups:
        if henan.population.cells[g.cell].category != "registered_poor":
            assert g.key == f"{g.cell}/whole_year" and len(g.segments) == 1


def test_claim_times_follow_expected_claims():
    t = 0.3
    group = Group("c/exit_q2/stay", "c", 10, (Segment(0.0, t, "a"), Segment(t, 1.0, "b")), True)
    means = np.array([0.05, 0.2])
    n = 200_000
    times, seg = sample_claim_times(np.random.default_rng(4), group, means, n)
    assert times.shape == seg.shape == (n,) and seg.dtype == np.int64
    p0 = 0.05 / 0.25
    # share of claims in the first segment: SE sqrt(p (1 - p) / n) = 8.9e-4
    assert abs(np.mean(seg == 0) - p0) < 4 * math.sqrt(p0 * (1 - p0) / n)
    assert np.all((times[seg == 0] >= 0) & (times[seg == 0] < t))
    assert np.all((times[seg == 1] >= t) & (times[seg == 1] < 1))
    # uniform within a segment: mean of the first segment's times t / 2, SE t / sqrt(12 n0)
    n0 = int(np.sum(seg == 0))
    assert abs(times[seg == 0].mean() - t / 2) < 4 * t / math.sqrt(12 * n0)
    # a segment with no expected claims gets none; all zero: by length
    _, seg_zero = sample_claim_times(np.random.default_rng(4), group, np.array([0.0, 0.1]), 1000)
    assert np.all(seg_zero == 1)
    _, seg_len = sample_claim_times(np.random.default_rng(4), group, np.array([0.0, 0.0]), n)
    assert abs(np.mean(seg_len == 0) - t) < 4 * math.sqrt(t * (1 - t) / n)
    with pytest.raises(ValueError, match="one expected-claims value per segment"):
        sample_claim_times(np.random.default_rng(4), group, np.array([0.1]), 10)


def test_income_mean_and_cv():
    income = Income(mean_yuan=7000.0, cv=0.5)
    n = 400_000
    x = sample_income(np.random.default_rng(12), n, income)
    assert np.all(x > 0)
    # SE of the mean: 7000 * 0.5 / sqrt(n) = 5.5 yuan
    assert abs(x.mean() - 7000.0) < 4 * 7000.0 * 0.5 / math.sqrt(n)
    mu, sigma = lognormal_params(7000.0, 0.5)
    # log-income is normal: SE of its mean sigma / sqrt(n), of its variance sigma^2 sqrt(2 / n)
    assert abs(np.log(x).mean() - mu) < 4 * sigma / math.sqrt(n)
    assert abs(np.log(x).var() - sigma**2) < 4 * sigma**2 * math.sqrt(2 / n)
