"""Back-test: calibrate on the years before ``t`` only, forecast ``t`` (and ``t+1``, ``t+2``), score.

For each settled year ``t`` from the third on (``min_train`` years before it), the calibration
(:func:`~simulation.history.calibrate.calibrate`) is fitted to the years before ``t``; its
forecast of ``y_t`` (the log of actual / model, per component) is the predictive law
``mu + sd T``, ``mu = a + b k``, ``sd^2 = x' Cov_ab x + s^2 + v`` (parameter, factor and process
uncertainty), ``T`` Student's t with ``n - 2`` degrees of freedom (``n`` training years): exact
for a regression with an unknown factor variance when process noise is negligible, so when the
model is right the PITs are uniform. The forecast is mapped back by ``exp`` onto admissions and
cost per admission. These forecasts are closed-form laws, with no simulation at all (neither the
full nor the fast engine runs); the fund's payments are not forecast here (a run of the calibrated
scenario would be needed, and the fast method refuses the calibrated fragment: its per-level
cost parameters give a cost factor that differs between hospital levels).

Scores per forecast: the actual against the forecast mean, the PIT ``F(y_t)``, whether the 50% and
90% central intervals cover it, the relative error ``actual / mean - 1`` (its average is the bias)
(the forecast mean is ``exp(mu + Var(y) / 2)`` times the model's value, the lognormal mean with
the predictive variance: ``exp`` of a t variable has no finite mean, so this is a stated
approximation) and the CRPS (on the log scale, numerically, ``integral (F(x) - 1{x >= y})^2 dx``, a proper score: lower is
better). An origin whose training years leave a component fewer than two years with data (gaps)
gives no forecast. :func:`summarise` gives per component and horizon the count, mean PIT, coverages, bias
and mean CRPS; PITs piled at one end flag a model that misses a trend break.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import FundsimError
from ..scenario.schema import Scenario
from .calibrate import calibrate
from .table import History

HORIZONS = (1, 2, 3)
"""Forecast ``t`` (horizon 1), ``t+1`` and ``t+2``."""
QUANTILE_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Predictive:
    """A forecast of a log ratio: ``mu + sd T_df`` (``df = inf``: normal)."""

    mu: float
    sd: float
    df: float

    def dist(self):
        if math.isinf(self.df):
            return stats.norm(self.mu, self.sd)
        return stats.t(self.df, self.mu, self.sd)

    def crps(self, y: float) -> float:
        """``integral (F(x) - 1{x >= y})^2 dx`` by the trapezoidal rule on 20,001 points from the
        law's 1e-7 to its 1 - 1e-7 quantile (and ``y``); NaN for ``df <= 1`` (no finite mean, so
        no finite CRPS)."""
        if self.df <= 1:
            return float("nan")
        d = self.dist()
        lo, hi = min(d.ppf(1e-7), y), max(d.ppf(1 - 1e-7), y)
        x = np.union1d(np.linspace(lo, hi, 20_001), [y])
        left, right = x[x <= y], x[x >= y]
        below = np.trapezoid(d.cdf(left) ** 2, left) if len(left) > 1 else 0.0
        above = np.trapezoid(d.sf(right) ** 2, right) if len(right) > 1 else 0.0
        return float(below + above)


def backtest(
    scenario: Scenario,
    history: History,
    fund: str | None = None,
    min_train: int = 2,
    horizons: tuple[int, ...] = HORIZONS,
) -> pd.DataFrame:
    """One row per (component, origin, target year): forecast quantiles, actual and scores."""
    fund = fund or calibrate(scenario, history).fund
    data = history.totals(fund)
    years = data["year"].to_numpy()
    if len(years) < min_train + 1:
        raise FundsimError(
            f"{history.path}: back-test of fund {fund!r}: expected at least {min_train + 1} "
            f"settled years, found {len(years)}"
        )
    full = calibrate(scenario, history, fund)  # the observed y and process variances of all years
    rows = []
    for i in range(min_train, len(years)):
        train = History(history.path, history.frame[history.frame["year"] < years[i]])
        try:
            cal = calibrate(scenario, train, fund)
        except FundsimError:  # too few years with data before this origin (gaps): no forecast
            continue
        for comp, obs in zip(cal.components(), full.components(), strict=True):
            n = len(comp.years)
            df = float(n - 2) if n > 2 else math.inf
            for h in horizons:
                j = i + h - 1
                if j >= len(years):
                    break
                target = years[j]
                hit = np.nonzero(obs.years == target)[0]
                if not len(hit):
                    continue  # a gap in the target year
                y, v, kk = obs.observed[hit[0]], obs.process_var[hit[0]], obs.k[hit[0]]
                var = float(comp.predictive_var(np.array([kk]), np.array([v]))[0])
                pred = Predictive(float(comp.fitted(np.array([kk]))[0]), math.sqrt(var), df)
                d = pred.dist()
                scale = math.exp(y)  # actual / model; the model's value cancels below
                model_value = _model_value(full, comp.name, target)
                qs = model_value * np.exp(d.ppf(QUANTILE_LEVELS))
                var_y = var * (df / (df - 2) if math.isfinite(df) else 1.0) if df > 2 else var
                mean = model_value * math.exp(pred.mu + var_y / 2)
                pit = float(d.cdf(y))
                rows.append(
                    {
                        "fund": fund,
                        "component": comp.name,
                        "origin": int(years[i - 1]),
                        "year": int(target),
                        "horizon": h,
                        "train_years": n,
                        "actual": model_value * scale,
                        "mean": mean,
                        **{
                            f"q{round(100 * q):02d}": float(v)
                            for q, v in zip(QUANTILE_LEVELS, qs, strict=True)
                        },
                        "pit": pit,
                        "in50": bool(0.25 <= pit <= 0.75),
                        "in90": bool(0.05 <= pit <= 0.95),
                        "rel_error": model_value * scale / mean - 1
                        if math.isfinite(mean)
                        else float("nan"),
                        "crps_log": pred.crps(y),
                    }
                )
    return pd.DataFrame(rows)


def forecast(
    scenario: Scenario, cal, years: list[int], insured: float | None = None
) -> pd.DataFrame:
    """Forecasts of admissions and cost per admission in ``years`` after the settled ones, with
    the full predictive uncertainty (as :func:`backtest`'s forecasts), for ``insured`` persons
    (default: the last settled year's). Columns ``component, year, model`` and the quantiles."""
    from .expected import expected_aggregates

    exp = expected_aggregates(scenario, cal.fund, max(years)).set_index("year")
    data = cal.data.set_index("year")
    if insured is None:
        insured = float(data["insured"].dropna().iloc[-1])
    rows = []
    for comp in cal.components():
        n = len(comp.years)
        df = float(n - 2) if n > 2 else math.inf
        for year in years:
            e = exp.loc[year]
            k = year - cal.start_year
            if comp.name == "frequency":
                scale = insured / e["insured"]
                model, v = (
                    e["admissions"] * scale,
                    e["admissions_var"] * scale / (e["admissions"] * scale) ** 2,
                )
            else:
                last_adm = float(data["admissions"].dropna().iloc[-1])
                model, v = e["cost_per_admission"], e["cost_cv2"] / last_adm
            var = float(comp.predictive_var(np.array([k]), np.array([v]))[0])
            d = Predictive(float(comp.fitted(np.array([k]))[0]), math.sqrt(var), df).dist()
            qs = model * np.exp(d.ppf(QUANTILE_LEVELS))
            rows.append(
                {
                    "component": comp.name,
                    "year": int(year),
                    "model": float(model),
                    **{
                        f"q{round(100 * q):02d}": float(v)
                        for q, v in zip(QUANTILE_LEVELS, qs, strict=True)
                    },
                }
            )
    return pd.DataFrame(rows)


def _model_value(cal, component: str, year: int) -> float:
    gof = cal.goodness_of_fit()
    row = gof[(gof.component == component) & (gof.year == year)]
    return float(row["model"].iloc[0])


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Per component and horizon: forecasts, mean PIT, 50% and 90% coverage, bias, mean CRPS."""
    g = scores.groupby(["component", "horizon"])
    return g.agg(
        forecasts=("pit", "size"),
        mean_pit=("pit", "mean"),
        coverage50=("in50", "mean"),
        coverage90=("in90", "mean"),
        bias=("rel_error", "mean"),
        crps_log=("crps_log", "mean"),
    ).reset_index()


__all__ = ["HORIZONS", "Predictive", "backtest", "forecast", "summarise"]
