"""The report's exact check under systematic risk: the exact law given each path's factors
(standardised residuals, a KS test of the probability transform) and the unconditional mean and
SD against the factors' quadrature rule; it fails when the Monte Carlo numbers are wrong."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulation.engine.run import run
from simulation.report import build_report
from simulation.report.tables import CONDITIONAL_QUANTITIES, exact_check
from tests.test_systematic_engine import SECTION as GROUPED
from tests.test_systematic_engine import scenario
from tests.test_variance_split import SECTION


@pytest.fixture(scope="module")
def result():
    return run(scenario(SECTION), paths=500, seed=7)


def test_rows_agree_under_systematic_risk(result):
    ex, notes, failures = exact_check(result, result.summary())
    assert failures == []
    assert set(ex["fund"]) == {"basic", "serious_illness"}
    for _, d in ex.groupby("fund"):
        assert tuple(d["quantity"]) == CONDITIONAL_QUANTITIES
        assert all(a in (True, None) for a in d["agrees"])
    mean = ex[ex["quantity"] == "mean"].set_index("fund")
    sd = ex[ex["quantity"] == "sd"].set_index("fund")
    # the unconditional SD includes the factors': well above the process SD alone
    off = run(scenario(None), paths=200, seed=7).summary().set_index("fund")
    assert (sd["exact"] > 1.5 * off.loc[sd.index, "claims_sd"]).all()
    assert (mean["z"].abs() < 4).all()
    assert all("surface error" in n for n in notes)


def test_wrong_monte_carlo_numbers_fail(result):
    money = dict(result.money)
    money["claims"] = (
        money["claims"] * np.where(np.arange(result.n_paths) % 2, 1.15, 0.85)[:, None, None]
    )
    bad = dataclasses.replace(result, money=money)
    ex, _, _ = exact_check(bad, bad.summary())
    sd = ex[ex["quantity"] == "resid_sd"].set_index("fund")
    assert sd.loc["basic", "agrees"] is False  # a spread the factors do not explain


def test_factors_by_group_are_a_reason_and_the_report_renders(result):
    r = run(scenario(GROUPED), paths=20, seed=1)
    ex, _, failures = exact_check(r, r.summary())
    assert ex.empty and all("one multiplier per claim type" in f for f in failures)
    html = build_report(result, exact=True, cashflow_paths=0).html
    assert 'id="table-exact"' in html and "KS p-value" in html
    zh = build_report(result, exact=True, cashflow_paths=0, lang="zh").html
    assert "KS 检验" in zh and "surface error" not in zh
