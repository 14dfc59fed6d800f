"""Frequency fits: Poisson and negative binomial per group (category x age band), the scenario's
multiplicative model ``rate[category] * age_factor[age_band] * (1 + trend) ** (year - base_year)``
with one dispersion, and the Poisson-vs-NB likelihood-ratio test. Rates in claims per person-year,
trends as fractions."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ClaimsDataError
from ..scenario.schema import FrequencyKind
from .estimates import Estimate, _minimize, covariance_from_nll, numerical_gradient
from .settings import LINEARITY_LEVEL, LOG_DISPERSION_BOUNDS


@dataclass(frozen=True)
class FrequencyFit:
    """The scenario's frequency model fitted to one claim type."""

    claim_type: str
    distribution: FrequencyKind
    rate: dict[str, Estimate]
    """Claims per person-year by category (at age factor 1, in the base year)."""
    default_rate: Estimate
    """The exposure-weighted mean of the category rates (for categories not in the data)."""
    age_factor: dict[str, Estimate]
    dispersion: Estimate | None
    """Negative binomial dispersion (variance = mean (1 + dispersion mean)); None for Poisson."""
    trend: Estimate | None
    """Yearly growth of the rate (None with one year of data)."""
    base_year: int
    loglik_poisson: float
    loglik_nb: float
    lr_stat: float
    lr_pvalue: float
    aic_poisson: float
    aic_nb: float
    pearson_chi2: float
    pearson_dof: int
    groups: pd.DataFrame = field(repr=False)
    """Per category x age band: exposure, claims, Poisson and NB fits, test, fitted claims."""
    notes: tuple[str, ...] = ()


def _nb_logpmf(k: np.ndarray, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """NB log-probability with mean ``m`` and variance ``m (1 + a m)``: ``nbinom(n=1/a, p=1/(1+a m))``."""
    return stats.nbinom.logpmf(k, 1.0 / dispersion, 1.0 / (1.0 + dispersion * mean))


def _log_dispersion_start(moment_estimate: float) -> float:
    """A starting log-dispersion inside LOG_DISPERSION_BOUNDS from a moment estimate."""
    lo, hi = LOG_DISPERSION_BOUNDS
    return min(max(math.log(max(moment_estimate, 1e-3)), lo + 1.0), hi - 1.0)


def lr_pvalue_boundary(lr: float) -> float:
    """p-value of the Poisson-vs-NB LR statistic: null law ``0.5 chi2(0) + 0.5 chi2(1)``."""
    return 1.0 if lr <= 0 else 0.5 * float(stats.chi2.sf(lr, 1))


def fit_group_frequency(k: np.ndarray, weight: np.ndarray) -> dict[str, float]:
    """Poisson and negative binomial fits of one group's counts per person-year.

    ``k``: claims in a person-year; ``weight``: how many person-years had ``k`` claims. Poisson:
    ``rate = sum(w k) / sum(w)``, ``se = sqrt(rate / sum(w))``. NB by MLE on (log rate, log
    dispersion) with observed-information standard errors.
    """
    k = np.asarray(k, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    exposure = float(w.sum())
    total = float(np.sum(w * k))
    rate = total / exposure
    ll_p = float(np.sum(w * stats.poisson.logpmf(k, rate))) if rate > 0 else 0.0
    out = {
        "person_years": exposure,
        "claims": total,
        "claimants": float(w[k > 0].sum()),
        "rate_poisson": rate,
        "rate_poisson_se": math.sqrt(rate / exposure),
        "loglik_poisson": ll_p,
        "aic_poisson": 2 - 2 * ll_p,
    }
    nb = {"rate_nb": rate, "rate_nb_se": math.nan, "dispersion": 0.0, "dispersion_se": math.nan}
    ll_nb = ll_p
    if rate > 0 and np.any(k > 1):
        var = float(np.sum(w * (k - rate) ** 2) / exposure)
        a0 = max((var - rate) / rate**2, 1e-3)

        def nll(t: np.ndarray) -> float:
            v = -float(np.sum(w * _nb_logpmf(k, math.exp(t[0]), math.exp(t[1])))) / exposure
            return v if np.isfinite(v) else math.inf

        t = _minimize(
            nll, [math.log(rate), _log_dispersion_start(a0)], [(None, None), LOG_DISPERSION_BOUNDS]
        )
        ll = -exposure * nll(t)
        if ll > ll_p and t[1] > -12:
            cov = covariance_from_nll(lambda s: exposure * nll(s), t)
            nb = {
                "rate_nb": math.exp(t[0]),
                "rate_nb_se": math.exp(t[0]) * math.sqrt(cov[0, 0]),
                "dispersion": math.exp(t[1]),
                "dispersion_se": math.exp(t[1]) * math.sqrt(cov[1, 1]),
            }
            ll_nb = ll
    out.update(nb)
    lr = max(2 * (ll_nb - ll_p), 0.0)
    out.update(
        {
            "loglik_nb": ll_nb,
            "aic_nb": 4 - 2 * ll_nb,
            "lr_stat": lr,
            "lr_pvalue": lr_pvalue_boundary(lr),
        }
    )
    out["chosen"] = (
        FrequencyKind.NEGATIVE_BINOMIAL.value
        if out["lr_pvalue"] < LINEARITY_LEVEL
        else FrequencyKind.POISSON.value
    )
    return out


def fit_frequency(
    counts: pd.DataFrame, claim_type: str = "inpatient", base_year: int | None = None
) -> FrequencyFit:
    """The multiplicative frequency model for the scenario, by maximum likelihood.

    ``counts``: :func:`~simulation.claims_data.person_year_counts` (category, age_band, year,
    claims, weight). Mean claims per person-year ``r[c] f[a] (1 + trend) ** (year - base_year)``;
    Poisson and NB (common dispersion) fitted, NB kept when the LR test rejects the Poisson at 5%.
    Categories or age bands with no claims get rate / factor 0 (no standard error).
    """
    notes: list[str] = []
    df = counts.copy()
    base_year = int(df["year"].min()) if base_year is None else int(base_year)
    cats = sorted(df["category"].unique())
    bands = sorted(df["age_band"].unique(), key=_band_order)
    years = sorted(df["year"].unique())
    claims_by_cat = df.assign(t=df["claims"] * df["weight"]).groupby("category")["t"].sum()
    claims_by_band = df.assign(t=df["claims"] * df["weight"]).groupby("age_band")["t"].sum()
    live_cats = [c for c in cats if claims_by_cat.get(c, 0) > 0]
    live_bands = [b for b in bands if claims_by_band.get(b, 0) > 0]
    for c in cats:
        if c not in live_cats:
            notes.append(f"category {c!r} has no {claim_type} claims: rate 0")
    for b in bands:
        if b not in live_bands:
            notes.append(f"age band {b!r} has no {claim_type} claims: age factor 0")
    if not live_cats:
        raise ClaimsDataError(f"no {claim_type} claims to fit a frequency to")
    fit_df = df[df["category"].isin(live_cats) & df["age_band"].isin(live_bands)]
    k = fit_df["claims"].to_numpy(dtype=np.float64)
    w = fit_df["weight"].to_numpy(dtype=np.float64)
    ci = fit_df["category"].map({c: i for i, c in enumerate(live_cats)}).to_numpy()
    bi = fit_df["age_band"].map({b: i for i, b in enumerate(live_bands)}).to_numpy()
    ti = (fit_df["year"].to_numpy() - base_year).astype(np.float64)
    with_trend = len(years) > 1
    nc, nb = len(live_cats), len(live_bands)
    n_mean = nc + nb - 1 + int(with_trend)
    total_w = float(w.sum())

    def log_mean(t: np.ndarray) -> np.ndarray:
        eta = t[:nc][ci] + np.concatenate([[0.0], t[nc : nc + nb - 1]])[bi]
        if with_trend:
            eta = eta + t[nc + nb - 1] * ti
        return eta

    def nll_p(t: np.ndarray) -> float:
        return -float(np.sum(w * stats.poisson.logpmf(k, np.exp(log_mean(t))))) / total_w

    def nll_nb(t: np.ndarray) -> float:
        v = -float(np.sum(w * _nb_logpmf(k, np.exp(log_mean(t[:-1])), math.exp(t[-1])))) / total_w
        return v if np.isfinite(v) else math.inf

    # start: crude rates
    start = np.zeros(n_mean)
    exp_c = fit_df.groupby("category")["weight"].sum()
    exp_b = fit_df.groupby("age_band")["weight"].sum()
    crude = claims_by_cat[live_cats].to_numpy() / exp_c[live_cats].to_numpy()
    start[:nc] = np.log(crude)
    band_rate = claims_by_band[live_bands].to_numpy() / exp_b[live_bands].to_numpy()
    start[nc : nc + nb - 1] = np.log(band_rate[1:] / band_rate[0])
    t_p = _minimize(nll_p, start, robust=False)
    ll_p = -total_w * nll_p(t_p)
    cov_p = covariance_from_nll(lambda t: total_w * nll_p(t), t_p)

    mean_p = np.exp(log_mean(t_p))
    resid_var = float(np.sum(w * ((k - mean_p) ** 2 - mean_p)) / np.sum(w * mean_p**2))
    t_nb = _minimize(
        nll_nb,
        np.concatenate([t_p, [_log_dispersion_start(resid_var)]]),
        [(None, None)] * n_mean + [LOG_DISPERSION_BOUNDS],
        robust=False,
    )
    ll_nb = -total_w * nll_nb(t_nb)
    lr = max(2 * (ll_nb - ll_p), 0.0)
    pval = lr_pvalue_boundary(lr)
    use_nb = pval < LINEARITY_LEVEL and t_nb[-1] > -12
    if use_nb:
        theta, cov = t_nb, covariance_from_nll(lambda t: total_w * nll_nb(t), t_nb)
        dispersion = Estimate(math.exp(theta[-1]), math.exp(theta[-1]) * math.sqrt(cov[-1, -1]))
        dist = FrequencyKind.NEGATIVE_BINOMIAL
    else:
        theta, cov, dispersion, dist = t_p, cov_p, None, FrequencyKind.POISSON

    # normalise age factors: exposure-weighted mean 1 (on the log scale a linear shift)
    band_exposure = np.array([exp_b[b] for b in live_bands])
    wts = band_exposure / band_exposure.sum()

    def normalised(t: np.ndarray) -> np.ndarray:
        log_f = np.concatenate([[0.0], t[nc : nc + nb - 1]])
        shift = math.log(float(np.sum(wts * np.exp(log_f))))
        return np.concatenate([t[:nc] + shift, log_f - shift])

    jac = np.array(
        [numerical_gradient(lambda t, j=j: normalised(t)[j], theta) for j in range(nc + nb)]
    )
    logs = normalised(theta)
    cov_n = jac @ cov @ jac.T
    se_log = np.sqrt(np.clip(np.diag(cov_n), 0.0, None))
    rate = {c: Estimate(0.0) for c in cats}
    for i, c in enumerate(live_cats):
        rate[c] = Estimate(math.exp(logs[i]), math.exp(logs[i]) * se_log[i])
    age_factor = {b: Estimate(0.0) for b in bands}
    for j, b in enumerate(live_bands):
        age_factor[b] = Estimate(math.exp(logs[nc + j]), math.exp(logs[nc + j]) * se_log[nc + j])
    trend = None
    if with_trend:
        g = theta[nc + nb - 1]
        trend = Estimate(
            math.expm1(g), math.exp(g) * math.sqrt(max(cov[nc + nb - 1, nc + nb - 1], 0.0))
        )

    # default rate: mean of category rates weighted by standardised exposure E f (1+trend)^t
    fitted = np.exp(log_mean(theta[:n_mean]))
    std_exp = (
        fit_df.assign(m=w * fitted / np.exp(theta[:nc])[ci])
        .groupby("category")["m"]
        .sum()[live_cats]
        .to_numpy()
    )
    std_w = std_exp / std_exp.sum()
    r_live = np.array([rate[c].value for c in live_cats])
    grad = std_w * r_live  # d default / d log r_c
    default = Estimate(
        float(np.sum(std_w * r_live)), float(math.sqrt(max(grad @ cov_n[:nc, :nc] @ grad, 0.0)))
    )

    vague = [f"rate[{c}]" for c in live_cats if not rate[c].se < rate[c].value]
    vague += [f"age_factor[{b}]" for b in live_bands if not age_factor[b].se < age_factor[b].value]
    if dispersion is not None and not dispersion.se < dispersion.value:
        vague.append("dispersion")
    if vague:
        notes.append(
            f"poorly determined by the data (standard error above the value): {', '.join(vague)}"
        )
    groups = _group_table(df, fit_df, fitted, dispersion.value if dispersion else 0.0)
    pearson = float(np.nansum(groups["pearson"] ** 2))
    dof = int(groups["pearson"].notna().sum()) - n_mean - int(use_nb)
    return FrequencyFit(
        claim_type=claim_type,
        distribution=dist,
        rate=rate,
        default_rate=default,
        age_factor=age_factor,
        dispersion=dispersion,
        trend=trend,
        base_year=base_year,
        loglik_poisson=ll_p,
        loglik_nb=ll_nb,
        lr_stat=lr,
        lr_pvalue=pval,
        aic_poisson=2 * n_mean - 2 * ll_p,
        aic_nb=2 * (n_mean + 1) - 2 * ll_nb,
        pearson_chi2=pearson,
        pearson_dof=dof,
        groups=groups,
        notes=tuple(notes),
    )


def _band_order(label: str) -> int:
    m = re.match(r"^\s*(\d+)", str(label))
    return int(m.group(1)) if m else 0


def _group_table(
    df: pd.DataFrame, fit_df: pd.DataFrame, fitted: np.ndarray, dispersion: float
) -> pd.DataFrame:
    rows = []
    expected = (
        fit_df.assign(e=fit_df["weight"] * fitted).groupby(["category", "age_band"])["e"].sum()
    )
    for (c, b), g in df.groupby(["category", "age_band"], sort=True):
        row = {"category": c, "age_band": b}
        row.update(fit_group_frequency(g["claims"].to_numpy(), g["weight"].to_numpy()))
        e = float(expected.get((c, b), 0.0))
        row["expected_claims"] = e
        var = e * (1 + dispersion * e / row["person_years"]) if e > 0 else math.nan
        row["pearson"] = (row["claims"] - e) / math.sqrt(var) if e > 0 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)
