"""The fund contract rules (RULES.md section 3): hand-worked values and properties on random arrays."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simulation.rules.contract import (
    capped_result,
    clawback,
    corridor,
    cost_plus_payment,
    operating_cost,
    policy_change_subsidy,
    settle_paths,
    settle_term,
    settle_year,
    settlement_periods,
)
from simulation.scenario.schema import Contract, ContractKind

KEYS = {
    "insurer_result",
    "insurer_result_net",
    "clawback",
    "fund_loss_share",
    "management_payment",
    "operating_cost",
    "fund_retained",
}

yuan = st.floats(0.0, 1e9, allow_nan=False, allow_infinity=False)
paths = hnp.arrays(np.float64, st.integers(1, 20), elements=yuan)
contracts = st.builds(
    Contract,
    kind=st.sampled_from(list(ContractKind)),
    profit_cap_rate=st.sampled_from([0.0, 0.03, 0.05]),
    management_rate=st.sampled_from([0.0, 0.03]),
    loss_band_rate=st.sampled_from([0.0, 0.05, 0.1]),
    excess_insurer_share=st.sampled_from([0.0, 0.5, 1.0]),
    operating_cost_fixed_yuan=st.sampled_from([0.0, 3e6]),
    operating_cost_rate=st.sampled_from([0.0, 0.02]),
)


def identity_gap(out, premium, claims):
    """(P + M + F) - (S + R + C + K): zero when the money identity holds."""
    return (premium + out["management_payment"] + out["fund_loss_share"]) - (
        claims + out["insurer_result"] + out["clawback"] + out["fund_retained"]
    )


def test_capped_profit_hand_worked():
    # P = 100 M, S = 90 M, cap 3%: clawback = 100 - 90 - 3 = 7 M; insurer result 3 M.
    # operating cost = 3 M fixed + 2% * 90 M = 4.8 M (inside the 3 M margin): net -1.8 M.
    c = Contract(
        kind="capped_profit",
        profit_cap_rate=0.03,
        operating_cost_fixed_yuan=3e6,
        operating_cost_rate=0.02,
    )
    out = settle_year(c, np.array([100e6, 100e6, 100e6]), np.array([90e6, 98e6, 110e6]))
    assert set(out) == KEYS
    np.testing.assert_allclose(out["clawback"], [7e6, 0.0, 0.0])
    # 98 M: surplus 2 M below the 3 M cap -> kept; 110 M: loss of 10 M borne by the insurer
    np.testing.assert_allclose(out["insurer_result"], [3e6, 2e6, -10e6])
    np.testing.assert_allclose(out["operating_cost"], [4.8e6, 4.96e6, 5.2e6])
    np.testing.assert_allclose(out["insurer_result_net"], [-1.8e6, -2.96e6, -15.2e6])
    assert not out["fund_loss_share"].any() and not out["management_payment"].any()


def test_corridor_hand_worked():
    # P = 100 M, band 5%, insurer bears half the excess. S = 115 M: loss 15 M; the insurer bears
    # 5 M + 0.5 * 10 M = 10 M, the fund 5 M; insurer result = 100 - 115 + 5 = -10 M.
    # S = 103 M: loss 3 M within the band, all the insurer's. S = 80 M: clawback 20 - 3 = 17 M.
    r, c, f = corridor(np.full(3, 100e6), np.array([115e6, 103e6, 80e6]), 0.0, 0.03, 0.05, 0.5)
    np.testing.assert_allclose(r, [-10e6, -3e6, 3e6])
    np.testing.assert_allclose(c, [0.0, 0.0, 17e6])
    np.testing.assert_allclose(f, [5e6, 0.0, 0.0])


def test_cost_plus_and_public_fund_hand_worked():
    # cost-plus 3% of claims paid by finance: S = 90 M -> 2.7 M; the fund keeps P - S = 10 M.
    c = Contract(kind="cost_plus", management_rate=0.03, operating_cost_rate=0.01)
    out = settle_year(c, 100e6, 90e6)
    assert out["management_payment"] == pytest.approx(2.7e6)
    assert out["insurer_result"] == pytest.approx(2.7e6)
    assert out["insurer_result_net"] == pytest.approx(1.8e6)
    assert out["fund_retained"] == pytest.approx(10e6) and out["clawback"] == 0.0
    assert cost_plus_payment(90e6, 0.03) == pytest.approx(2.7e6)
    out = settle_year(Contract(kind="none"), np.array([100e6]), np.array([120e6]))
    np.testing.assert_allclose(out["fund_retained"], [-20e6])
    assert not out["insurer_result"].any() and not out["operating_cost"].any()


def test_small_functions():
    assert operating_cost(90e6, 3e6, 0.02) == pytest.approx(4.8e6)
    # clawback with an operating-cost allowance outside the cap: 100 - 90 - 4 - 3 = 3
    assert clawback(100.0, 90.0, 4.0, 0.03) == pytest.approx(3.0)
    assert capped_result(100.0, 90.0, 0.0, 0.03) == pytest.approx(3.0)
    # subsidy: new rules lose 8, old rules would have lost 2 -> the change caused 6
    assert policy_change_subsidy(-8.0, -2.0) == pytest.approx(6.0)
    # new rules lose 8, old rules would have made +5 -> only the loss, 8, is subsidised
    assert policy_change_subsidy(-8.0, 5.0) == pytest.approx(8.0)
    # no loss under the new rules -> nothing
    assert policy_change_subsidy(1.0, 5.0) == 0.0


@given(contracts, paths, st.data())
def test_money_identity_per_element(contract, premium, data):
    claims = data.draw(hnp.arrays(np.float64, premium.shape, elements=yuan))
    out = settle_year(contract, premium, claims)
    assert set(out) == KEYS
    scale = 1.0 + premium + claims
    assert np.all(np.abs(identity_gap(out, premium, claims)) <= 1e-12 * scale * 8)
    np.testing.assert_allclose(
        out["insurer_result_net"], out["insurer_result"] - out["operating_cost"]
    )
    for key in ("clawback", "fund_loss_share", "management_payment", "operating_cost"):
        assert np.all(out[key] >= 0.0), key


@given(contracts, paths, st.data())
def test_cap_never_exceeded_and_no_clawback_in_a_loss_year(contract, premium, data):
    claims = data.draw(hnp.arrays(np.float64, premium.shape, elements=yuan))
    out = settle_year(contract, premium, claims)
    if contract.kind in (ContractKind.CAPPED_PROFIT, ContractKind.CORRIDOR):
        # result including operating cost at most cap_rate * P (tolerance: rounding)
        assert np.all(out["insurer_result"] <= contract.profit_cap_rate * premium + 1e-6)
    loss = claims >= premium
    assert np.all(out["clawback"][loss] == 0.0)
    # the clawback is the excess only: kept surplus + clawback = P - S when in surplus
    if contract.kind is ContractKind.CAPPED_PROFIT:
        gain = ~loss
        np.testing.assert_allclose(
            out["insurer_result"][gain] + out["clawback"][gain], (premium - claims)[gain], atol=1e-6
        )


@given(paths, st.data(), st.sampled_from([0.0, 0.05]), st.sampled_from([0.0, 0.5, 1.0]))
def test_corridor_bounds_the_insurer_loss(premium, data, band, share):
    claims = data.draw(hnp.arrays(np.float64, premium.shape, elements=yuan))
    r, c, f = corridor(premium, claims, 0.0, 0.03, band, share)
    loss = np.maximum(claims - premium, 0.0)
    excess = np.maximum(loss - band * premium, 0.0)
    # the insurer bears at most the band plus its share of the excess, and never less than P - S
    assert np.all(-r <= np.minimum(loss, band * premium) + share * excess + 1e-6)
    assert np.all(f >= 0.0) and np.all(f <= loss + 1e-6)
    np.testing.assert_allclose(r + c - f, premium - claims, atol=1e-6)


@given(paths, st.data())
def test_subsidy_zero_when_results_equal_and_bounded_by_the_loss(result_new, data):
    signs = data.draw(
        hnp.arrays(np.float64, result_new.shape, elements=st.sampled_from([-1.0, 1.0]))
    )
    new = result_new * signs
    assert not policy_change_subsidy(new, new).any()
    old = data.draw(hnp.arrays(np.float64, new.shape, elements=st.floats(-1e9, 1e9)))
    sub = policy_change_subsidy(new, old)
    assert np.all(sub >= 0.0)
    assert np.all(sub <= np.maximum(-new, 0.0))
    assert np.all(sub <= np.maximum(old - new, 0.0))


@given(contracts, st.integers(1, 5), st.integers(1, 3), st.data())
def test_term_settlement_on_term_totals(contract, n_paths, n_years, data):
    premium = data.draw(hnp.arrays(np.float64, (n_paths, n_years), elements=yuan))
    claims = data.draw(hnp.arrays(np.float64, (n_paths, n_years), elements=yuan))
    term = settle_term(contract, premium, claims)
    p, s = premium.sum(axis=1), claims.sum(axis=1)
    assert np.all(np.abs(identity_gap(term, p, s)) <= 1e-12 * (1.0 + p + s) * 8)
    # fixed operating cost counted once a year
    if contract.kind is not ContractKind.NONE:
        np.testing.assert_allclose(
            term["operating_cost"],
            n_years * contract.operating_cost_fixed_yuan + contract.operating_cost_rate * s,
        )
    # the term clawback never exceeds the sum of the yearly ones (gains offset losses)
    yearly = sum(
        settle_year(contract, premium[:, t], claims[:, t])["clawback"] for t in range(n_years)
    )
    assert np.all(term["clawback"] <= yearly + 1e-6)
    if contract.kind in (ContractKind.CAPPED_PROFIT, ContractKind.CORRIDOR):
        assert np.all(term["insurer_result"] <= contract.profit_cap_rate * p + 1e-6)


def test_settle_term_checks_shapes():
    with pytest.raises(ValueError, match="years"):
        settle_term(Contract(), np.ones((2, 3)), np.ones((2, 2)))


@given(
    contracts, st.sampled_from(["annual", "term"]), st.integers(1, 4), st.integers(1, 5), st.data()
)
def test_settle_paths_books_years_and_periods_with_the_subsidy(
    contract, settlement, n_paths, n_years, data
):
    # the one settlement of engine, pricing and cash flows: by year the term results are booked
    # in each term's last year; by period each column is settle_year / settle_term on the period;
    # the subsidy is policy_change_subsidy of the columns' results, where a change is in force
    contract = contract.model_copy(update={"settlement": settlement, "term_years": 2})
    premium = data.draw(hnp.arrays(np.float64, (n_paths, n_years), elements=yuan))
    claims = data.draw(hnp.arrays(np.float64, (n_paths, n_years), elements=yuan))
    old = data.draw(hnp.arrays(np.float64, (n_paths, n_years), elements=yuan))
    changed = np.arange(n_years) >= n_years // 2
    by_period = settle_paths(contract, premium, claims, old, by="period")
    periods = settlement_periods(n_years, contract)
    assert by_period["insurer_result"].shape == (n_paths, len(periods))
    for j, (s, e) in enumerate(periods):
        if settlement == "term":
            new_j = settle_term(contract, premium[:, s:e], claims[:, s:e])
            old_j = settle_term(contract, premium[:, s:e], old[:, s:e])
        else:
            new_j = settle_year(contract, premium[:, s], claims[:, s])
            old_j = settle_year(contract, premium[:, s], old[:, s])
        sub = policy_change_subsidy(new_j["insurer_result"], old_j["insurer_result"])
        np.testing.assert_array_equal(by_period["subsidy"][:, j], sub)
        np.testing.assert_array_equal(by_period["clawback"][:, j], new_j["clawback"])
        np.testing.assert_array_equal(
            by_period["insurer_result_net"][:, j], new_j["insurer_result_net"] + sub
        )
    by_year = settle_paths(contract, premium, claims, old, changed=changed)
    assert not by_year["subsidy"][:, ~changed].any()
    plain = settle_paths(contract, premium, claims)
    assert not plain["subsidy"].any()
    # booked by year, a term's results add up to the term's own (up to rounding)
    plain_periods = settle_paths(contract, premium, claims, by="period")
    for j, (s, e) in enumerate(periods):
        np.testing.assert_allclose(
            plain["insurer_result"][:, s:e].sum(axis=1),
            plain_periods["insurer_result"][:, j],
            rtol=1e-9,
            atol=1e-3,
        )
    if settlement == "annual":
        for key in by_year:
            np.testing.assert_array_equal(
                settle_paths(contract, premium, claims, old)[key], by_period[key], err_msg=key
            )


def test_settle_paths_checks_its_booking():
    with pytest.raises(ValueError, match="by must be"):
        settle_paths(Contract(), np.ones((1, 1)), np.ones((1, 1)), by="month")
