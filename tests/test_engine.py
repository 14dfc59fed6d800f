"""The Monte Carlo engine: closed forms, reproducibility, common random numbers, money identities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation import load_scenario
from simulation.engine.run import run
from simulation.engine.streams import BLOCK_PATHS
from simulation.models.severity import lognormal_params
from simulation.scenario import deep_merge, validate_raw
from simulation.scenario.load import resolve_raw

DATA = Path(__file__).parent / "data" / "engine"


def variant(path: Path, override: dict):
    """The scenario at ``path`` with ``override`` deep-merged on (rules-only changes)."""
    raw, _ = resolve_raw(path)
    return validate_raw(deep_merge(raw, override), str(path))


@pytest.mark.slow
def test_compound_poisson_closed_form_mean_and_variance():
    # Claims S = sum of c * X over N ~ Poisson(n lambda) admissions, X lognormal (mean 10,000,
    # CV 1.5), c = 0.6: E[S] = n lambda E[X] c, Var[S] = n lambda E[X^2] c^2.
    s = load_scenario(DATA / "coinsurance.toml")
    k = 3000
    res = run(s, paths=k, seed=11)
    claims = res.money["claims"][:, 0, 0]
    n, lam, c = 2000, 0.2, 0.6
    mu, sigma = lognormal_params(10000.0, 1.5)
    ex = np.exp(mu + sigma**2 / 2)
    ex2 = np.exp(2 * mu + 2 * sigma**2)
    ex4 = np.exp(4 * mu + 8 * sigma**2)
    mean = n * lam * ex * c
    var = n * lam * ex2 * c**2
    se_mean = np.sqrt(var / k)  # about 5,500 yuan for k = 3000
    assert abs(claims.mean() - mean) < 4 * se_mean
    # Var of the sample variance ~ (kappa4 + 2 var^2) / k with kappa4 = n lambda E[X^4] c^4
    kappa4 = n * lam * ex4 * c**4
    se_var = np.sqrt((kappa4 + 2 * var**2) / k)
    assert abs(claims.var(ddof=1) - var) < 4 * se_var


def test_same_result_whatever_the_paths_around_it():
    # a path's numbers depend only on (scenario, seed, its block): running more paths, or a
    # block boundary in a different place, leaves the first paths unchanged
    s = load_scenario(DATA / "layered.toml")
    small = run(s, paths=BLOCK_PATHS + 3, seed=5)
    large = run(s, paths=2 * BLOCK_PATHS + 1, seed=5)
    np.testing.assert_array_equal(small.money["claims"], large.money["claims"][: BLOCK_PATHS + 3])
    other_seed = run(s, paths=BLOCK_PATHS + 3, seed=6)
    assert not np.array_equal(small.money["claims"], other_seed.money["claims"])


def test_scenario_against_itself_is_exactly_zero():
    s = load_scenario(DATA / "layered.toml")
    a = run(s, paths=40, seed=3)
    b = run(s, paths=40, seed=3)
    for name in a.money:
        np.testing.assert_array_equal(a.money[name], b.money[name])


def test_raising_a_ratio_never_lowers_any_paths_claims():
    base = load_scenario(DATA / "layered.toml")
    richer = variant(
        DATA / "layered.toml",
        {"layers": {"serious_illness": {"preferential": {"needy": {"ratio_addon": 0.15}}}}},
    )
    a = run(base, paths=48, seed=9)
    b = run(richer, paths=48, seed=9)
    f = a.plan.funds.index("serious_illness")
    # same people and costs on every path (common random numbers) ...
    np.testing.assert_array_equal(a.sims["total_cost"], b.sims["total_cost"])
    np.testing.assert_array_equal(a.sims["admissions"], b.sims["admissions"])
    # ... so a richer rule pays at least as much on every path, and more on some
    diff = b.money["claims"][:, :, f] - a.money["claims"][:, :, f]
    assert (diff >= -1e-6).all()
    assert (diff > 0).any()


def test_cell_size_change_does_not_shift_other_cells_draws():
    base = load_scenario(DATA / "layered.toml")
    bigger = variant(
        DATA / "layered.toml", {"population": {"cells": {"needy_old": {"count": 900}}}}
    )
    a = run(base, paths=20, seed=4)
    b = run(bigger, paths=20, seed=4)
    c = a.plan.categories.index("ordinary")
    np.testing.assert_array_equal(
        a.sims["category_claims"][:, :, c], b.sims["category_claims"][:, :, c]
    )


def test_money_identity_cap_and_clawback_on_every_path():
    # financing near the expected claims (~24 yuan a head) so that both surplus and loss years occur
    s = variant(DATA / "layered.toml", {"funds": {"serious_illness": {"financing_per_head": 25}}})
    res = run(s, paths=64, seed=21)
    m = res.money
    f = res.plan.funds.index("serious_illness")
    premium, claims = m["premium"][:, :, f], m["claims"][:, :, f]
    result, clawback, subsidy = (
        m["insurer_result"][:, :, f],
        m["clawback"][:, :, f],
        m["subsidy"][:, :, f],
    )
    # premium in = claims + insurer result + clawback - subsidy, to the cent
    np.testing.assert_allclose(premium, claims + result + clawback - subsidy, rtol=0, atol=0.005)
    # the insurer's result incl. operating cost never exceeds 3% of premium
    assert (result <= 0.03 * premium + 0.005).all()
    # no clawback in a loss year
    assert (clawback[premium - claims < 0] == 0).all()
    # no rule changed: no subsidy
    assert (subsidy == 0).all()
    assert (clawback > 0).any() and (premium - claims < 0).any(), "both regimes should occur"


def test_policy_change_subsidy_attributes_the_overrun():
    # from 2022 the serious illness ratios rise by 20 points for the needy: the insurer's overrun
    # caused by the change is subsidised, computed on the same paths under the old rules
    changed = variant(
        DATA / "layered.toml",
        {
            "funds": {"serious_illness": {"financing_per_head": 25}},
            "changes": {
                "2022": {
                    "layers": {
                        "serious_illness": {"preferential": {"needy": {"ratio_addon": 0.25}}}
                    }
                }
            },
        },
    )
    res = run(changed, paths=64, seed=21)
    m = res.money
    f = res.plan.funds.index("serious_illness")
    assert (m["subsidy"][:, 0, f] == 0).all(), "no change in force in 2021"
    y = 1
    new_claims, old_claims = m["claims"][:, y, f], m["claims_old"][:, y, f]
    assert (new_claims >= old_claims - 1e-6).all()
    subsidy = m["subsidy"][:, y, f]
    assert (subsidy >= 0).all()
    # the subsidy never exceeds the extra claims the change caused, nor the insurer's loss
    assert (subsidy <= new_claims - old_claims + 0.005).all()
    assert subsidy.sum() > 0
    premium = m["premium"][:, y, f]
    np.testing.assert_allclose(
        premium,
        new_claims + m["insurer_result"][:, y, f] + m["clawback"][:, y, f] - subsidy,
        atol=0.005,
    )


def test_summary_has_the_documented_keys():
    s = load_scenario(DATA / "layered.toml")
    summary = run(s, paths=20, seed=1).summary()
    for key in (
        "fund",
        "year",
        "premium_mean",
        "claims_mean",
        "claims_sd",
        "claims_q995",
        "insurer_result_mean",
        "p_insurer_loss",
        "clawback_mean",
        "subsidy_mean",
        "beneficiaries_mean",
        "catastrophic_share_mean",
    ):
        assert key in summary.columns, key
    for key in ("claims_mean", "insurer_result_mean", "clawback_mean", "beneficiaries_mean"):
        assert f"{key[:-5]}_se" in summary.columns
    assert len(summary) == len(s.funds) * 2


def test_term_settlement_caps_and_claws_back_on_the_term_totals():
    from simulation.rules.contract import settle_term

    term = variant(
        DATA / "layered.toml",
        {"funds": {"serious_illness": {"contract": {"settlement": "term", "term_years": 2}}}},
    )
    res = run(term, paths=48, seed=21)
    m = res.money
    f = res.plan.funds.index("serious_illness")
    premium, claims = m["premium"][:, :, f], m["claims"][:, :, f]
    # the identity holds in every year, the first year carrying the provisional result P - S
    np.testing.assert_allclose(
        premium, claims + m["insurer_result"][:, :, f] + m["clawback"][:, :, f], atol=0.005
    )
    np.testing.assert_allclose(m["insurer_result"][:, 0, f], premium[:, 0] - claims[:, 0])
    assert (m["clawback"][:, 0, f] == 0).all()
    # over the term: the cap and clawback apply to the two-year totals
    expected = settle_term(term.funds["serious_illness"].contract, premium, claims)
    np.testing.assert_allclose(m["clawback"][:, 1, f], expected["clawback"], atol=0.005)
    np.testing.assert_allclose(
        m["insurer_result"][:, :, f].sum(axis=1), expected["insurer_result"], atol=0.005
    )
    assert (m["insurer_result"][:, :, f].sum(axis=1) <= 0.03 * premium.sum(axis=1) + 0.005).all()
    # same claims as the annual contract (rules of settlement do not move the draws)
    annual = run(load_scenario(DATA / "layered.toml"), paths=48, seed=21)
    np.testing.assert_array_equal(annual.money["claims"], m["claims"])
