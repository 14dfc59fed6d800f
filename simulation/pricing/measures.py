"""The distribution of the insurer's result at a bid: mean, sd, probability of a loss, VaR, TVaR.

Weighted statistics over paths (equal weights for Monte Carlo, the grid's masses for the exact
method); :func:`price_distribution` gives :class:`PeriodMeasures` per settlement period and over
the horizon (yuan; VaR and TVaR stated as positive losses), :func:`compare_bids` several bids
(financing per head, yuan) on the same paths.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FundsimError
from ..scenario.schema import Contract
from .sample import ClaimsSample, settle_sample, settlement_periods

DEFAULT_LEVELS = (0.95, 0.99, 0.995)
"""Default VaR/TVaR levels."""


# --------------------------------------------------------------------------- weighted statistics


def _mean(x: np.ndarray, w: np.ndarray) -> float:
    return float(w @ x)


def _sd(x: np.ndarray, w: np.ndarray, weighted: bool) -> float:
    k = len(x)
    if k < 2:
        return 0.0
    m = w @ x
    var = float(w @ (x - m) ** 2)
    if not weighted:
        var *= k / (k - 1)
    return math.sqrt(max(var, 0.0))


def var_tvar(x: np.ndarray, w: np.ndarray, level: float) -> tuple[float, float]:
    """``(VaR, TVaR)`` at ``level`` of a result (profit positive) with path weights ``w``, stated
    as losses: ``VaR = -q`` (``q`` the lower ``1 - level`` quantile), ``TVaR = -`` the mean of the
    worst ``1 - level`` of probability (an atom at ``q`` split so the tail has exactly that mass)."""
    a = 1.0 - level
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order] / w.sum()
    cw = np.cumsum(ws)
    i = int(min(np.searchsorted(cw, a * (1 - 1e-12), side="left"), len(xs) - 1))
    before = cw[i - 1] if i > 0 else 0.0
    tail = float(xs[:i] @ ws[:i] + xs[i] * (a - before))
    return -float(xs[i]), -tail / a


def _level_name(level: float) -> str:
    return f"{level:.4f}".split(".")[1].rstrip("0")


# --------------------------------------------------------------------------- distribution


@dataclass(frozen=True)
class PeriodMeasures:
    """The insurer's position in one settlement period (or over the whole horizon), yuan."""

    period: str
    n_years: int
    premium: float
    claims_mean: float
    claims_sd: float
    operating_cost_mean: float
    clawback_mean: float
    subsidy_mean: float
    fund_loss_share_mean: float
    management_payment_mean: float
    result_mean: float
    """E[R]: expected net result (after operating cost), yuan."""
    result_se: float
    result_sd: float
    margin: float
    """E[R] / P."""
    p_loss: float
    p_loss_se: float
    var: tuple[tuple[float, float], ...]
    """(level, VaR) pairs, losses positive."""
    tvar: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        d = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("var", "tvar")
        }
        for level, v in self.var:
            d[f"var_{_level_name(level)}"] = v
        for level, v in self.tvar:
            d[f"tvar_{_level_name(level)}"] = v
        return d


@dataclass(frozen=True)
class PriceDistribution:
    """The distribution of the insurer's result at one financing per head, by settlement period
    and over the whole horizon (the last entry of ``periods``, period ``"term"``)."""

    fund: str
    financing: float
    basis: str
    method: str
    paths: int
    seed: int | None
    periods: tuple[PeriodMeasures, ...]

    @property
    def term(self) -> PeriodMeasures:
        """Measures over the whole pricing horizon."""
        return self.periods[-1]

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {"fund": self.fund, "financing_per_head": self.financing, **p.to_dict()}
            for p in self.periods
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fund": self.fund,
            "financing_per_head": self.financing,
            "basis": self.basis,
            "method": self.method,
            "paths": self.paths,
            "seed": self.seed,
            "periods": [p.to_dict() for p in self.periods],
        }


def _period_measures(
    label: str,
    n_years: int,
    cols: dict[str, np.ndarray],
    w: np.ndarray,
    weighted: bool,
    levels: Sequence[float],
) -> PeriodMeasures:
    k = len(w)
    r = cols["insurer_result_net"]
    premium = float(cols["premium"][0])
    sd = _sd(r, w, weighted)
    # equal weights 1/k can add up to a hair above 1: clip, or the SE below fails on sqrt(<0)
    p_loss = min(max(float(w @ (r < 0)), 0.0), 1.0)
    return PeriodMeasures(
        period=label,
        n_years=n_years,
        premium=premium,
        claims_mean=_mean(cols["claims"], w),
        claims_sd=_sd(cols["claims"], w, weighted),
        operating_cost_mean=_mean(cols["operating_cost"], w),
        clawback_mean=_mean(cols["clawback"], w),
        subsidy_mean=_mean(cols["subsidy"], w),
        fund_loss_share_mean=_mean(cols["fund_loss_share"], w),
        management_payment_mean=_mean(cols["management_payment"], w),
        result_mean=_mean(r, w),
        result_se=0.0 if weighted else sd / math.sqrt(k),
        result_sd=sd,
        margin=_mean(r, w) / premium if premium > 0 else float("nan"),
        p_loss=p_loss,
        p_loss_se=0.0 if weighted else math.sqrt(p_loss * (1 - p_loss) / k),
        var=tuple((lv, var_tvar(r, w, lv)[0]) for lv in levels),
        tvar=tuple((lv, var_tvar(r, w, lv)[1]) for lv in levels),
    )


def price_distribution(
    sample: ClaimsSample,
    financing: float | None = None,
    *,
    levels: Sequence[float] = DEFAULT_LEVELS,
    contract: Contract | None = None,
) -> PriceDistribution:
    """The insurer's result at ``financing`` per head (None: the scenario's own premium): mean
    (with its MC standard error), sd, probability of loss, VaR/TVaR at ``levels``, expected
    clawback given up, subsidy, operating cost; per settlement period and over the horizon."""
    for lv in levels:
        if not 0.0 < lv < 1.0:
            raise FundsimError(f"VaR levels must be in (0, 1), found {lv:g}")
    settled = settle_sample(sample, financing, contract)
    contract = contract if contract is not None else sample.contract
    periods = settlement_periods(len(sample.years), contract)
    w, weighted = sample.w, sample.is_weighted
    out = []
    for j, (s, e) in enumerate(periods):
        label = str(sample.years[s]) if e - s == 1 else f"{sample.years[s]}-{sample.years[e - 1]}"
        out.append(
            _period_measures(
                label, e - s, {k: v[:, j] for k, v in settled.items()}, w, weighted, levels
            )
        )
    totals = {k: v.sum(axis=1) for k, v in settled.items()}
    term = _period_measures("term", len(sample.years), totals, w, weighted, levels)
    out = [*out, term] if len(out) > 1 else [term]
    fin = sample.basis.reference if financing is None else float(financing)
    return PriceDistribution(
        fund=sample.fund,
        financing=fin,
        basis=sample.basis.basis.value,
        method=sample.method,
        paths=sample.n_paths,
        seed=sample.seed,
        periods=tuple(out),
    )


@dataclass(frozen=True)
class BidComparison:
    """Several bids side by side (:func:`compare_bids`)."""

    bids: tuple[PriceDistribution, ...]
    expected_cost_per_head: float

    def to_frame(self, by_period: bool = False) -> pd.DataFrame:
        """One row per bid over the horizon (``by_period``: one row per bid and period)."""
        frames = [d.to_frame() for d in self.bids]
        df = pd.concat(frames, ignore_index=True)
        if not by_period:
            df = df[df["period"] == "term"].reset_index(drop=True)
        return df

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected_cost_per_head": self.expected_cost_per_head,
            "bids": [d.to_dict() for d in self.bids],
        }


def compare_bids(
    sample: ClaimsSample, bids: Sequence[float], *, levels: Sequence[float] = DEFAULT_LEVELS
) -> BidComparison:
    """The insurer's result distribution at each bid (financing per head), on the same paths."""
    if len(bids) == 0:
        raise FundsimError("compare_bids needs at least one bid")
    _, cost = sample.expected_cost_per_head()
    return BidComparison(
        bids=tuple(price_distribution(sample, float(b), levels=levels) for b in bids),
        expected_cost_per_head=cost,
    )
