"""The full engine under systematic factors: closed forms (mixed Poisson is negative binomial; the
law of total variance), common random numbers, threads and the off switch."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats

from simulation.engine.run import run, threaded
from simulation.scenario import validate_raw
from tests.scenario_variants import base_raw


def poisson_raw(section: dict | None, horizon: int = 1) -> dict:
    raw = copy.deepcopy(base_raw())
    freq = raw["claims"]["inpatient"]["frequency"]
    freq["distribution"] = "poisson"
    freq["dispersion"] = 0.0
    raw["horizon_years"] = horizon
    raw.pop("changes", None)
    if section is not None:
        raw["systematic"] = {"enabled": True, **section}
    return raw


def scenario(section: dict | None, horizon: int = 1, raw: dict | None = None):
    return validate_raw(raw if raw is not None else poisson_raw(section, horizon), "x.toml")


def test_off_switch_is_bit_identical():
    s_none = scenario(None, 2)
    s_off = validate_raw(
        {
            **poisson_raw(None, 2),
            "systematic": {"enabled": False, "frequency": {"inpatient": {"cv": 0.3}}},
        },
        "x.toml",
    )
    a, b = run(s_none, paths=40, seed=3), run(s_off, paths=40, seed=3)
    for k in a.sims:
        np.testing.assert_array_equal(a.sims[k], b.sims[k])
    assert a.factors is None and b.factors is None


def test_gamma_mixed_poisson_admissions_are_negative_binomial():
    cv, paths = 0.25, 1500
    s0 = scenario(None)
    s = scenario({"frequency": {"inpatient": {"cv": cv, "law": "gamma"}}})
    # Lambda: the expected admissions of the year, from the process-only run (Poisson: mean = var)
    base = run(s0, paths=400, seed=1).sims["admissions"][:, 0, 0]
    lam = base.mean()
    n = run(s, paths=paths, seed=2).sims["admissions"][:, 0, 0]
    r = 1.0 / cv**2
    nb = stats.nbinom(r, r / (r + lam))
    assert abs(n.mean() - lam) < 4 * np.sqrt(nb.var() / paths + lam / 400)
    # variance Lambda + cv^2 Lambda^2 within 4 SE of a sample variance (kurtosis of the law)
    var_se = np.sqrt((nb.moment(4) - 4 * nb.mean() * nb.moment(3) + 6 * nb.mean() ** 2 * nb.moment(2)
                      - 3 * nb.mean() ** 4 - nb.var() ** 2) / paths)  # fmt: skip
    assert abs(n.var(ddof=1) - nb.var()) < 4 * var_se + 2 * lam * cv**2 * 4 * np.sqrt(lam / 400)
    # the whole law: Kolmogorov-Smirnov against the negative binomial (mean from the plan)
    assert stats.kstest(n, nb.cdf).pvalue > 1e-4


def test_total_cost_mean_and_variance_law_of_total_variance():
    cm, cc, paths = 0.15, 0.1, 2000
    s0 = scenario(None)
    s = scenario(
        {
            "frequency": {"inpatient": {"cv": cm, "law": "gamma"}},
            "cost": {"inpatient": {"cv": cc}},
        }
    )
    base = run(s0, paths=2000, seed=5).sims["total_cost"][:, 0, 0]
    mu0, v0 = base.mean(), base.var(ddof=1)
    t = run(s, paths=paths, seed=6).sims["total_cost"][:, 0, 0]
    # compound Poisson given (m, c): E = m c mu0, Var = m c^2 v0; m, c independent, mean 1
    e_c2 = 1 + cc**2
    want_var = e_c2 * v0 + ((1 + cm**2) * e_c2 - 1) * mu0**2
    assert abs(t.mean() - mu0) < 4 * np.sqrt(want_var / paths + v0 / 2000)
    se_var = t.var(ddof=1) * np.sqrt((stats.kurtosis(t, fisher=True) + 2) / paths)
    se_v0 = v0 * np.sqrt((stats.kurtosis(base, fisher=True) + 2) / 2000)
    se_mu2 = 2 * mu0 * np.sqrt(v0 / 2000) * ((1 + cm**2) * e_c2 - 1)
    assert abs(t.var(ddof=1) - want_var) < 4 * np.sqrt(se_var**2 + (e_c2 * se_v0) ** 2 + se_mu2**2)


SECTION = {
    "frequency": {"inpatient": {"cv": 0.1, "phi": 0.5, "trend_sd": 0.01, "groups": "category",
                                "correlation": 0.6}},
    "cost": {"inpatient": {"cv": 0.08}},
    "events": {"epidemic": {"probability": 0.2, "frequency": {"inpatient": {"primary": 0.7}}}},
}  # fmt: skip


def test_threads_and_crn_and_columns():
    s = scenario(SECTION, 2)
    a = run(s, paths=37, seed=4, runner=threaded(1))
    b = run(s, paths=37, seed=4, runner=threaded(2))
    for k in a.sims:
        np.testing.assert_array_equal(a.sims[k], b.sims[k])
    # a rules-only variant: the same factor columns, exactly
    raw = poisson_raw(SECTION, 2)
    layer = next(iter(raw["layers"].values()))
    for band in layer.get("bands", []):
        band["ratio"] = min(1.0, band["ratio"] + 0.05)
    v = run(validate_raw(raw, "x.toml"), paths=37, seed=4)
    pa, pv = a.paths, v.paths
    fcols = [c for c in pa.columns if c.startswith(("factor_", "event_", "draw_"))]
    assert "event_epidemic" in fcols and "draw_trend_frequency_inpatient" in fcols
    for c in fcols:
        assert (pa[c].to_numpy() - pv[c].to_numpy() == 0).all()
    # admissions (drawn before any rule) are the same too: common random numbers
    np.testing.assert_array_equal(a.sims["admissions"], v.sims["admissions"])
    # a run of fewer paths: the same paths' numbers
    c = run(s, paths=20, seed=4)
    np.testing.assert_array_equal(c.sims["fund_claims"], a.sims["fund_claims"][:20])


def test_variance_split_in_summary():
    s = scenario({"frequency": {"inpatient": {"cv": 0.2}}, "cost": {"inpatient": {"cv": 0.1}}})
    r = run(s, paths=600, seed=8)
    sm = r.summary()
    row = sm.iloc[0]
    total = row["claims_sd"] ** 2
    assert row["claims_var_systematic"] + row["claims_var_process"] == pytest.approx(total)
    # the process part is near the process-only run's variance (4 SE of a variance, both runs)
    off = run(scenario(None), paths=600, seed=9).summary().iloc[0]
    v0 = off["claims_sd"] ** 2
    assert off["claims_var_systematic"] == 0.0
    assert abs(row["claims_var_process"] / v0 - 1) < 4 * np.sqrt(2 / 600) * 2
    assert row["claims_systematic_share"] > 0.5
