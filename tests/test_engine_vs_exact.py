"""The Monte Carlo engine against the exact FFT method, on a layered one-year fund."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation import load_scenario
from simulation.engine.exact import exact_claims_distribution, exact_contract_measures
from simulation.engine.run import run
from simulation.scenario import deep_merge, validate_raw
from simulation.scenario.load import resolve_raw

DATA = Path(__file__).parent / "data" / "engine"


def order_statistic_bounds(sample: np.ndarray, q: float, z: float = 4.0) -> tuple[float, float]:
    """Distribution-free bounds for the q-quantile: the order statistics at ranks
    K q -/+ z sqrt(K q (1 - q)) (the number of draws below the true quantile is Binomial(K, q))."""
    k = sample.size
    s = np.sort(sample)
    half = z * np.sqrt(k * q * (1 - q))
    lo = int(np.clip(np.floor(k * q - half), 0, k - 1))
    hi = int(np.clip(np.ceil(k * q + half), 0, k - 1))
    return s[lo], s[hi]


def sd_standard_error(exact, k: int) -> float:
    """SE of the sample sd of ``k`` draws from the exact law: by the delta method on the sample
    variance (variance ``(mu4 - sd**4) / k``), ``sqrt((mu4 - sd**4) / (4 sd**2 k))``, with the
    central fourth moment ``mu4`` summed over the exact masses (no normal-theory assumption)."""
    m, sd = exact.mean(), exact.sd()
    mu4 = exact.expected(lambda x: (x - m) ** 4)
    return float(np.sqrt((mu4 - sd**4) / (4 * sd**2 * k)))


@pytest.mark.slow
@pytest.mark.parametrize("fund", ["serious_illness", "basic"])
def test_monte_carlo_agrees_with_exact_method(fund):
    # layered.toml: NB admissions, spliced lognormal+GPD costs by level, per-level basic deductible
    # and ratio, then an annual banded serious illness layer (deductible 10,000, bands 50-90%, cap
    # 200,000, preferential terms for the needy); no roster dynamics (the exact method's domain)
    s = load_scenario(DATA / "layered.toml")
    k = 2000
    res = run(s, paths=k, seed=2024, years=1)
    f = res.plan.funds.index(fund)
    claims = res.money["claims"][:, 0, f]
    exact = exact_claims_distribution(s, fund, 2021)
    se = claims.std(ddof=1) / np.sqrt(k)
    assert abs(claims.mean() - exact.mean()) < 4 * se, (claims.mean(), exact.mean(), se)
    # the MC standard deviation against the exact one, within 4 SE of a sample sd (seed 2024:
    # +1.16 SE for serious illness, whose kurtosis is about 9, and -0.12 SE for basic)
    se_sd = sd_standard_error(exact, k)
    assert abs(claims.std(ddof=1) - exact.sd()) < 4 * se_sd, (claims.std(ddof=1), exact.sd(), se_sd)
    for q in (0.05, 0.5, 0.95, 0.995):
        lo, hi = order_statistic_bounds(claims, q)
        assert lo <= exact.quantile(q) <= hi, (q, lo, exact.quantile(q), hi)
    if fund == "serious_illness":
        premium = res.money["premium"][0, 0, f]
        measures = exact_contract_measures(exact, premium, s.funds[fund].contract)
        clawback = res.money["clawback"][:, 0, f]
        se_c = clawback.std(ddof=1) / np.sqrt(k)
        assert abs(clawback.mean() - measures["expected_clawback"]) < 4 * se_c + 1e-9


def layered_with_roster(roster: bool = True):
    """layered.toml with the serious illness layer for the needy only and 4,000 needy persons whose
    roster moves each quarter: 15% exit to ordinary residents, 5% enter from them (no retroactive
    cover). The basic layer covers everyone per admission without an annual cap."""
    raw, _ = resolve_raw(DATA / "layered.toml")
    extra: dict = {
        "layers": {"serious_illness": {"covers": ["needy"]}},
        "population": {"cells": {"needy_old": {"count": 4000}}},
    }
    if roster:
        extra["population"]["roster"] = {
            "entry_rate": {"needy": 0.05},
            "exit_rate": {"needy": 0.15},
            "entrant_from": "ordinary",
        }
    return validate_raw(deep_merge(raw, extra), "layered.toml")


@pytest.mark.slow
def test_exact_method_follows_roster_entries_and_exits():
    # serious illness covers only the needy, and the basic layer before it carries nothing from the
    # ordinary part of a person's year (no annual cap): entrants and exits are exact for it (their
    # needy segment's claims, a thinned count). For the basic fund, covering both categories, they
    # are approximated per segment: exact in mean for a per-admission layer without a cap.
    s = layered_with_roster()
    k = 2000
    res = run(s, paths=k, seed=7, years=1)
    stayers_only = layered_with_roster(roster=False)
    for fund in ("serious_illness", "basic"):
        claims = res.sims["fund_claims"][:, 0, res.plan.funds.index(fund)]
        exact = exact_claims_distribution(s, fund, 2021)
        se = claims.std(ddof=1) / np.sqrt(k)
        assert abs(claims.mean() - exact.mean()) < 4 * se, (fund, claims.mean(), exact.mean(), se)
        # the roster matters: ignoring it (stayers only) is far off
        old = exact_claims_distribution(stayers_only, fund, 2021).mean()
        assert abs(claims.mean() - old) > 10 * se, (fund, claims.mean(), old, se)
        if fund == "serious_illness":
            assert exact.notes == ()
            # needy at the start of the year plus the entrants (4,000 * 0.05 * 3 quarters)
            assert exact.n_persons == 4000 + 600
            se_sd = sd_standard_error(exact, k)  # seed 7: +1.38 SE
            assert abs(claims.std(ddof=1) - exact.sd()) < 4 * se_sd, (claims.std(ddof=1), se_sd)
        else:
            # every person, the needy entrants and exits (20% of 4,000 a quarter) approximated
            assert exact.n_persons == 3000 + 1000 + 4000 + 600
            assert any(n.startswith("2,400 persons (6 roster groups)") for n in exact.notes)
