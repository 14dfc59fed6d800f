"""The contract between government and the insurer that runs a fund (RULES.md section 3).

Every function is pure and vectorised: arguments are arrays over simulated paths (or scalars),
broadcast elementwise; money in yuan for one year (or one contract term for :func:`settle_term`).

Quantities and conventions
--------------------------
- ``P`` **premium**: the funds raised for the fund in the period (insured count x financing per head).
- ``S`` **claims**: what the fund's layers paid in the period.
- ``O`` **operating cost**: the insurer's own expenses, ``fixed + rate * S``. It is never a flow
  between the fund, finance and the insurer: it is *inside the insurer's margin*.
- **insurer result** ``R`` (key ``insurer_result``): what the insurer keeps before paying its own
  operating cost. Seed 000 caps "the profitability (including operating costs)" at 3% of the funds
  raised, i.e. operating cost and profit together come out of ``R``, and ``R <= cap_rate * P``.
  ``insurer_result_net = R - O`` is the insurer's profit after its operating cost.
- **clawback** ``C``: surplus above the cap transferred to the provincial finance account.
- **fund loss share** ``F``: the part of an insurer's loss borne by the fund (corridor contracts).
- **management payment** ``M``: paid by finance to the insurer under cost-plus (seed 001).
- **fund retained** ``K``: what stays in the fund (its surplus, negative for a deficit) when no
  insurer takes the underwriting result (cost-plus, or a public fund with no insurer).

The ``operating_cost`` argument of :func:`clawback`, :func:`capped_result` and :func:`corridor` is
the operating cost a contract lets the insurer deduct *outside* the cap. Under seed 000 the cap
includes operating cost, so :func:`settle_year` and :func:`settle_term` pass 0 there: the clawback
is ``max(P - S - cap_rate * P, 0)`` exactly as RULES.md states.

Money identity (holds per element, to rounding), for every contract kind::

    P + M + F = S + R + C + K

=========================  ======================  ==========  ============  ====  ========
kind                       R (insurer_result)      C           F             M     K
=========================  ======================  ==========  ============  ====  ========
``capped_profit``          P - S - C               see below   0             0     0
``corridor``               P - S - C + F           see below   see below     0     0
``cost_plus``              M                       0           0             m S   P - S
``none`` (public fund)     0                       0           0             0     P - S
=========================  ======================  ==========  ============  ====  ========

so for the insurer-run premium contracts ``P = S + R + C - F`` (the brief's
``premium + finance_payment = claims + insurer_result + clawback - fund_loss_share`` with no finance
payment). Under ``none`` there is no insurer: ``operating_cost`` and the insurer results are 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..scenario.schema import Contract, ContractKind

Money = NDArray[np.float64]


def _f(a: ArrayLike) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def operating_cost(claims: ArrayLike, fixed_yuan: float, rate: float) -> Money:
    """The insurer's operating cost, yuan: ``O = fixed_yuan + rate * S``."""
    return fixed_yuan + rate * _f(claims)


def clawback(
    premium: ArrayLike, claims: ArrayLike, operating_cost: ArrayLike, cap_rate: float
) -> Money:
    """Surplus returned to the finance account, yuan: ``C = max(P - S - O - cap_rate * P, 0)``.

    ``O`` is the operating cost allowed outside the cap (0 under seed 000, whose cap includes
    operating cost; see the module docstring). Zero in a loss year (``P - S - O <= 0``).
    """
    p = _f(premium)
    return np.maximum(p - _f(claims) - _f(operating_cost) - cap_rate * p, 0.0)


def capped_result(
    premium: ArrayLike, claims: ArrayLike, operating_cost: ArrayLike, cap_rate: float
) -> Money:
    """The insurer's result under the capped-profit contract, yuan (before its operating cost):

    ``R = P - S - C = min(P - S, O + cap_rate * P)``, with ``C`` the :func:`clawback`.
    Losses (``P - S < 0``) are borne in full by the insurer.
    """
    p, s = _f(premium), _f(claims)
    return p - s - clawback(p, s, operating_cost, cap_rate)


def cost_plus_payment(claims: ArrayLike, management_rate: float) -> Money:
    """Cost-plus (seed 001): management cost and profit paid by finance, yuan: ``M = m * S``."""
    return management_rate * _f(claims)


def corridor(
    premium: ArrayLike,
    claims: ArrayLike,
    operating_cost: ArrayLike,
    cap_rate: float,
    loss_band_rate: float,
    excess_insurer_share: float,
) -> tuple[Money, Money, Money]:
    """Capped profit with a loss corridor: ``(insurer_result, clawback, fund_share_of_loss)``, yuan.

    With ``D = P - S - O`` (``O`` allowed outside the cap, 0 by convention):

    - clawback ``C = max(D - cap_rate * P, 0)``;
    - loss ``L = max(-D, 0)``; the insurer bears ``min(L, band * P)`` and ``excess_insurer_share`` of
      ``max(L - band * P, 0)``; the fund bears ``F = (1 - excess_insurer_share) * max(L - band * P, 0)``;
    - insurer result ``R = P - S - C + F``.
    """
    p, s = _f(premium), _f(claims)
    d = p - s - _f(operating_cost)
    c = np.maximum(d - cap_rate * p, 0.0)
    excess = np.maximum(-d - loss_band_rate * p, 0.0)
    f = (1.0 - excess_insurer_share) * excess
    return p - s - c + f, c, f


def policy_change_subsidy(result_new: ArrayLike, result_old: ArrayLike) -> Money:
    """Finance's subsidy for an overrun caused by a rule change (seed 000), yuan:

    ``min(max(-R_new, 0), max(R_old - R_new, 0))``: the part of the insurer's loss under the new
    rules that the change caused, with ``R_old`` and ``R_new`` the insurer's results under the old
    and new rules on the same simulated people and costs (common random numbers).
    """
    new, old = _f(result_new), _f(result_old)
    return np.minimum(np.maximum(-new, 0.0), np.maximum(old - new, 0.0))


def _settle(
    contract: Contract, premium: np.ndarray, claims: np.ndarray, fixed_cost: float
) -> dict[str, Money]:
    p, s = np.broadcast_arrays(_f(premium), _f(claims))
    zero = np.zeros(p.shape)
    kind = ContractKind(contract.kind)
    if kind is ContractKind.NONE:
        return {
            "insurer_result": zero,
            "insurer_result_net": zero.copy(),
            "clawback": zero.copy(),
            "fund_loss_share": zero.copy(),
            "management_payment": zero.copy(),
            "operating_cost": zero.copy(),
            "fund_retained": p - s,
        }
    o = operating_cost(s, fixed_cost, contract.operating_cost_rate) + zero
    management = zero.copy()
    retained = zero.copy()
    loss_share = zero.copy()
    if kind is ContractKind.CAPPED_PROFIT:
        c = clawback(p, s, 0.0, contract.profit_cap_rate)
        r = p - s - c
    elif kind is ContractKind.CORRIDOR:
        r, c, loss_share = corridor(
            p,
            s,
            0.0,
            contract.profit_cap_rate,
            contract.loss_band_rate,
            contract.excess_insurer_share,
        )
    elif kind is ContractKind.COST_PLUS:
        management = cost_plus_payment(s, contract.management_rate) + zero
        r = management.copy()
        c = zero.copy()
        retained = p - s
    else:  # pragma: no cover - ContractKind is closed
        raise ValueError(f"unknown contract kind {kind!r}")
    return {
        "insurer_result": r,
        "insurer_result_net": r - o,
        "clawback": c,
        "fund_loss_share": loss_share,
        "management_payment": management,
        "operating_cost": o,
        "fund_retained": retained,
    }


def settle_year(contract: Contract, premium: ArrayLike, claims: ArrayLike) -> dict[str, Money]:
    """Settle one year under ``contract``; arrays over paths, yuan.

    Returns ``insurer_result`` (R, before operating cost), ``insurer_result_net`` (R - O),
    ``clawback`` (C), ``fund_loss_share`` (F), ``management_payment`` (M), ``operating_cost`` (O)
    and ``fund_retained`` (K), with ``P + M + F = S + R + C + K`` per element (module docstring).
    ``O = operating_cost_fixed_yuan + operating_cost_rate * S``.
    """
    return _settle(contract, _f(premium), _f(claims), contract.operating_cost_fixed_yuan)


def settle_term(
    contract: Contract, premium_by_year: ArrayLike, claims_by_year: ArrayLike
) -> dict[str, Money]:
    """Settle a whole contract term at once: the cap, clawback and loss sharing apply to the term
    totals ``P = sum_t P_t`` and ``S = sum_t S_t`` (years on the last axis), yuan.

    The fixed operating cost is per year: ``O = n_years * fixed + rate * S``. Returns the same keys
    as :func:`settle_year`, for the term. The caller chooses the years of the term (normally
    ``contract.term_years`` of them).
    """
    p = _f(premium_by_year)
    s = _f(claims_by_year)
    if p.ndim == 0 or s.ndim == 0:
        raise ValueError("settle_term needs arrays with the years on the last axis")
    if p.shape[-1] != s.shape[-1]:
        raise ValueError(
            f"premium has {p.shape[-1]} years but claims have {s.shape[-1]} on the last axis"
        )
    n_years = p.shape[-1]
    return _settle(
        contract, p.sum(axis=-1), s.sum(axis=-1), n_years * contract.operating_cost_fixed_yuan
    )


def settlement_periods(n_years: int, contract: Contract) -> list[tuple[int, int]]:
    """The settlement periods ``(start, stop)`` (year indices, stop excluded) of ``n_years`` years:
    each year (annual settlement) or each contract term (the last possibly shorter)."""
    if contract.settlement == "term":
        return [
            (s, min(s + contract.term_years, n_years))
            for s in range(0, n_years, contract.term_years)
        ]
    return [(y, y + 1) for y in range(n_years)]


def _book_years(contract: Contract, premium: np.ndarray, claims: np.ndarray) -> dict[str, Money]:
    """Settle (paths, years) arrays year by year, or over each contract term: with term settlement
    the cap, clawback and loss sharing apply to each term's totals and are booked in the term's
    last year; the other years carry the provisional result ``P - S`` (and their operating cost),
    so ``P = S + R + C - F`` holds in every year."""
    if contract.settlement == "annual":
        return settle_year(contract, premium, claims)
    out = settle_year(contract.model_copy(update={"kind": ContractKind.NONE}), premium, claims)
    out = {k: np.zeros_like(premium) for k in out}
    kind = ContractKind(contract.kind)
    for start, stop in settlement_periods(premium.shape[1], contract):
        last = stop - 1
        term = settle_term(contract, premium[:, start:stop], claims[:, start:stop])
        for y in range(start, last):
            yearly = settle_year(contract, premium[:, y], claims[:, y])
            out["operating_cost"][:, y] = yearly["operating_cost"]
            out["management_payment"][:, y] = yearly["management_payment"]
            provisional = premium[:, y] - claims[:, y]
            out["insurer_result"][:, y] = 0.0 if kind is ContractKind.COST_PLUS else provisional
            out["fund_retained"][:, y] = provisional if kind is ContractKind.COST_PLUS else 0.0
        for key in ("insurer_result", "management_payment", "operating_cost", "fund_retained"):
            earlier = out[key][:, start:last].sum(axis=1)
            out[key][:, last] = term[key] - earlier
        out["clawback"][:, last] = term["clawback"]
        out["fund_loss_share"][:, last] = term["fund_loss_share"]
    out["insurer_result_net"] = out["insurer_result"] - out["operating_cost"]
    return out


def _by_period(contract: Contract, premium: np.ndarray, claims: np.ndarray) -> dict[str, Money]:
    """Settle (paths, years) arrays once per settlement period: one column per period."""
    periods = settlement_periods(premium.shape[1], contract)
    parts = []
    for s, e in periods:
        if contract.settlement == "term":
            parts.append(settle_term(contract, premium[:, s:e], claims[:, s:e]))
        else:
            parts.append(settle_year(contract, premium[:, s], claims[:, s]))
    return {key: np.stack([p[key] for p in parts], axis=1) for key in parts[0]}


def settle_paths(
    contract: Contract,
    premium: ArrayLike,
    claims: ArrayLike,
    claims_old: ArrayLike | None = None,
    *,
    changed: ArrayLike | None = None,
    by: str = "year",
) -> dict[str, np.ndarray]:
    """Settle a fund's paths over its years under ``contract``, with the policy-change subsidy:
    the one settlement of the engine, pricing and the cash-flow model. Arrays (paths, years), yuan.

    ``claims_old``: the same paths' claims under the rules before a declared change (None: no
    change); ``changed`` (bool per year, default every year) the years the change is in force.
    ``by="year"``: one column per year, term results booked in each term's last year
    (:func:`_book_years`); ``by="period"``: one column per :func:`settlement_periods` period,
    each term settled on its totals (:func:`settle_term`). On the columns' results ``R_new`` and
    ``R_old`` (claims and old claims), ``subsidy = policy_change_subsidy(R_new, R_old)`` (0 where
    no change is in force) is added to ``insurer_result`` and ``insurer_result_net``. Returns the
    keys of :func:`settle_year` and ``subsidy``.
    """
    if by not in ("year", "period"):
        raise ValueError(f"by must be 'year' or 'period', found {by!r}")
    p, s = _f(premium), _f(claims)
    settle = _book_years if by == "year" else _by_period
    out = dict(settle(contract, p, s))
    subsidy = np.zeros_like(out["insurer_result"])
    if claims_old is not None:
        old = settle(contract, p, _f(claims_old))
        subsidy = policy_change_subsidy(out["insurer_result"], old["insurer_result"])
        if changed is not None:
            subsidy[:, ~np.asarray(changed, dtype=bool)] = 0.0
    out["subsidy"] = subsidy
    out["insurer_result"] = out["insurer_result"] + subsidy
    out["insurer_result_net"] = out["insurer_result_net"] + subsidy
    return out
