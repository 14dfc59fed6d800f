"""Intra-year cash flows (issue 8): calendar, lags, the SimPy account, chain ladder, engine link."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

from simulation.cashflow.account import (
    ClaimPayments,
    Flow,
    ScheduledFinancing,
    SettlementTerms,
    simulate_account,
)
from simulation.cashflow.config import (
    CashflowConfig,
    Installment,
    Lag,
    LagDistribution,
    SettlementBasis,
    TriangleGrain,
    load_cashflow_config,
)
from simulation.cashflow.ibnr import (
    Development,
    chain_ladder_ibnr,
    claims_triangle,
    development,
    settlement_estimates,
    settlement_time,
    triangle_frame,
)
from simulation.cashflow.timing import (
    DAYS_IN_MONTH,
    cashflow_rng,
    claim_times,
    date_label,
    hospital_billing_time,
    month_end,
    month_of,
    sample_lag,
    seasonal_time,
)
from simulation.errors import ScenarioError
from simulation.rules.contract import settle_year
from simulation.scenario.schema import Contract, ContractKind

DATA = Path(__file__).parent / "data" / "engine"
LAYERED = DATA / "layered.toml"


# --------------------------------------------------------------------------- configuration


def test_default_config_is_valid_and_documented_values():
    c = CashflowConfig()
    assert c.pre_allocation == (Installment(day=20, share=1.0),)  # by January 20 (seed 000)
    assert c.true_up_day > 100  # after the roster approval before April 10
    assert c.settlement_month == 3  # Q1 of the next year
    assert len(c.monthly_weights) == 12


def test_config_from_dict_and_toml_table(tmp_path):
    c = load_cashflow_config({"one_stop_share": 0.5, "reporting_lag": {"mean_days": 10}})
    assert c.one_stop_share == 0.5 and c.reporting_lag.mean_days == 10 and c.reporting_lag.cv == 1.0
    f = tmp_path / "cf.toml"
    f.write_text(
        "[cashflow]\nsettlement_basis = 'paid_chain_ladder'\n"
        "pre_allocation = [{day = 20, share = 0.25}, {day = 110, share = 0.25}]\n"
        "payment_lag = {distribution = 'lognormal', mean_days = 20, cv = 0.8}\n"
    )
    c = load_cashflow_config(f)
    assert c.settlement_basis is SettlementBasis.PAID_CHAIN_LADDER
    assert [i.day for i in c.pre_allocation] == [20, 110]
    assert c.payment_lag.distribution is LagDistribution.LOGNORMAL
    assert load_cashflow_config(None) == CashflowConfig()


BAD_CONFIGS = [
    ("monthly_weights = [1, 2]", "monthly_weights", "12 monthly weights"),
    ("monthly_weights = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]", "monthly_weights", "positive"),
    ("one_stop_share = 1.5", "one_stop_share", "1"),
    ("reporting_lag = {mean_days = 5, cvv = 1}", "reporting_lag.cvv", "cvv"),
    ("true_up_day = 10", "", "after the last pre-allocation"),
    ("triangle_grain = 'quarter'\nsettlement_month = 2", "", "quarter end"),
]


@pytest.mark.parametrize(("text", "key", "words"), BAD_CONFIGS)
def test_config_errors_name_file_key_and_rule(tmp_path, text, key, words):
    f = tmp_path / "bad.toml"
    f.write_text("[cashflow]\n" + text + "\n")
    with pytest.raises(ScenarioError) as e:
        load_cashflow_config(f)
    message = str(e.value)
    assert message.startswith(f"{f}: cashflow{'.' + key if key else ''}: "), message
    assert words in message
    import tomllib

    with pytest.raises(ScenarioError, match=words):
        load_cashflow_config(tomllib.loads(text))


def test_config_file_not_found(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        load_cashflow_config(tmp_path / "nope.toml")


# --------------------------------------------------------------------------- calendar and timing


def test_calendar():
    assert date_label(19.5, 2021) == "2021-01-20"  # a transfer on day 20 (midday)
    assert date_label(31, 2021) == "2021-01-31" and date_label(31.2, 2021) == "2021-02-01"
    assert date_label(365, 2021) == "2021-12-31" and date_label(365.5, 2021) == "2022-01-01"
    assert list(month_of(np.array([0, 31, 31.5, 365, 365.1, 730]))) == [0, 0, 1, 11, 12, 23]
    assert list(month_end(np.array([0, 1, 11, 12, 14]))) == [31, 59, 365, 396, 455]
    # a one-stop claim discharged on January 10 is paid to the hospital on February 15
    assert hospital_billing_time(np.array([9.3]), 15)[0] == 31 + 15
    assert hospital_billing_time(np.array([9.3]), None)[0] == 9.3


def test_cashflow_streams_are_keyed_by_path_and_year():
    a = cashflow_rng(7, 3, 2021).random(4)
    assert np.array_equal(a, cashflow_rng(7, 3, 2021).random(4))
    assert not np.array_equal(a, cashflow_rng(7, 4, 2021).random(4))
    assert not np.array_equal(a, cashflow_rng(7, 3, 2022).random(4))
    assert not np.array_equal(a, cashflow_rng(8, 3, 2021).random(4))


def test_uniform_season_keeps_engine_dates():
    t = np.random.default_rng(0).random(100)
    assert np.array_equal(seasonal_time(t, np.zeros(100), np.ones(100), (1.0,) * 12), t)


@given(
    st.lists(st.floats(0.2, 5.0), min_size=12, max_size=12),
    st.floats(0.0, 0.9),
    st.floats(0.05, 1.0),
    st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30),
)
def test_seasonal_dates_stay_in_cover_and_keep_order(weights, a, width, us):
    b = min(a + width, 1.0)
    u = np.sort(np.array(us))
    t = a + u * (b - a)
    n = t.size
    out = seasonal_time(t, np.full(n, a), np.full(n, b), tuple(weights))
    assert np.all(out >= a) and np.all(out <= b)
    assert np.all(np.diff(out) >= -1e-12)


def test_seasonal_dates_follow_the_weights():
    # share of a full year's admissions in month m = w_m d_m / sum(w d); n = 200,000 draws,
    # SE of a share p is sqrt(p (1 - p) / n) <= 0.0011
    rng = np.random.default_rng(1)
    n = 200_000
    w = np.array([2.0, 1, 1, 1, 1, 0.5, 0.5, 1, 1, 1, 1, 2])
    out = seasonal_time(rng.random(n), np.zeros(n), np.ones(n), tuple(w))
    months = month_of(365 * out)
    share = np.bincount(months, minlength=12) / n
    exact = w * DAYS_IN_MONTH / (w * DAYS_IN_MONTH).sum()
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(share - exact) < 4 * se)


@pytest.mark.parametrize("dist", [LagDistribution.GAMMA, LagDistribution.LOGNORMAL])
def test_lag_mean_and_cv(dist):
    # n = 100,000 draws with cv 0.8: SE of the mean = 0.8 * 40 / sqrt(n) = 0.10 days
    lag = Lag(distribution=dist, mean_days=40.0, cv=0.8)
    x = sample_lag(np.random.default_rng(2), lag, 100_000)
    se = 0.8 * 40 / math.sqrt(x.size)
    assert abs(x.mean() - 40.0) < 4 * se
    # the sample CV s / m against 0.8, within 4 SE by the delta method on the law's (scipy's)
    # moments: Var ~ CV^2 / n ((mu4 - s^4) / (4 s^4) - mu3 / (s^2 mu) + s^2 / mu^2); SE 0.0023
    # (gamma) and 0.0046 (lognormal), matching the spread of 400 simulated replicates within 2%
    if dist is LagDistribution.GAMMA:
        law = stats.gamma(a=1 / 0.8**2, scale=40.0 * 0.8**2)
    else:
        s2 = math.log1p(0.8**2)
        law = stats.lognorm(s=math.sqrt(s2), scale=40.0 * math.exp(-s2 / 2))
    mu, var, skew, kurt = (float(v) for v in law.stats("mvsk"))
    mu3, mu4 = skew * var**1.5, (kurt + 3) * var**2
    cv = math.sqrt(var) / mu
    assert cv == pytest.approx(0.8, rel=1e-12)
    cv_se = cv * math.sqrt(
        ((mu4 - var**2) / (4 * var**2) - mu3 / (var * mu) + var / mu**2) / x.size
    )
    assert abs(x.std() / x.mean() - cv) < 4 * cv_se, (x.std() / x.mean(), cv_se)
    assert np.all(sample_lag(np.random.default_rng(2), Lag(mean_days=0.0), 10) == 0.0)


def test_claim_times_order_and_one_stop_share():
    # n = 50,000: SE of the one-stop share sqrt(0.7 * 0.3 / n) = 0.002
    cfg = CashflowConfig(one_stop_share=0.7)
    n = 50_000
    rng = np.random.default_rng(3)
    t = rng.random(n)
    ct = claim_times(rng, 1, t, np.zeros(n), np.ones(n), cfg)
    assert np.all(ct.incurred >= 365) and np.all(ct.incurred < 730)
    assert np.all(ct.reported >= ct.incurred) and np.all(ct.paid >= ct.reported)
    assert np.all(ct.paid == np.ceil(ct.paid))
    assert abs(ct.one_stop.mean() - 0.7) < 4 * math.sqrt(0.21 / n)
    # one-stop: reported at discharge, paid on the 15th of the next month
    os_ = ct.one_stop
    assert np.all(ct.reported[os_] == np.ceil(ct.incurred[os_]))
    assert np.all(ct.paid[os_] == month_end(month_of(ct.incurred[os_])) + 15)


def test_zero_lags_pay_on_the_day_of_discharge():
    n = 1000
    rng = np.random.default_rng(4)
    t = rng.random(n)
    ct = claim_times(rng, 0, t, np.zeros(n), np.ones(n), CashflowConfig.without_lags())
    assert np.array_equal(ct.paid, np.ceil(365 * t)) and np.array_equal(ct.reported, ct.paid)
    assert np.all(ct.paid <= 365)


# --------------------------------------------------------------------------- the account model


# the parties of the account model, and which way each kind of transfer may go
_PARTIES = {"account", "finance", "providers"}
_FINANCING = {("finance", "account"), ("account", "finance")}  # negative financing: a refund
_DIRECTIONS = {
    "pre_allocation": _FINANCING,
    "true_up": _FINANCING,
    "entrant_financing": _FINANCING,
    "claims": {("account", "providers")},
    "clawback": {("account", "finance")},
    "fund_loss_share": {("finance", "account")},
    "policy_change_subsidy": {("finance", "account")},
}


def _conservation_violations(ledger: pd.DataFrame, opening: float) -> list[str]:
    """Replay the ledger: every event moves a non-negative amount from one party to another, the
    account is one side of it, and the account's balance moves by exactly that amount."""
    balance = opening
    bad = []
    for r in ledger.itertuples():
        where = f"{r.flow} at {r.time}"
        if not r.amount >= 0:
            bad.append(f"{where}: negative amount {r.amount}")
        if r.source == r.target:
            bad.append(f"{where}: moves money from {r.source} to itself")
        if not {r.source, r.target} <= _PARTIES:
            bad.append(f"{where}: unknown party in {r.source} -> {r.target}")
        if "account" not in (r.source, r.target):
            bad.append(f"{where}: the account is neither side of {r.source} -> {r.target}")
        if (r.source, r.target) not in _DIRECTIONS.get(r.flow, set()):
            bad.append(f"{where}: {r.flow} cannot go {r.source} -> {r.target}")
        signed = r.amount if r.target == "account" else -r.amount if r.source == "account" else 0.0
        change = r.account_after - balance
        if not math.isclose(change, signed, rel_tol=1e-9, abs_tol=1e-6):
            bad.append(f"{where}: balance moved {change}, transfers {signed}")
        balance += signed
        if not math.isclose(balance, r.account_after, rel_tol=1e-12, abs_tol=1e-6):
            bad.append(f"{where}: ledger balance {r.account_after}, replay {balance}")
    return bad


@given(
    st.floats(-1e6, 1e6),
    st.lists(st.tuples(st.floats(0.5, 700.0), st.floats(-1e6, 1e6)), max_size=8),
    st.lists(st.tuples(st.integers(1, 800), st.floats(0.0, 1e5)), max_size=40),
    st.floats(0.0, 3e6),
    st.floats(0.0, 1e5),
)
# a payment on the settlement's own day counts in it (SimPy's same-time order once missed it)
@example(0.0, [], [(1, 0.0), (455, 1.0)], 0.0, 0.0)
def test_money_is_conserved_at_every_event(opening, financing, claims, premium, estimate):
    sched = [ScheduledFinancing(t, Flow.TRUE_UP, a, 2021) for t, a in financing]
    days = np.array([d for d, _ in claims], dtype=float)
    amounts = np.array([a for _, a in claims])
    run = simulate_account(
        opening,
        Contract(kind=ContractKind.CORRIDOR),
        sched,
        [ClaimPayments(2021, days, amounts)],
        [SettlementTerms(2021, 455.0, premium, estimate)],
    )
    assert not _conservation_violations(run.ledger, opening)
    # the settlement is the contract's, on claims paid by its date plus the estimate
    paid = amounts[days <= 455.0].sum()
    s = settle_year(Contract(kind=ContractKind.CORRIDOR), premium, paid + estimate)
    (settled,) = run.settlements
    assert math.isclose(settled.paid, paid, rel_tol=1e-12, abs_tol=1e-6)
    assert math.isclose(settled.clawback, float(s["clawback"]), rel_tol=1e-12, abs_tol=1e-6)
    assert math.isclose(
        settled.fund_loss_share, float(s["fund_loss_share"]), rel_tol=1e-12, abs_tol=1e-6
    )
    net = sum(a for _, a in financing) - amounts.sum() - settled.clawback + settled.fund_loss_share
    assert math.isclose(
        run.ledger["account_after"].iloc[-1] if len(run.ledger) else opening,
        opening + net,
        rel_tol=1e-9,
        abs_tol=1e-3,
    )


def test_refund_flows_back_to_finance_and_payments_batch_by_day():
    run = simulate_account(
        0.0,
        Contract(kind=ContractKind.NONE),
        [
            ScheduledFinancing(19.5, Flow.PRE_ALLOCATION, 100.0, 2021),
            ScheduledFinancing(129.5, Flow.TRUE_UP, -30.0, 2021),
        ],
        [ClaimPayments(2021, np.array([40.0, 40.0, 41.0]), np.array([5.0, 6.0, 7.0]))],
        [SettlementTerms(2021, 455.0, 70.0)],
    )
    rows = run.ledger[["time", "flow", "source", "target", "amount"]].values.tolist()
    assert rows == [
        [19.5, "pre_allocation", "finance", "account", 100.0],
        [40.0, "claims", "account", "providers", 11.0],
        [41.0, "claims", "account", "providers", 7.0],
        [129.5, "true_up", "account", "finance", 30.0],
    ]


# --------------------------------------------------------------------------- chain ladder


def _dev(year_index: int, rows: list[tuple[int, int, float]]) -> Development:
    """Claims paid (and reported) at the end of run month ``dev`` for origin month ``origin``."""
    origin = np.array([r[0] for r in rows])
    day = month_end(np.array([r[1] for r in rows])).astype(float)
    amount = np.array([r[2] for r in rows])
    incurred = month_end(origin) - 1.0
    return development(year_index, incurred, day, day, amount)


def test_chain_ladder_matches_a_hand_computed_triangle():
    # path 0, origins Jan..Mar: cumulative [100, 150, 160], [200, 280], [300] at the end of March.
    # f1 = (150 + 280) / (100 + 200), f2 = 160 / 150; IBNR = 280 (f2 - 1) + 300 (f1 f2 - 1).
    # Path 1: [10, 20, 30], [20, 30], [30]. Months after March are in the data but beyond the
    # valuation, so they must be ignored.
    p0 = _dev(
        0, [(0, 0, 100), (0, 1, 50), (0, 2, 10), (1, 1, 200), (1, 2, 80), (2, 2, 300), (2, 3, 999)]
    )
    p1 = _dev(0, [(0, 0, 10), (0, 1, 10), (0, 2, 10), (1, 1, 20), (1, 2, 10), (2, 2, 30)])
    cut = float(month_end(2))
    frame = triangle_frame([[p0], [p1]], 0, cut, "paid", 2021)
    tri = claims_triangle(frame, TriangleGrain.MONTH)
    ibnr = chain_ladder_ibnr(tri, 2021, 2)
    f1, f2 = 430 / 300, 160 / 150
    expected0 = 280 * (f2 - 1) + 300 * (f1 * f2 - 1)
    g1, g2 = (20 + 30) / (10 + 20), 30 / 20
    expected1 = 30 * (g2 - 1) + 30 * (g1 * g2 - 1)
    assert ibnr == pytest.approx([expected0, expected1], rel=1e-12)


def _synthetic(
    paths: int, years: int, config: CashflowConfig, seed: int = 11
) -> list[list[Development]]:
    out = []
    for p in range(paths):
        ys = []
        for y in range(years):
            rng = cashflow_rng(seed, p, 2021 + y)
            n = rng.poisson(600)
            t = rng.random(n)
            ct = claim_times(rng, y, t, np.zeros(n), np.ones(n), config)
            ys.append(development(y, ct.incurred, ct.reported, ct.paid, rng.lognormal(8.0, 1.0, n)))
        out.append(ys)
    return out


def test_zero_lags_no_ibnr():
    devs = _synthetic(5, 2, CashflowConfig.without_lags())
    for y in range(2):
        est = settlement_estimates(devs, y, CashflowConfig.without_lags(), 2021)
        assert np.all(est.unpaid == 0) and np.all(est.ibnr == 0)
        assert np.all(est.paid_cl_unpaid == 0) and np.all(est.reported_cl_ibnr == 0)
        assert np.allclose(est.paid, est.incurred, rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("grain", [TriangleGrain.MONTH, TriangleGrain.QUARTER])
def test_chain_ladder_unbiased_on_known_lags(grain):
    # 150 paths, 2 years, ~600 claims a year, lognormal amounts; lags: 40% one-stop, reporting
    # gamma mean 60 days, payment gamma mean 40 days. The error of each estimate against the
    # path's true unpaid (paid CL) / incurred (reported CL) has mean 0 within 4 SE = 4 sd / sqrt(150).
    cfg = CashflowConfig(
        one_stop_share=0.4,
        reporting_lag=Lag(mean_days=60.0, cv=1.0),
        payment_lag=Lag(mean_days=40.0, cv=0.7),
        triangle_grain=grain,
    )
    paths = 150
    devs = _synthetic(paths, 2, cfg)
    for y in range(2):
        est = settlement_estimates(devs, y, cfg, 2021)
        assert est.unpaid.mean() > 0.01 * est.incurred.mean()  # something to estimate
        for err in (est.paid_cl_unpaid - est.unpaid, est.reported_cl_ibnr - est.ibnr):
            se = err.std(ddof=1) / math.sqrt(paths)
            assert abs(err.mean()) < 4 * se, (y, err.mean(), se)
        # and paid claims alone fall short by the unpaid claims, far outside that error
        short = est.paid - est.incurred
        assert short.mean() < -4 * short.std(ddof=1) / math.sqrt(paths)


def test_settlement_time_is_end_of_settlement_month():
    assert settlement_time(0, CashflowConfig()) == 365 + 90
    assert settlement_time(1, CashflowConfig(settlement_month=6)) == 730 + 181


def test_development_sums_claims():
    d = development(
        0,
        np.array([1.0, 2.0, 40.0]),
        np.array([5.0, 5.0, 50.0]),
        np.array([9.0, 9.0, 60.0]),
        np.array([1.0, 2.0, 4.0]),
    )
    assert d.total == 7.0 and d.count == 3
    assert d.paid_by(9.0) == 3.0 and d.paid_by(60.0) == 7.0 and d.reported_by(49.0) == 3.0


# --------------------------------------------------------------------------- linked to the engine


def _roster_scenario():
    """layered.toml plus quarterly roster changes and a supplementary fund covering only the needy
    (so entrants are financed a year late and exits lose its cover)."""
    from simulation.scenario import deep_merge, resolve_raw, validate_raw

    raw, _ = resolve_raw(LAYERED)
    extra = {
        "cascade": ["basic", "serious_illness", "supplementary"],
        "population": {
            "roster": {
                "entry_rate": {"needy": 0.03},
                "exit_rate": {"needy": 0.02},
                "entrant_from": "ordinary",
            }
        },
        "layers": {
            "supplementary": {
                "label": "Supplementary",
                "fund": "supplementary",
                "covers": ["needy"],
                "settlement": "annual_cumulative",
                "bands": [{"from": 2000, "ratio": 0.5}],
            }
        },
        "funds": {
            "supplementary": {
                "label": "Supplementary fund",
                "financing_per_head": {"2021": 200, "growth": 0.1},
                "contract": {"kind": "corridor"},
                "opening_balance_yuan": 5000,
            }
        },
    }
    return validate_raw(deep_merge(raw, extra), "roster-test")


@pytest.fixture(scope="module")
def layered():
    from simulation.scenario import load_scenario

    return load_scenario(LAYERED)


@pytest.fixture(scope="module")
def roster_scenario():
    return _roster_scenario()


SEASONAL = CashflowConfig(
    monthly_weights=(1.3, 1.1, 1.0, 1.0, 0.9, 0.8, 0.8, 0.9, 1.0, 1.0, 1.1, 1.3)
)


@pytest.mark.parametrize("fund", ["basic", "serious_illness", "supplementary"])
def test_annual_totals_equal_the_engine(roster_scenario, fund):
    """Per path and policy year, the cash-flow model's claims equal the engine's (to rounding in
    the order of summation, 1e-12 relative), with lags and seasonality; financing equals premium."""
    from simulation.cashflow.simulate import run_cashflow
    from simulation.engine.run import run

    paths, seed = 6, 12
    engine = run(roster_scenario, paths=paths, seed=seed)
    cf = run_cashflow(roster_scenario, fund, paths=paths, seed=seed, config=SEASONAL)
    f = engine.plan.funds.index(fund)
    by = cf.by_year.sort_values(["path", "year"])
    incurred = by["claims_incurred"].to_numpy().reshape(paths, -1)
    np.testing.assert_allclose(incurred, engine.money["claims"][:, :, f], rtol=1e-12, atol=1e-6)
    claims = cf.ledger[cf.ledger["flow"] == "claims"].groupby(["path", "year"])["amount"].sum()
    paid_all = claims.reindex(pd.MultiIndex.from_product([range(paths), cf.years]), fill_value=0.0)
    np.testing.assert_allclose(
        paid_all.to_numpy().reshape(paths, -1),
        engine.money["claims"][:, :, f],
        rtol=1e-12,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        by["financing_received"].to_numpy().reshape(paths, -1),
        engine.money["premium"][:, :, f],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        by["clawback_true"].to_numpy().reshape(paths, -1),
        engine.money["clawback"][:, :, f],
        rtol=1e-12,
        atol=1e-6,
    )
    assert (incurred > 0).all()


def test_zero_lags_year_end_balance_is_financing_minus_claims(roster_scenario):
    """No lags: on December 31 the account holds opening + financing - claims (less the settlements
    of earlier years, made in March), nothing is unpaid or IBNR, and the chain ladder says so."""
    from simulation.cashflow.simulate import run_cashflow
    from simulation.engine.run import run

    paths, seed, fund = 5, 3, "supplementary"
    engine = run(roster_scenario, paths=paths, seed=seed)
    cf = run_cashflow(
        roster_scenario, fund, paths=paths, seed=seed, config=CashflowConfig.without_lags()
    )
    f = engine.plan.funds.index(fund)
    m = engine.money
    opening = roster_scenario.funds[fund].opening_balance_yuan
    settled_before = np.cumsum(m["fund_loss_share"][:, :, f] - m["clawback"][:, :, f], axis=1)
    settled_before = np.concatenate([np.zeros((paths, 1)), settled_before[:, :-1]], axis=1)
    expected = (
        opening + np.cumsum(m["premium"][:, :, f] - m["claims"][:, :, f], axis=1) + settled_before
    )
    by = cf.by_year.sort_values(["path", "year"])
    np.testing.assert_allclose(
        by["balance_year_end"].to_numpy().reshape(paths, -1), expected, rtol=1e-9
    )
    for col in ("unpaid_true", "ibnr_true", "unpaid_paid_cl", "ibnr_reported_cl"):
        assert np.all(by[col].to_numpy() == 0.0), col
    np.testing.assert_allclose(
        by["clawback_transferred"], by["clawback_true"], rtol=1e-12, atol=1e-6
    )
    assert np.any(m["fund_loss_share"][:, :, f] > 0) or np.any(m["clawback"][:, :, f] > 0)


def test_policy_change_subsidy_is_paid_into_the_account(roster_scenario):
    """A rule change from the second year that raises the supplementary ratio: with no lags the
    account's settlement sees the true claims, and finance pays into it exactly the engine's
    policy-change subsidy, path by path and year by year (none in the first year)."""
    from simulation.cashflow.simulate import run_cashflow
    from simulation.engine.run import run
    from simulation.scenario import deep_merge, validate_raw

    raw = roster_scenario.model_dump(mode="json", exclude_none=True)
    raw = deep_merge(
        raw,
        {
            "funds": {"supplementary": {"contract": {"kind": "capped_profit"}}},
            "changes": {
                "2022": {"layers": {"supplementary": {"bands": [{"from": 500, "ratio": 0.9}]}}}
            },
        },
    )
    s = validate_raw(raw, "change-test")
    paths, seed, fund = 6, 5, "supplementary"
    engine = run(s, paths=paths, seed=seed)
    cf = run_cashflow(s, fund, paths=paths, seed=seed, config=CashflowConfig.without_lags())
    f = engine.plan.funds.index(fund)
    subsidy = engine.money["subsidy"][:, :, f]
    by = cf.by_year.sort_values(["path", "year"])
    np.testing.assert_allclose(
        by["subsidy_transferred"].to_numpy().reshape(paths, -1), subsidy, rtol=1e-9, atol=1e-6
    )
    assert (subsidy[:, 0] == 0).all() and (subsidy[:, 1:] > 0).any()
    flows = cf.ledger[cf.ledger["flow"] == "policy_change_subsidy"]
    assert (flows["source"] == "finance").all() and (flows["target"] == "account").all()
    np.testing.assert_allclose(flows["amount"].sum(), subsidy.sum(), rtol=1e-9)


def test_money_is_conserved_on_engine_paths(roster_scenario):
    from simulation.cashflow.simulate import run_cashflow

    cf = run_cashflow(roster_scenario, "supplementary", paths=4, seed=9)
    opening = roster_scenario.funds["supplementary"].opening_balance_yuan
    flows = set(cf.ledger["flow"])
    assert {"pre_allocation", "true_up", "entrant_financing", "claims"} <= flows
    for _, ledger in cf.ledger.groupby("path"):
        assert not _conservation_violations(ledger, opening)
        assert (np.diff(ledger["time"].to_numpy()) >= 0).all()


def test_roster_updates_and_late_financing(roster_scenario):
    """Entrants verified each quarter are financed the next year: what is owed on December 31 is
    what arrives with next year's entrant financing; in the first year the plan's steady-state
    receivable is this year's entrants."""
    from simulation.cashflow.simulate import run_cashflow

    cf = run_cashflow(roster_scenario, "supplementary", paths=2, seed=1)
    by = cf.by_year[cf.by_year["path"] == 0].set_index("year")
    assert by.loc[2021, "receivable_year_end"] > 0
    assert by.loc[2022, "late_financing"] == pytest.approx(
        by.loc[2021, "receivable_year_end"], rel=1e-12
    )
    assert by.loc[2021, "late_financing"] == pytest.approx(
        by.loc[2021, "receivable_year_end"], rel=1e-12
    )
    assert set(cf.roster["date"].str[5:]) == {"04-10", "07-10", "10-10"}
    assert (cf.roster["entrants"] > 0).all() and (cf.roster["exits"] > 0).all()
    fin = cf.financing_table()
    assert set(fin["flow"]) == {"pre_allocation", "true_up", "entrant_financing"}
    assert (fin[fin["flow"] == "pre_allocation"]["date"].str[5:] == "01-20").all()
    # pre-allocation from last year's count x standard; the true-up brings it to this year's
    fy = cf.financing
    assert fy[1].schedule[0].amount == pytest.approx(fy[0].base)
    assert sum(s.amount for s in fy[1].schedule) == pytest.approx(fy[1].premium, rel=1e-12)


def test_a_path_does_not_depend_on_the_number_of_paths(layered):
    from simulation.cashflow.simulate import run_cashflow

    a = run_cashflow(layered, "serious_illness", paths=2, seed=4).by_year
    b = run_cashflow(layered, "serious_illness", paths=3, seed=4).by_year
    pd.testing.assert_frame_equal(a, b[b["path"] < 2].reset_index(drop=True))


def test_settlement_basis_decides_the_transfer(layered):
    from simulation.cashflow.simulate import run_cashflow

    cfg = CashflowConfig(settlement_basis=SettlementBasis.PAID_CHAIN_LADDER, one_stop_share=0.3)
    by = run_cashflow(layered, "serious_illness", paths=3, seed=2, config=cfg).by_year
    np.testing.assert_allclose(by["clawback_transferred"], by["clawback_paid_cl"], rtol=1e-12)
    # this fund always has a surplus above the cap, so the paid basis over-claws by the unpaid
    # claims exactly: clawback = P - S - 0.03 P falls one for one with S
    assert (by["clawback_true"] > 0).all()
    np.testing.assert_allclose(by["clawback_error_paid"], by["unpaid_true"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        by["clawback_error_paid_cl"], -by["unpaid_error_paid_cl"], rtol=1e-9, atol=1e-6
    )


@pytest.mark.slow
def test_chain_ladder_unbiased_on_engine_paths(layered):
    """Chain ladder on the engine's claims with known lags: over 60 paths the mean error of the
    paid and reported chain-ladder estimates is within 4 SE (SE = sd / sqrt(60)) of 0, while the
    shortfall of paid claims alone is not."""
    from simulation.cashflow.simulate import run_cashflow

    cfg = CashflowConfig(one_stop_share=0.5, reporting_lag=Lag(mean_days=60.0, cv=1.0))
    paths = 60
    cf = run_cashflow(layered, "basic", paths=paths, seed=21, config=cfg)
    for _, by in cf.by_year.groupby("year"):
        for col in ("unpaid_error_paid_cl", "ibnr_error_reported_cl"):
            err = by[col].to_numpy()
            se = err.std(ddof=1) / math.sqrt(paths)
            assert abs(err.mean()) < 4 * se, (col, err.mean(), se)
        unpaid = by["unpaid_true"].to_numpy()
        assert unpaid.mean() > 4 * unpaid.std(ddof=1) / math.sqrt(paths)


def test_cli_writes_tables_and_fan_chart(tmp_path, capsys):
    from simulation.cli import main

    out = tmp_path / "cf"
    cfg = tmp_path / "cf.toml"
    cfg.write_text(
        "[cashflow]\none_stop_share = 0.6\nmonthly_weights = [1.2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.2]\n"
    )
    code = main(
        [
            "cashflow",
            str(LAYERED),
            "--fund",
            "serious_illness",
            "--paths",
            "3",
            "--seed",
            "5",
            "--config",
            str(cfg),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "on paid" in printed and "2022" in printed
    names = {p.name for p in out.iterdir()}
    assert {
        "summary.csv",
        "summary.json",
        "paths.csv",
        "monthly_balance.csv",
        "balance_quantiles.csv",
        "financing.csv",
        "roster.csv",
        "ledger_path0.csv",
        "fan_chart.png",
        "cashflow.md",
        "manifest.json",
        "triangle_paid_2021_path0.csv",
        "triangle_reported_2022_path0.csv",
    } <= names
    assert (out / "fan_chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monthly = pd.read_csv(out / "monthly_balance.csv")
    assert len(monthly) == 3 * 36 and monthly["month"].iloc[0] == "2021-01"
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["fund"] == "serious_illness"
    assert manifest["cashflow_config"]["one_stop_share"] == 0.6
    assert "clawback" in (out / "cashflow.md").read_text()


def test_cli_unknown_fund_is_one_line_error(tmp_path, capsys):
    from simulation.cli import main

    code = main(["cashflow", str(LAYERED), "--fund", "nope", "--paths", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "fund 'nope'" in err and "serious_illness" in err and err.count("\n") == 1


def test_public_names_resolve():
    import simulation.cashflow as cf

    assert len(set(cf.__all__)) == len(cf.__all__)
    for name in cf.__all__:
        obj = getattr(cf, name)  # AttributeError for a name that does not resolve
        # the name is bound to the project's class or function of that name (not a stand-in)
        assert obj.__name__ == name and obj.__module__.startswith("simulation."), name
    assert cf.run_cashflow.__module__ == "simulation.cashflow.simulate"
    with pytest.raises(AttributeError):
        _ = cf.no_such_name
