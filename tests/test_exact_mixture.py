"""The exact method as a mixture over the systematic factors, against the Monte Carlo engine."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engine.exact import exact_contract_measures
from simulation.engine.exact.mixture import exact_mixture_distribution, factor_nodes
from simulation.engine.run import run
from tests.test_systematic_engine import scenario

EXACT = {"n_grid": 2**12, "n_aggregate": 2**13}


def _compare(section: dict, paths: int, year_index: int, **nodes) -> None:
    s = scenario(section, horizon=year_index + 1)
    fund = "serious_illness"
    year = s.start_year + year_index
    d = exact_mixture_distribution(s, fund, year, **nodes, **EXACT)
    r = run(s, paths=paths, seed=12, years=year_index + 1)
    f = r.plan.funds.index(fund)
    mc = r.money["claims"][:, year_index, f]
    assert abs(mc.mean() - d.mean()) < 4 * d.sd() / np.sqrt(paths)
    assert abs(mc.std(ddof=1) / d.sd() - 1) < 4 * np.sqrt(2.0 / paths) * 1.5
    # quantiles: the exact q-quantile lies between the order statistics of ranks
    # n q -+ 4 sqrt(n q (1 - q)) (binomial bound)
    srt = np.sort(mc)
    for q in (0.05, 0.5, 0.95, 0.995):
        half = 4 * np.sqrt(paths * q * (1 - q)) + 1
        lo, hi = int(max(paths * q - half, 0)), int(min(paths * q + half, paths - 1))
        assert srt[lo] <= d.quantile(q) + d.step <= srt[hi] + 2 * d.step
    premium = r.plan.years[year_index].premium[fund]
    contract = s.funds[fund].contract
    m = exact_contract_measures(d, premium, contract)
    clawback = r.money["clawback"][:, year_index, f]
    assert (
        abs(clawback.mean() - m["expected_clawback"])
        < 4 * clawback.std(ddof=1) / np.sqrt(paths) + 1e-9 * premium
    )
    loss = r.money["insurer_result_net"][:, year_index, f] < 0
    p = m["p_insurer_loss"]
    assert abs(loss.mean() - p) < 4 * np.sqrt(max(p * (1 - p), 1 / paths) / paths)


def test_nodes_are_a_probability_rule():
    s = scenario({"frequency": {"inpatient": {"cv": 0.1}}, "events": {"e": {"probability": 0.3}}})
    rule = factor_nodes(s.systematic, 0, n_nodes=5)
    assert len(rule) == 10
    w = np.array([r[0] for r in rule])
    assert w.sum() == pytest.approx(1.0)
    m = np.array([r[1][("frequency", "inpatient")][0] for r in rule])
    assert np.dot(w, m) == pytest.approx(1.0, rel=1e-12)  # lognormal nodes keep the mean
    assert np.dot(w, m**2) == pytest.approx(1.01, rel=1e-9)


def test_mixture_against_monte_carlo_frequency_and_event():
    section = {
        "frequency": {"inpatient": {"cv": 0.15, "phi": 0.5}},
        "events": {"epidemic": {"probability": 0.2, "frequency": {"inpatient": {"primary": 0.6, "county": 0.8}}}},
    }  # fmt: skip
    _compare(section, paths=1000, year_index=0, n_nodes=5)


@pytest.mark.slow
def test_mixture_against_monte_carlo_all_kinds():
    section = {
        "frequency": {"inpatient": {"cv": 0.12, "phi": 0.5, "trend_sd": 0.03}},
        "cost": {"inpatient": {"cv": 0.08, "law": "gamma"}},
        "events": {"drug": {"probability": 0.25, "cost": {"inpatient": {"city": 1.3}}}},
        "parameters": {"inpatient": {"names": ["frequency.rate", "severity.county.mean"],
                                     "covariance": [[0.0025, 0.0005], [0.0005, 0.0016]]}},
    }  # fmt: skip
    _compare(section, paths=2000, year_index=1, n_nodes=5, n_param_nodes=2, cap_tolerance=0.01)
