"""Calibration to the settled years: levels, trends and factor sizes of frequency and cost.

For a fund's settled years ``t`` (index ``k = t - start_year``) with actual admissions ``A_t``,
insured ``P_t`` and total cost ``C_t``, against the model's expected aggregates
(:func:`~simulation.history.expected.expected_aggregates`: ``E_t`` admissions of the model's
``P*_t`` insured, cost per admission ``c_t``), two components are fitted separately:

- frequency: ``y_t = log(A_t / (E_t P_t / P*_t)) = a_F + b_F k + u_t``;
- cost per admission: ``z_t = log((C_t / A_t) / c_t) = a_C + b_C k + w_t``;

with ``u_t ~ Normal(0, s_F^2 + v_t)``, independent over years: ``s_F`` the size of the systematic
frequency factor (the year-to-year variation left after the trend, on the log scale) and
``v_t = Var(N_t) / E_t^2`` the model's process variance (``cv2 / A_t`` for the cost). ``s`` maximises
the restricted (REML) Gaussian likelihood ``-1/2 [sum log w_t + r' W^-1 r + log det X' W^-1 X]``
(a bounded 1-d search; REML removes the downward bias of the ML variance with two mean
parameters), and ``(a, b)`` are its generalised least squares given ``s``; standard errors and the covariance of
``(a, b, s)`` come from the inverse expected (Fisher) information, block diagonal in ``(a, b)`` and
``s``: ``I_ab = X' W^-1 X``, ``I_ss = sum 2 s^2 / w_t^2``, ``w_t = s^2 + v_t``. With ``s`` at 0
(no variation beyond process risk) its SE is not defined (NaN). The multiplier of the mean in year
``k`` is ``exp(a + b k + s^2 / 2)`` (a lognormal factor of log-sd ``s`` has mean ``exp(s^2/2)``
times its median), so the scenario's rates and mean costs are scaled by ``exp(a + s^2 / 2)`` and
its trends by ``exp(b)``; the factor's coefficient of variation is ``sqrt(exp(s^2) - 1)``.

Years with a gap (an empty cell in a column the component needs) are left out and listed in
:attr:`Calibration.notes`. Two years at least are needed per component (three to estimate ``s``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import FundsimError
from ..scenario.schema import Scenario
from .expected import expected_aggregates
from .table import History

S_MAX = 1.0
"""Largest factor size searched (log-sd), i.e. a CV of about 130%."""


@dataclass(frozen=True)
class ComponentFit:
    """One component (frequency or cost): estimates, SEs and the covariance of ``(a, b, s)``."""

    name: str
    level: float
    """``a``: log multiplier of the median in the start year."""
    trend: float
    """``b``: log change per year beyond the scenario's own trend."""
    size: float
    """``s``: log-sd of the systematic factor."""
    covariance: np.ndarray
    """3 x 3, order ``(a, b, s)``."""
    years: np.ndarray
    k: np.ndarray
    observed: np.ndarray
    """``y_t`` (log ratio actual / model)."""
    process_var: np.ndarray
    loglik: float

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))

    @property
    def cv(self) -> float:
        return math.sqrt(math.expm1(self.size**2))

    @property
    def mean_multiplier(self) -> float:
        """``exp(a + s^2/2)``: the multiplier of the scenario's start-year mean."""
        return math.exp(self.level + self.size**2 / 2)

    def fitted(self, k: np.ndarray) -> np.ndarray:
        return self.level + self.trend * np.asarray(k, dtype=float)

    def predictive_var(self, k: np.ndarray, process_var: np.ndarray) -> np.ndarray:
        """Variance of a new ``y`` at ``k``: ``x' Cov_ab x + s^2 + v`` (parameter + factor +
        process)."""
        x = np.stack([np.ones_like(np.asarray(k, float)), np.asarray(k, float)], axis=1)
        cab = self.covariance[:2, :2]
        return np.einsum("ij,jk,ik->i", x, cab, x) + self.size**2 + np.asarray(process_var)

    def residuals(self) -> np.ndarray:
        """Standardised residuals ``(y - a - b k) / sqrt(s^2 + v)``."""
        return (self.observed - self.fitted(self.k)) / np.sqrt(self.size**2 + self.process_var)


def _gls(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """GLS of ``y`` on ``x`` with variances ``w``: coefficients, their covariance, log-likelihood."""
    xw = x / w[:, None]
    info = x.T @ xw
    beta = np.linalg.solve(info, xw.T @ y)
    r = y - x @ beta
    ll = -0.5 * float(np.sum(np.log(2 * np.pi * w) + r * r / w))
    return beta, np.linalg.inv(info), ll


def fit_component(
    name: str, years: np.ndarray, k: np.ndarray, y: np.ndarray, v: np.ndarray
) -> ComponentFit:
    """Maximum likelihood of ``y ~ Normal(a + b k, s^2 + v)`` (module docstring)."""
    k = np.asarray(k, dtype=float)
    n = len(y)
    if n < 2:
        raise FundsimError(f"{name}: expected at least 2 settled years with data, found {n}")
    x = np.stack([np.ones(n), k], axis=1)

    def nll(s: float) -> float:  # restricted (REML): the GLS log-likelihood + log det term
        w = s * s + v
        _, cov_ab, ll = _gls(y, x, w)
        return -(ll + 0.5 * float(np.linalg.slogdet(cov_ab)[1]))

    if n >= 3:
        res = optimize.minimize_scalar(nll, bounds=(0.0, S_MAX), method="bounded")
        s = float(res.x)
        if nll(0.0) <= res.fun:
            s = 0.0
    else:
        s = 0.0
    w = s * s + v
    beta, cov_ab, ll = _gls(y, x, w)
    cov = np.full((3, 3), 0.0)
    cov[:2, :2] = cov_ab
    i_ss = float(np.sum(2 * s * s / (w * w)))
    cov[2, 2] = 1.0 / i_ss if s > 1e-8 and i_ss > 0 else float("nan")
    return ComponentFit(
        name=name,
        level=float(beta[0]),
        trend=float(beta[1]),
        size=s,
        covariance=cov,
        years=np.asarray(years),
        k=k,
        observed=np.asarray(y, dtype=float),
        process_var=np.asarray(v, dtype=float),
        loglik=ll,
    )


@dataclass(frozen=True)
class Calibration:
    """The fit of one fund's settled years."""

    scenario: str
    fund: str
    start_year: int
    frequency: ComponentFit
    cost: ComponentFit
    expected: pd.DataFrame
    """The model's expected aggregates by year (:func:`expected_aggregates`)."""
    data: pd.DataFrame
    """The history's totals of the fund, by year."""
    notes: list[str] = field(default_factory=list)

    def components(self) -> tuple[ComponentFit, ComponentFit]:
        return self.frequency, self.cost

    def estimates(self) -> pd.DataFrame:
        """One row per parameter: estimate, SE."""
        rows = []
        for c in self.components():
            for p, v, se in zip(
                ("level", "trend", "size"), (c.level, c.trend, c.size), c.se, strict=True
            ):
                rows.append({"component": c.name, "parameter": p, "estimate": v, "se": se})
        return pd.DataFrame(rows)

    def covariance(self) -> pd.DataFrame:
        """The 6 x 6 covariance of ``(a_F, b_F, s_F, a_C, b_C, s_C)`` (the two blocks are
        independent by construction)."""
        names = [f"{c.name}.{p}" for c in self.components() for p in ("level", "trend", "size")]
        m = np.zeros((6, 6))
        m[:3, :3] = self.frequency.covariance
        m[3:, 3:] = self.cost.covariance
        return pd.DataFrame(m, index=names, columns=names)

    def goodness_of_fit(self) -> pd.DataFrame:
        """Per component and year: actual, fitted mean, standardised residual."""
        rows = []
        for c in self.components():
            base = self.expected.set_index("year")
            for year, kk, y, r in zip(c.years, c.k, c.observed, c.residuals(), strict=True):
                if c.name == "frequency":
                    p = float(self.data.set_index("year").loc[year, "insured"])
                    scale = base.loc[year, "admissions"] * p / base.loc[year, "insured"]
                    what = "admissions"
                else:
                    scale = base.loc[year, "cost_per_admission"]
                    what = "cost_per_admission"
                fitted = scale * math.exp(c.level + c.trend * kk + c.size**2 / 2)
                rows.append(
                    {
                        "component": c.name,
                        "year": int(year),
                        "quantity": what,
                        "model": float(scale),
                        "actual": float(scale * math.exp(y)),
                        "fitted": float(fitted),
                        "std_residual": float(r),
                    }
                )
        return pd.DataFrame(rows)


def calibrate(scenario: Scenario, history: History, fund: str | None = None) -> Calibration:
    """Fit the frequency and cost components of ``fund`` (default: the history's first fund with
    admissions) to its settled years (module docstring)."""
    funds = history.funds
    if fund is None:
        with_adm = [
            f
            for f in funds
            if "admissions" in history.frame and history.totals(f)["admissions"].notna().any()
        ]
        if not with_adm:
            raise FundsimError(f"{history.path}: no fund has admissions to calibrate to")
        fund = with_adm[0]
    if fund not in funds:
        raise FundsimError(f"{history.path}: no rows of fund {fund!r} (funds: {', '.join(funds)})")
    data = history.totals(fund)
    if data.empty:
        raise FundsimError(f"{history.path}: fund {fund!r} has no total rows (category all)")
    for col in ("insured", "admissions", "total_cost"):
        if col not in data:
            data[col] = np.nan
    notes: list[str] = []
    last = int(data["year"].max())
    exp = expected_aggregates(scenario, fund, last).set_index("year")
    years = data["year"].to_numpy()
    k = years - scenario.start_year
    e = exp.loc[years]
    insured = data["insured"].to_numpy(dtype=float)
    no_ins = ~np.isfinite(insured)
    if no_ins.any():
        notes.append(
            f"insured missing in {', '.join(map(str, years[no_ins]))}: the model's insured used"
        )
        insured = np.where(no_ins, e["insured"].to_numpy(), insured)
    adm = data["admissions"].to_numpy(dtype=float)
    scale = insured / e["insured"].to_numpy()
    e_adm = e["admissions"].to_numpy() * scale
    ok_f = np.isfinite(adm) & (adm > 0)
    if (~ok_f).any():
        notes.append(f"frequency: no admissions in {', '.join(map(str, years[~ok_f]))} (not used)")
    v_f = e["admissions_var"].to_numpy() * scale / e_adm**2
    freq = fit_component(
        "frequency", years[ok_f], k[ok_f], np.log(adm[ok_f] / e_adm[ok_f]), v_f[ok_f]
    )
    cost = data["total_cost"].to_numpy(dtype=float)
    ok_c = ok_f & np.isfinite(cost) & (cost > 0)
    if (ok_f & ~ok_c).any():
        notes.append(
            f"cost: no total_cost in {', '.join(map(str, years[ok_f & ~ok_c]))} (not used)"
        )
    c_model = e["cost_per_admission"].to_numpy()
    v_c = e["cost_cv2"].to_numpy() / np.where(ok_f, adm, 1.0)
    cfit = fit_component(
        "cost",
        years[ok_c],
        k[ok_c],
        np.log(cost[ok_c] / adm[ok_c] / c_model[ok_c]),
        v_c[ok_c],
    )
    for c in (freq, cfit):
        if len(c.years) < 3:
            notes.append(f"{c.name}: fewer than 3 years: factor size not estimated (0)")
    return Calibration(
        scenario=scenario.name,
        fund=fund,
        start_year=scenario.start_year,
        frequency=freq,
        cost=cfit,
        expected=exp.reset_index(),
        data=data,
        notes=notes,
    )


__all__ = ["Calibration", "ComponentFit", "calibrate", "fit_component"]
