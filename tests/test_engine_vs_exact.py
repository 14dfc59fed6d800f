"""The Monte Carlo engine against the exact FFT method, on a layered one-year fund."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation import load_scenario
from simulation.engine.exact import exact_claims_distribution, exact_contract_measures
from simulation.engine.run import run

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
    # the MC standard deviation against the exact one: SE of a sample sd ~ sd / sqrt(2 K) (normal)
    assert abs(claims.std(ddof=1) - exact.sd()) < 4 * exact.sd() / np.sqrt(2 * k) * 1.5
    for q in (0.05, 0.5, 0.95, 0.995):
        lo, hi = order_statistic_bounds(claims, q)
        assert lo <= exact.quantile(q) <= hi, (q, lo, exact.quantile(q), hi)
    if fund == "serious_illness":
        premium = res.money["premium"][0, 0, f]
        measures = exact_contract_measures(exact, premium, s.funds[fund].contract)
        clawback = res.money["clawback"][:, 0, f]
        se_c = clawback.std(ddof=1) / np.sqrt(k)
        assert abs(clawback.mean() - measures["expected_clawback"]) < 4 * se_c + 1e-9
