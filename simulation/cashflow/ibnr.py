"""Claims incurred but not yet paid at the settlement date, estimated by chain ladder.

At the settlement of policy year ``y`` (the end of month ``settlement_month`` of year ``y + 1``) the
insurer knows, for each claim of the years up to ``y``, whether it has been reported and whether it
has been paid. From these it builds two development triangles per path (origin: the month, or
quarter, the claim was incurred; development: the month it was paid, or reported; amounts in yuan),
valued at the settlement date, and projects each origin to its ultimate with the volume-weighted
chain ladder of :mod:`chainladder` (``Chainladder().fit(triangle)``, link ratios
``f_j = sum_i C_{i,j+1} / sum_i C_{i,j}`` over the origins observed at both ages, no tail):

- **paid chain ladder**: claims of ``y`` paid so far plus the estimated unpaid (the paid
  triangle's IBNR, which covers claims not reported and reported but not paid);
- **reported chain ladder**: claims of ``y`` reported so far (paid or not: the amount of a reported
  claim is known) plus the IBNR of the reported triangle.

The simulation knows the truth: the claims of ``y`` the engine drew. Every path's triangle holds that
path's history only (as an insurer's would): origins of all policy years up to ``y``, so later
policy years use the earlier years' fuller development.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import FundsimError
from .config import CashflowConfig, TriangleGrain
from .timing import month_end, month_of


@dataclass(frozen=True)
class Development:
    """One path-year's claims for one fund, summed by incurred month and development day.

    ``paid_*`` sum the amounts by (origin month, day paid), ``reported_*`` by (origin month, day
    reported); months and days count from the start of the run (see :mod:`.timing`).
    """

    year_index: int
    total: float
    """Claims of the policy year, yuan (the true incurred total)."""
    count: int
    """Admissions with a payment from the fund."""
    paid_origin: np.ndarray
    paid_day: np.ndarray
    paid_amount: np.ndarray
    reported_origin: np.ndarray
    reported_day: np.ndarray
    reported_amount: np.ndarray

    def paid_by(self, cut: float) -> float:
        """Claims paid by time ``cut``, yuan."""
        return float(self.paid_amount[self.paid_day <= cut].sum())

    def reported_by(self, cut: float) -> float:
        """Claims reported by time ``cut``, yuan."""
        return float(self.reported_amount[self.reported_day <= cut].sum())

    def unpaid_at(self, cut: float) -> float:
        """Claims not yet paid at time ``cut``, yuan (0 exactly when all are paid)."""
        return float(self.paid_amount[self.paid_day > cut].sum())

    def unreported_at(self, cut: float) -> float:
        """Claims not yet reported at time ``cut`` (the true IBNR), yuan."""
        return float(self.reported_amount[self.reported_day > cut].sum())


def _sum_by(origin: np.ndarray, day: np.ndarray, amount: np.ndarray) -> tuple[np.ndarray, ...]:
    if origin.size == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    d = day.astype(np.int64)
    width = int(d.max()) + 1
    uniq, inverse = np.unique(origin.astype(np.int64) * width + d, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=amount, minlength=len(uniq))
    return uniq // width, (uniq % width).astype(float), sums


def development(
    year_index: int,
    incurred: np.ndarray,
    reported: np.ndarray,
    paid: np.ndarray,
    amount: np.ndarray,
) -> Development:
    """Sum one path-year's claims (times in days of the run, amounts in yuan) for the triangles."""
    origin = month_of(incurred)
    po, pd_, pa = _sum_by(origin, paid, amount)
    ro, rd, ra = _sum_by(origin, reported, amount)
    return Development(
        year_index=year_index,
        total=float(np.sum(amount)),
        count=int(amount.size),
        paid_origin=po,
        paid_day=pd_,
        paid_amount=pa,
        reported_origin=ro,
        reported_day=rd,
        reported_amount=ra,
    )


def settlement_time(year_index: int, config: CashflowConfig) -> float:
    """End of month ``settlement_month`` of the year after policy year ``year_index`` (days)."""
    return float(month_end(12 * (year_index + 1) + config.settlement_month - 1))


def _month_start(month: np.ndarray, start_year: int) -> pd.DatetimeIndex:
    m = np.asarray(month)
    return pd.to_datetime(
        pd.DataFrame({"year": start_year + m // 12, "month": m % 12 + 1, "day": 1})
    )


def triangle_frame(
    developments: Sequence[Sequence[Development]],
    year_index: int,
    cut: float,
    what: str,
    start_year: int,
) -> pd.DataFrame:
    """Incremental amounts by path, origin month and development month for the policy years up to
    ``year_index``, as known at ``cut``: columns path, origin, development (dates), amount.

    ``what`` is ``"paid"`` or ``"reported"``. Every path gets a zero row for every origin month at
    the valuation month, so all paths share the origins and the valuation date.
    """
    valuation = int(month_of(cut))
    parts = []
    for path, years in enumerate(developments):
        for d in years[: year_index + 1]:
            origin = getattr(d, f"{what}_origin")
            day = getattr(d, f"{what}_day")
            amount = getattr(d, f"{what}_amount")
            keep = day <= cut
            parts.append(
                pd.DataFrame(
                    {
                        "path": path,
                        "origin": origin[keep],
                        "development": month_of(day[keep]),
                        "amount": amount[keep],
                    }
                )
            )
    n_origins = 12 * (year_index + 1)
    paths = len(developments)
    parts.append(
        pd.DataFrame(
            {
                "path": np.repeat(np.arange(paths), n_origins),
                "origin": np.tile(np.arange(n_origins), paths),
                "development": valuation,
                "amount": 0.0,
            }
        )
    )
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.groupby(["path", "origin", "development"], as_index=False)["amount"].sum()
    out = pd.DataFrame(
        {
            "path": frame["path"].to_numpy(),
            "origin": _month_start(frame["origin"].to_numpy(), start_year),
            "development": _month_start(frame["development"].to_numpy(), start_year)
            + pd.offsets.MonthEnd(0),
            "amount": frame["amount"].to_numpy(),
        }
    )
    return out


def claims_triangle(frame: pd.DataFrame, grain: TriangleGrain):  # -> chainladder.Triangle
    """The cumulative chainladder triangle (index: path) of a :func:`triangle_frame`."""
    import chainladder as cl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tri = cl.Triangle(
            frame,
            origin="origin",
            development="development",
            columns=["amount"],
            index=["path"],
            cumulative=False,
        ).incr_to_cum()
        if grain is TriangleGrain.QUARTER:
            tri = tri.grain("OQDQ")
    return tri


def chain_ladder_ibnr(triangle, year: int, paths: int) -> np.ndarray:
    """Chain-ladder IBNR of each path for the origins in calendar ``year``, yuan: the sum over those
    origins of ``C_i,latest * (prod_{j >= latest} f_j - 1)``."""
    import chainladder as cl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ibnr = cl.Chainladder().fit(triangle).ibnr_
        except ValueError as e:  # chainladder's own error on a degenerate triangle
            raise FundsimError(
                f"chain ladder for {year}: the claims triangle of {paths} path(s) has too little "
                f"development history to estimate from ({e}); run more paths or years"
            ) from None
    values = np.nan_to_num(np.asarray(ibnr.values)[:, 0, :, -1])
    origin_years = pd.DatetimeIndex(ibnr.odims).year.to_numpy()
    per_path = values[:, origin_years == year].sum(axis=1)
    labels = ibnr.index["path"].to_numpy().astype(np.int64)
    out = np.zeros(paths)
    out[labels] = per_path
    return out


@dataclass(frozen=True)
class SettlementEstimates:
    """Per path, for one policy year, what is known and estimated at its settlement date (yuan)."""

    year: int
    time: float
    incurred: np.ndarray
    """True claims of the year (the engine's)."""
    paid: np.ndarray
    reported: np.ndarray
    unpaid: np.ndarray
    """True claims of the year not yet paid (``incurred - paid`` to rounding)."""
    ibnr: np.ndarray
    """True claims of the year not yet reported (``incurred - reported`` to rounding)."""
    paid_cl_unpaid: np.ndarray
    """Chain-ladder estimate of the unpaid claims on the paid triangle."""
    reported_cl_ibnr: np.ndarray
    """Chain-ladder IBNR on the reported triangle."""
    paid_triangle: object
    reported_triangle: object

    @property
    def paid_cl(self) -> np.ndarray:
        """Ultimate by paid chain ladder: ``paid + paid_cl_unpaid``."""
        return self.paid + self.paid_cl_unpaid

    @property
    def reported_cl(self) -> np.ndarray:
        """Ultimate by reported chain ladder: ``reported + reported_cl_ibnr``."""
        return self.reported + self.reported_cl_ibnr


def settlement_estimates(
    developments: Sequence[Sequence[Development]],
    year_index: int,
    config: CashflowConfig,
    start_year: int,
) -> SettlementEstimates:
    """Paid, reported and chain-ladder figures of every path at the settlement of ``year_index``."""
    cut = settlement_time(year_index, config)
    paths = len(developments)
    own = [years[year_index] for years in developments]
    incurred = np.array([d.total for d in own])
    paid = np.array([d.paid_by(cut) for d in own])
    reported = np.array([d.reported_by(cut) for d in own])
    unpaid = np.array([d.unpaid_at(cut) for d in own])
    ibnr = np.array([d.unreported_at(cut) for d in own])
    year = start_year + year_index
    tri_paid = claims_triangle(
        triangle_frame(developments, year_index, cut, "paid", start_year), config.triangle_grain
    )
    tri_rep = claims_triangle(
        triangle_frame(developments, year_index, cut, "reported", start_year), config.triangle_grain
    )
    return SettlementEstimates(
        year=year,
        time=cut,
        incurred=incurred,
        paid=paid,
        reported=reported,
        unpaid=unpaid,
        ibnr=ibnr,
        paid_cl_unpaid=chain_ladder_ibnr(tri_paid, year, paths),
        reported_cl_ibnr=chain_ladder_ibnr(tri_rep, year, paths),
        paid_triangle=tri_paid,
        reported_triangle=tri_rep,
    )


__all__ = [
    "Development",
    "SettlementEstimates",
    "chain_ladder_ibnr",
    "claims_triangle",
    "development",
    "settlement_estimates",
    "settlement_time",
    "triangle_frame",
]
