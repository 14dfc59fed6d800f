"""Tender pricing (issue 7): break-even and target financing, risk measures, benefit solves.

Zero variance: the claim models cannot express it (a severity needs cv > 0 and claim counts are
random), so the deterministic tests construct the claims arrays directly
(:meth:`ClaimsSample.from_arrays`) and price them with the same functions.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulation import load_scenario
from simulation.cli import main
from simulation.engine.plan import build_plan
from simulation.engine.run import run
from simulation.errors import FundsimError
from simulation.pricing import (
    ClaimsSample,
    FinancingBasis,
    Target,
    break_even_financing,
    claims_sample,
    compare_bids,
    cost_plus_management_rate,
    exact_price,
    financing_for_loss_probability,
    financing_for_target_margin,
    max_ratio_addon,
    min_threshold,
    net_result,
    premium_basis,
    price_distribution,
    pricing_summary,
    settle_sample,
    simulate_claims,
    solve_financing,
    var_tvar,
    with_financing,
    with_ratio_addon,
    with_threshold,
)
from simulation.scenario import deep_merge, validate_raw
from simulation.scenario.load import resolve_raw
from simulation.scenario.schema import Contract

DATA = Path(__file__).parent / "data" / "engine"
LAYERED = DATA / "layered.toml"
FUND = "serious_illness"

CAPPED = Contract(
    kind="capped_profit",
    profit_cap_rate=0.03,
    operating_cost_fixed_yuan=1000.0,
    operating_cost_rate=0.02,
    term_years=2,
)


def variant(override: dict):
    raw, _ = resolve_raw(LAYERED)
    return validate_raw(deep_merge(raw, override), str(LAYERED))


@pytest.fixture(scope="module")
def layered():
    return load_scenario(LAYERED)


@pytest.fixture(scope="module")
def sample(layered):
    # 400 paths of the 2-year term of layered.toml, seed 1
    return simulate_claims(layered, FUND, paths=400, seed=1)


# --------------------------------------------------------------------------- zero variance


@pytest.mark.parametrize("settlement", ["annual", "term"])
def test_deterministic_break_even_is_claims_plus_operating_cost_per_head(settlement):
    # every path pays 200,000 yuan a year for 8,000 persons: cost per head over the 2-year term
    # = (2 * 200,000 + 2 * 1,000 + 0.02 * 400,000) / (2 * 4,000) = 51.25 yuan, operating cost
    # well inside the 3% cap, so the break-even is exactly that
    contract = CAPPED.model_copy(update={"settlement": settlement})
    s = ClaimsSample.from_arrays(np.full((30, 2), 200_000.0), contract, insured=4000, financing=60)
    sol = break_even_financing(s)
    assert sol.expected_cost_per_head == pytest.approx(51.25, rel=1e-12)
    assert sol.value == pytest.approx(51.25, rel=1e-9)
    assert sol.se == 0.0
    assert sol.gap == pytest.approx(0.0, abs=1e-6)
    assert sol.distribution.term.result_mean == pytest.approx(0.0, abs=1e-3)


def test_deterministic_break_even_one_year_of_each_size():
    for claims, insured in [(1e6, 10_000), (5e5, 1_000), (3.3e5, 4_321)]:
        s = ClaimsSample.from_arrays(np.full((5, 1), claims), CAPPED, insured=insured, financing=1)
        cost = (claims + 1000 + 0.02 * claims) / insured
        assert break_even_financing(s).value == pytest.approx(cost, rel=1e-9)


def test_deterministic_break_even_when_operating_cost_exceeds_the_cap():
    # 50,000 yuan of claims, operating cost 1,000 + 1,000: at cost price (52 yuan per head for
    # 1,000 persons) the 3% cap allows 1,560 < 2,000, so the insurer needs 0.03 P = O: P = 66,667
    s = ClaimsSample.from_arrays(np.full((5, 1), 5e4), CAPPED, insured=1000, financing=1)
    sol = break_even_financing(s)
    assert sol.expected_cost_per_head == pytest.approx(52.0)
    assert sol.value == pytest.approx(2000 / 0.03 / 1000, rel=1e-9)


def test_deterministic_cost_plus_management_rate_is_operating_cost_share():
    s = ClaimsSample.from_arrays(np.full((10, 2), 200_000.0), CAPPED, insured=4000, financing=60)
    sol = cost_plus_management_rate(s)
    assert sol.value == pytest.approx((2 * 1000 + 0.02 * 400_000) / 400_000, rel=1e-9)
    assert sol.se == 0.0


# --------------------------------------------------------------------------- the cost of the cap


def spread_samples(lams, k=3000, seed=5):
    # claims = mean + lam * (X - mean): mean-preserving spreads of the same draws
    rng = np.random.default_rng(seed)
    x = rng.gamma(4.0, 50_000.0, size=(k, 2))  # mean 200,000 yuan a year
    x = x - x.mean() + 200_000.0
    return [
        ClaimsSample.from_arrays(
            200_000.0 + lam * (x - 200_000.0), CAPPED, insured=4000, financing=60
        )
        for lam in lams
    ]


def test_break_even_above_expected_cost_and_grows_with_variance():
    lams = [0.0, 0.25, 0.5, 1.0, 1.5]
    sols = [break_even_financing(s) for s in spread_samples(lams)]
    costs = [s.expected_cost_per_head for s in sols]
    # same mean claims whatever the spread (the operating cost is linear in claims)
    assert np.allclose(costs, costs[0], rtol=1e-12)
    assert sols[0].value == pytest.approx(costs[0], rel=1e-9)
    values = [s.value for s in sols]
    assert all(b > a for a, b in zip(values, values[1:], strict=False)), values
    for s in sols[1:]:
        assert s.value > s.expected_cost_per_head + 4 * s.se, (
            s.value,
            s.expected_cost_per_head,
            s.se,
        )


def test_engine_break_even_above_expected_cost(sample):
    sol = break_even_financing(sample)
    assert sol.value > sol.expected_cost_per_head + 4 * sol.se
    assert sol.gap > 0
    # the cost of the cap is the expected clawback given up, per head, at the break-even
    clawback_per_head = sol.distribution.term.clawback_mean / sample.basis.per_unit.sum()
    assert sol.gap == pytest.approx(clawback_per_head, rel=1e-6)


# --------------------------------------------------------------------------- engine consistency


def test_settlement_matches_the_engine_at_the_scenarios_financing(layered):
    res = run(layered, paths=48, seed=3, years=2)
    s = claims_sample(res, FUND)
    f = res.plan.funds.index(FUND)
    settled = settle_sample(s)  # the scenario's own premium
    for key in ("premium", "claims", "clawback", "operating_cost", "insurer_result_net", "subsidy"):
        np.testing.assert_allclose(settled[key], res.money[key][:, :, f], rtol=1e-12, atol=1e-6)
    # the scale basis reproduces the scenario's premium at its own financing per head
    np.testing.assert_allclose(
        s.premium(s.basis.reference), res.money["premium"][0, :, f], rtol=1e-12
    )
    assert s.basis.reference == pytest.approx(60.0)


def test_with_financing_gives_the_premium_of_the_basis(layered):
    for basis in (FinancingBasis.SCALE, FinancingBasis.LEVEL):
        pb = premium_basis(layered, FUND, years=2, basis=basis)
        plan = build_plan(with_financing(layered, FUND, 71.5, basis), 2)
        engine_premium = [yp.premium[FUND] for yp in plan.years]
        np.testing.assert_allclose(pb.premium(71.5), engine_premium, rtol=1e-12)
    # level basis: no growth, 71.5 per head every year
    plan = build_plan(with_financing(layered, FUND, 71.5, "level"), 2)
    assert [yp.premium[FUND] for yp in plan.years] == pytest.approx([71.5 * 4500] * 2)


def test_tier_basis_prices_one_tier(layered):
    raw, _ = resolve_raw(LAYERED)
    for cell, tier in [("ordinary_adults", "low"), ("ordinary_old", "low"), ("needy_old", "high")]:
        raw["population"]["cells"][cell]["tier"] = tier
    raw["funds"][FUND]["financing_per_head"] = {"low": 50, "high": {"2021": 120, "growth": 0.1}}
    tiered = validate_raw(raw, str(LAYERED))
    pb = premium_basis(tiered, FUND, years=2, basis="tier", tier="high")
    np.testing.assert_allclose(pb.fixed, [50 * 4000] * 2)
    np.testing.assert_allclose(pb.per_unit, [500, 500])
    assert pb.reference == 120
    plan = build_plan(with_financing(tiered, FUND, 99.0, "tier", "high"), 2)
    np.testing.assert_allclose(
        pb.premium(99.0), [yp.premium[FUND] for yp in plan.years], rtol=1e-12
    )
    with pytest.raises(FundsimError, match="tier 'middle'"):
        premium_basis(tiered, FUND, basis="tier", tier="middle")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["break-even", "margin:0.01", "loss-prob:0.3"])
def test_solution_reproduces_its_target_on_another_seed(layered, sample, target):
    tgt = Target.parse(target)
    sol = solve_financing(sample, tgt)
    k2 = 400
    res = run(with_financing(layered, FUND, sol.value), paths=k2, seed=2, years=2)
    f = res.plan.funds.index(FUND)
    np.testing.assert_allclose(res.money["premium"][0, :, f], sample.premium(sol.value), rtol=1e-12)
    net = res.money["insurer_result_net"][:, :, f].sum(axis=1)
    premium = res.money["premium"][0, :, f].sum()
    if tgt.is_mean:
        # E[R] - m P on seed 2 is 0 up to the error of the solution (SE x slope, in yuan) and
        # seed 2's own sampling error (sd / sqrt(400)); the solution's SE is a few tenths of a yuan
        err_solution = sol.se * abs(sol.slope)
        err_check = net.std(ddof=1) / math.sqrt(k2)
        gap = net.mean() - tgt.value * premium
        assert abs(gap) < 4 * math.hypot(err_solution, err_check), (gap, err_solution, err_check)
    else:
        # P(loss) at the solution is the target up to sqrt(a (1 - a) / K) from each seed
        a = tgt.value
        p = np.mean(net < 0)
        se = math.sqrt(a * (1 - a) / sample.n_paths + a * (1 - a) / k2)
        assert abs(p - a) < 4 * se, (p, a, se)
    # and the batch-means SE agrees with the delta-method SE (within a factor of 3: it is itself
    # an estimate from 11 to 20 batches)
    assert sol.se_batch is not None and 1 / 3 < sol.se_batch / sol.se < 3.0


# --------------------------------------------------------------------------- monotonicity


def test_higher_financing_never_lowers_the_result_or_raises_the_loss_probability(sample):
    bids = np.linspace(30.0, 120.0, 19)
    nets = np.array([net_result(sample, b) for b in bids])
    assert (np.diff(nets, axis=0) >= -1e-9).all(), "pathwise monotone"
    frame = compare_bids(sample, bids).to_frame()
    assert (np.diff(frame["result_mean"]) >= 0).all()
    assert (np.diff(frame["p_loss"]) <= 0).all()
    assert (np.diff(frame["var_995"]) <= 1e-9).all()
    assert frame["p_loss"].iloc[0] > frame["p_loss"].iloc[-1]


@given(
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["capped_profit", "corridor"]),
    cap=st.floats(0.0, 0.1),
    band=st.floats(0.0, 0.2),
    share=st.floats(0.0, 1.0),
    fixed=st.floats(0.0, 5_000.0),
    rate=st.floats(0.0, 0.05),
    settlement=st.sampled_from(["annual", "term"]),
    b1=st.floats(0.0, 200.0),
    db=st.floats(0.0, 100.0),
)
def test_monotone_in_financing_property(
    seed, kind, cap, band, share, fixed, rate, settlement, b1, db
):
    # under a corridor the fund's share of the excess loss must be at least band / (1 + band)
    # for the insurer's result to rise with premium (module docstring of simulation.pricing)
    share = max(share, band / (1 + band))
    contract = Contract(
        kind=kind,
        profit_cap_rate=cap,
        loss_band_rate=band,
        excess_insurer_share=share,
        operating_cost_fixed_yuan=fixed,
        operating_cost_rate=rate,
        term_years=2,
        settlement=settlement,
    )
    rng = np.random.default_rng(seed)
    claims = rng.gamma(0.5, 100_000.0, size=(50, 3))
    s = ClaimsSample.from_arrays(claims, contract, insured=1000, financing=50)
    lo, hi = net_result(s, b1), net_result(s, b1 + db)
    assert (hi >= lo - 1e-7).all()
    assert np.mean(hi < 0) <= np.mean(lo < 0)


# --------------------------------------------------------------------------- targets and measures


def test_targets_are_met_on_the_sample(sample):
    be = break_even_financing(sample)
    assert abs(be.achieved) < 1e-6 * sample.premium(be.value).sum()
    mg = financing_for_target_margin(sample, 0.01)
    assert mg.achieved == pytest.approx(0.01, abs=1e-9)
    assert mg.value > be.value
    lp = financing_for_loss_probability(sample, 0.2)
    assert lp.achieved <= 0.2
    # the smallest such bid: a hair less loses more often
    assert np.mean(net_result(sample, lp.value - 1e-6 * lp.value) < 0) > 0.2
    assert lp.distribution.term.p_loss == lp.achieved
    for sol in (be, mg, lp):
        assert sol.se > 0 and math.isfinite(sol.se)
        assert sol.paths_needed(sol.se) == math.ceil(sol.paths * 1.96**2)


def test_unreachable_targets_are_refused(sample):
    with pytest.raises(FundsimError, match="caps the insurer's result at 0.03"):
        financing_for_target_margin(sample, 0.05)
    cost_plus = sample.with_contract(CAPPED.model_copy(update={"kind": "cost_plus"}))
    with pytest.raises(FundsimError, match="management rate"):
        break_even_financing(cost_plus)
    with pytest.raises(FundsimError, match="loss-prob"):
        Target.parse("loss-prob:1.5")
    with pytest.raises(FundsimError, match="unknown target"):
        Target.parse("profit")


def test_a_target_met_everywhere_returns_the_end_of_the_range():
    # no claims and no operating cost: any financing breaks even, the smallest is 0
    s = ClaimsSample.from_arrays(np.zeros((20, 1)), Contract(), insured=100, financing=10)
    sol = break_even_financing(s)
    assert sol.value == 0.0 and sol.bound == "lower"
    assert math.isnan(sol.se) and sol.paths_needed() is None
    assert "no standard error" in sol.notes[0]


@pytest.mark.slow
def test_ratio_addon_at_the_end_of_the_range(layered):
    # at 150 yuan per head the insurer breaks even even with every ratio at 100%
    sol = max_ratio_addon(layered, FUND, "break-even", financing=150.0, paths=32, seed=4)
    assert sol.bound == "upper" and sol.value == pytest.approx(0.5)  # 1 - the lowest ratio 0.5
    assert math.isnan(sol.se) and sol.achieved > 0


def test_target_parse_round_trip():
    for text in ("break-even", "margin:0.02", "loss-prob:0.1"):
        assert str(Target.parse(text)) == text


def test_var_tvar_on_a_known_law():
    # result uniform on 1..100 (equal weights): 5% worst = {1..5}: VaR = -5, TVaR = -3
    x = np.arange(1.0, 101.0)
    w = np.full(100, 0.01)
    assert var_tvar(x, w, 0.95) == pytest.approx((-5.0, -3.0))
    # an atom split: mass 0.5 at -10, 0.5 at 10; 60% level -> tail 0.4 all at -10
    assert var_tvar(np.array([-10.0, 10.0]), np.array([0.5, 0.5]), 0.6) == pytest.approx(
        (10.0, 10.0)
    )


def test_price_distribution_by_year_and_term(sample):
    d = price_distribution(sample, 60.0)
    frame = d.to_frame()
    assert list(frame["period"]) == ["2021", "2022", "term"]
    assert frame["result_mean"].iloc[:2].sum() == pytest.approx(frame["result_mean"].iloc[2])
    assert frame["clawback_mean"].iloc[:2].sum() == pytest.approx(frame["clawback_mean"].iloc[2])
    assert (frame["tvar_995"] >= frame["var_995"] - 1e-9).all()
    assert {"var_95", "var_99", "var_995", "tvar_95", "p_loss", "p_loss_se"} <= set(frame.columns)


def test_management_rate_break_even_is_operating_cost_share(sample, layered):
    # cost-plus: the insurer's net result is m S - O, its operating cost O = 1,000 yuan a year plus
    # 2% of the claims paid S (layered.toml's contract), so over the 2-year term the break-even
    # rate is E[O] / E[S] = 0.02 + 2 * 1,000 / E[S], S the fund's claims over the term
    contract = layered.funds[FUND].contract
    assert (contract.operating_cost_fixed_yuan, contract.operating_cost_rate) == (1000, 0.02)
    assert sample.years == (2021, 2022) and sample.weights is None  # Monte Carlo: equal weights
    expected = 0.02 + 2 * 1000 / sample.claims.sum(axis=1).mean()
    sol = cost_plus_management_rate(sample)
    assert sol.value == pytest.approx(expected, rel=1e-8)
    assert sol.se > 0 and sol.se_batch is not None


# --------------------------------------------------------------------------- exact method


@pytest.mark.slow
@pytest.mark.parametrize("target", ["break-even", "loss-prob:0.3"])
def test_exact_and_monte_carlo_agree(layered, target):
    ex = exact_price(layered, FUND, target)
    assert ex.se == 0.0 and ex.method == "exact"
    # one year (2021), 1,500 paths: the MC solution's SE is about 1 yuan per head
    mc = solve_financing(simulate_claims(layered, FUND, paths=1500, seed=8, years=1), target)
    assert abs(mc.value - ex.value) < 4 * mc.se, (mc.value, ex.value, mc.se)


# --------------------------------------------------------------------------- benefit solves


@pytest.mark.slow
def test_max_ratio_addon_meets_the_target_and_falls_with_financing(layered):
    # at the scenario's financing, the highest add-on at which the insurer breaks even; 64 paths
    sol = max_ratio_addon(layered, FUND, "break-even", paths=64, seed=4)
    assert sol.quantity == "ratio_addon" and sol.se > 0
    # at the solution, re-running the engine on the same seed meets the target
    res = run(with_ratio_addon(layered, FUND, sol.value), paths=64, seed=4, years=2)
    f = res.plan.funds.index(FUND)
    net = res.money["insurer_result_net"][:, :, f].sum(axis=1)
    assert abs(net.mean()) < 1e-3 * res.money["premium"][0, :, f].sum()
    poorer = max_ratio_addon(layered, FUND, "break-even", paths=64, seed=4, financing=50.0)
    assert poorer.value < sol.value


@pytest.mark.slow
def test_min_threshold_meets_the_target(layered):
    sol = min_threshold(layered, FUND, "break-even", paths=64, seed=4, financing=50.0)
    assert sol.quantity == "threshold"
    res = run(
        with_financing(with_threshold(layered, FUND, sol.value), FUND, 50.0),
        paths=64,
        seed=4,
        years=2,
    )
    f = res.plan.funds.index(FUND)
    net = res.money["insurer_result_net"][:, :, f].sum(axis=1)
    assert abs(net.mean()) < 1e-3 * res.money["premium"][0, :, f].sum()
    # a lower threshold pays more: the insurer loses on average
    res_lower = run(
        with_financing(with_threshold(layered, FUND, 0.9 * sol.value), FUND, 50.0),
        paths=64,
        seed=4,
        years=2,
    )
    assert res_lower.money["insurer_result_net"][:, :, f].sum(axis=1).mean() < net.mean()


# --------------------------------------------------------------------------- report and CLI


def test_pricing_summary_for_the_report(layered):
    res = run(layered, paths=64, seed=6, years=2)
    df = pricing_summary(layered, FUND, res)
    assert list(df.columns) == ["measure", "value", "se", "unit"]
    rows = dict(zip(df["measure"], df["value"], strict=True))
    assert rows["break-even financing per head"] > rows["expected claims + operating cost per head"]
    assert pricing_summary(layered, "basic", res).empty


def test_cli_json_and_table(tmp_path):
    args = [
        "price",
        str(LAYERED),
        "--fund",
        FUND,
        "--paths",
        "64",
        "--seed",
        "1",
        "--bids",
        "50,60,70",
    ]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main([*args, "--json", "--target", "margin:0.01"]) == 0
    doc = json.loads(out.getvalue())
    assert doc["solution"]["quantity"] == "financing_per_head"
    assert doc["solution"]["target"] == "margin:0.01"
    assert [b["financing_per_head"] for b in doc["bids"]["bids"]] == [50.0, 60.0, 70.0]
    assert doc["solution"]["expected_cost_per_head"] < doc["solution"]["value"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(args) == 0
    text = out.getvalue()
    assert "financing per head" in text and "P(loss)" in text and "gap" in text


def test_cli_errors_are_one_line(capsys):
    assert main(["price", str(LAYERED), "--fund", "nope", "--paths", "16"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("fundsim: error: ") and "Traceback" not in err
    assert "fund 'nope'" in err and "basic, serious_illness" in err  # names the funds there are
    assert out == ""
    assert (
        main(["price", str(LAYERED), "--fund", FUND, "--target", "margin:0.5", "--paths", "16"])
        == 2
    )
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("fundsim: error: ") and "Traceback" not in err
    # a 50% margin is out of reach under the 3% profit cap: the message says which and why
    assert "target margin 0.5 cannot be reached" in err
    assert "caps the insurer's result at 0.03" in err
    assert out == ""


def test_loss_probability_of_one_has_a_zero_standard_error():
    # 60 equal weights of 1/60 add up to 1.0000000000000007: the probability is clipped to 1, not
    # left above it (where its standard error, sqrt(p (1 - p) / k), failed on a negative number)
    from simulation.pricing.measures import _period_measures

    k = 60
    cols = {
        name: np.zeros(k)
        for name in (
            "claims", "operating_cost", "clawback", "subsidy", "fund_loss_share",
            "management_payment",
        )
    }  # fmt: skip
    cols["premium"] = np.full(k, 100.0)
    cols["insurer_result_net"] = -np.arange(1.0, k + 1.0)
    m = _period_measures("term", 1, cols, np.full(k, 1.0 / k), False, (0.95,))
    assert m.p_loss == 1.0
    assert m.p_loss_se == 0.0
