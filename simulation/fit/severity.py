"""Severity fits: per hospital level (:func:`fit_level_severity`: body, tail at the profile-likelihood
splice point, the written spliced model fitted jointly to all claims (:func:`fit_spliced`), goodness
of fit, in-policy share) and per claim type
(:func:`fit_severity`: cost trend, deflation to the base year, level mix). Costs in base-year yuan,
shares and trends as fractions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..claims_data import raise_problems, rows_problem
from ..errors import ClaimsDataError
from ..scenario.schema import LEVELS, BodyKind
from .body import BodyFit, _body_params, fit_body
from .estimates import Estimate, delta_se
from .joint import fit_spliced
from .settings import (
    MAX_IN_POLICY_SD,
    MAX_TAIL_SHAPE,
    MIN_LEVEL_CLAIMS,
    MIN_TAIL_EXCESSES,
    TailMode,
)
from .spliced import SplicedSeverity
from .tail import GPDFit, choose_threshold, fit_gpd


@dataclass(frozen=True)
class LevelFit:
    """The fitted severity at one hospital level (costs in base-year yuan)."""

    claim_type: str
    level: str
    n: int
    model: SplicedSeverity
    """The written model (what the fragment gives the scenario)."""
    mean_yuan: Estimate
    cv: Estimate
    body: BodyFit
    tail: GPDFit | None
    """The GPD fitted separately to the excesses over the threshold (its scale is reported next to
    the written model's implied one); the written model's shape is ``tail_shape``."""
    tail_quantile: Estimate | None
    """Share of claims at or below the threshold, SE ``sqrt(q (1 - q) / n)``."""
    threshold_yuan: float | None
    in_policy_mean: Estimate
    in_policy_sd: Estimate
    sample_mean: Estimate
    ks_stat: float
    ks_pvalue: float
    ad_stat: float
    loglik: float
    """Log-likelihood of the written model."""
    aic_body_only: float
    aic_spliced: float
    mean_excess: pd.DataFrame = field(repr=False)
    body_loglik: dict[str, float] = field(default_factory=dict)
    """Log-likelihood of each body kind tried: of the jointly fitted spliced model on all claims
    when there is a tail, of the body alone otherwise."""
    tail_shape: Estimate | None = None
    """The written model's GPD shape (joint MLE) with its SE from the joint observed information."""
    notes: tuple[str, ...] = ()
    data: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    """The (deflated) costs the fit used, for QQ data."""


def anderson_darling(x: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    """``A^2 = -n - (1/n) sum_i (2i - 1) [ln F(x_(i)) + ln(1 - F(x_(n+1-i)))]``."""
    xs = np.sort(np.asarray(x, dtype=np.float64))
    n = xs.size
    f = np.clip(cdf(xs), 1e-300, 1.0 - 1e-16)
    i = np.arange(1, n + 1)
    return float(-n - np.sum((2 * i - 1) * (np.log(f) + np.log1p(-f[::-1]))) / n)


def in_policy_moments(share: np.ndarray) -> tuple[Estimate, Estimate]:
    """Mean and standard deviation of the in-policy share, with delta-method standard errors.

    ``se(mean) = sd / sqrt(n)``; ``se(sd) = sqrt((m4 - sd^4) / n) / (2 sd)`` (m4: 4th central moment).
    """
    s = np.asarray(share, dtype=np.float64)
    n = s.size
    m = float(s.mean())
    sd = float(s.std(ddof=1)) if n > 1 else 0.0
    m4 = float(np.mean((s - m) ** 4))
    se_sd = math.sqrt(max(m4 - sd**4, 0.0) / n) / (2 * sd) if sd > 0 else math.nan
    return Estimate(m, sd / math.sqrt(n)), Estimate(sd, se_sd)


def fit_level_severity(
    cost: np.ndarray,
    in_policy_share: np.ndarray,
    *,
    claim_type: str = "inpatient",
    level: str = "",
    tail: TailMode = "auto",
    tail_quantile: float | None = None,
    bodies: Sequence[BodyKind] = (BodyKind.LOGNORMAL, BodyKind.GAMMA),
) -> LevelFit:
    """Fit the severity of one hospital level (see :mod:`simulation.fit`).

    ``cost``: positive costs per claim, yuan (already deflated to the base year);
    ``in_policy_share``: in-policy cost / total cost of the same claims. ``tail``: ``auto`` keeps the
    spliced model when its AIC beats the body alone, ``always`` / ``never`` force the choice.
    ``tail_quantile`` fixes the threshold quantile instead of choosing it.
    """
    x = np.asarray(cost, dtype=np.float64)
    n = x.size
    notes: list[str] = []
    ip_mean, ip_sd = in_policy_moments(in_policy_share)
    sd_max = math.sqrt(ip_mean.value * (1.0 - ip_mean.value))
    if ip_sd.value >= min(sd_max, MAX_IN_POLICY_SD):
        written = 0.99 * min(sd_max, MAX_IN_POLICY_SD)
        notes.append(
            f"in-policy share sd {ip_sd.value:.4f} is not a beta distribution's with mean "
            f"{ip_mean.value:.4f} (needs sd < sqrt(mean (1 - mean)) and < 0.5): written as {written:.4f}"
        )
        ip_sd = Estimate(written, ip_sd.se)
    sample_mean = Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)))

    # the no-tail candidate: each body on all claims
    full = {k: fit_body(x, k) for k in bodies}
    best_full = max(full.values(), key=lambda b: b.loglik)
    aic_body_only = 2 * 2 - 2 * best_full.loglik

    me_table = choose_threshold(x)[1]
    spliced = None
    if tail != "never":
        spliced = _choose_splice(x, me_table, bodies, tail_quantile, notes)
    if spliced is None and tail == "always":
        raise ClaimsDataError(
            f"{claim_type} claims at level {level!r}: a tail was asked for but the {n} claims leave "
            f"fewer than {MIN_TAIL_EXCESSES} above any candidate threshold"
        )

    aic_spliced = math.nan
    use_tail = False
    if spliced is not None:
        body_t, gpd, q_hat, u, model, body_ll, _ = spliced
        aic_spliced = 2 * 4 - 2 * float(np.sum(model.logpdf(x)))
        use_tail = tail == "always" or aic_spliced < aic_body_only
        if not use_tail:
            notes.append(
                f"tail dropped: AIC {aic_spliced:.1f} with a tail, {aic_body_only:.1f} without"
            )

    tail_shape = None
    if use_tail:
        joint = spliced[6]
        kind = joint.body.kind

        def mean_of(t: np.ndarray) -> float:
            p1, p2 = _body_params(kind, t[:2])
            xi = float(t[2]) if t.size > 2 else model.tail_shape
            return SplicedSeverity(kind, p1, p2, q_hat, xi).mean()

        mean_est = Estimate(model.mean(), delta_se(mean_of, joint.theta, joint.cov))
        body_fit, tail_fit = joint.body, gpd
        tail_shape = joint.shape
        tq = Estimate(q_hat, math.sqrt(q_hat * (1 - q_hat) / n))
        threshold = u
        implied = model.tail_scale
        if abs(implied - gpd.scale.value) > 4 * gpd.scale.se:
            notes.append(
                f"the GPD scale fitted to the excesses {gpd.scale.value:.0f} yuan differs from the "
                f"scale implied by density continuity {implied:.0f} yuan by more than 4 SE: the "
                "splice is poor"
            )
    else:
        body_fit, tail_fit, tq, threshold = best_full, None, None, None
        model = SplicedSeverity(best_full.kind, best_full.p1, best_full.p2)
        kind = best_full.kind

        def mean_of(t: np.ndarray) -> float:
            return SplicedSeverity(kind, *_body_params(kind, t)).mean()

        mean_est = Estimate(model.mean(), delta_se(mean_of, best_full.theta, best_full.cov))
        body_ll = {k.value: b.loglik for k, b in full.items()}

    ks = stats.kstest(x, model.cdf)
    return LevelFit(
        claim_type=claim_type,
        level=level,
        n=n,
        model=model,
        mean_yuan=mean_est,
        cv=body_fit.cv,
        body=body_fit,
        tail=tail_fit,
        tail_quantile=tq,
        threshold_yuan=threshold,
        in_policy_mean=ip_mean,
        in_policy_sd=ip_sd,
        sample_mean=sample_mean,
        ks_stat=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        ad_stat=anderson_darling(x, model.cdf),
        loglik=float(np.sum(model.logpdf(x))),
        aic_body_only=aic_body_only,
        aic_spliced=aic_spliced,
        mean_excess=me_table,
        body_loglik=body_ll,
        tail_shape=tail_shape,
        notes=tuple(notes),
        data=x,
    )


def _written_model(
    body: BodyFit, xi: float, q_hat: float, notes: list[str] | None
) -> SplicedSeverity:
    """The scenario's spliced model from a truncated body, a GPD shape and ``q``: shape kept in
    [0, MAX_TAIL_SHAPE] as the scenario requires (with a note)."""
    if xi < 0.0:
        if notes is not None:
            notes.append(
                f"fitted tail shape {xi:.3f} < 0 (a bounded tail) written as 0 (the scenario needs >= 0)"
            )
        xi = 0.0
    elif xi > MAX_TAIL_SHAPE:
        if notes is not None:
            notes.append(
                f"fitted tail shape {xi:.3f} >= 0.5 (infinite variance) written as {MAX_TAIL_SHAPE} "
                "(the scenario needs < 0.5)"
            )
        xi = MAX_TAIL_SHAPE
    return SplicedSeverity(body.kind, body.p1, body.p2, q_hat, xi)


def _choose_splice(
    x: np.ndarray,
    me_table: pd.DataFrame,
    bodies: Sequence[BodyKind],
    tail_quantile: float | None,
    notes: list[str],
):
    """The threshold and the spliced fit at it, or None when no candidate has enough excesses.

    Candidates: the quantiles from which the mean excess is linear (the smallest such and every one
    above it) with at least ``MIN_TAIL_EXCESSES`` excesses, or ``tail_quantile`` alone. At each, the
    body (the kind better at the smallest candidate) is fitted below and the GPD above; the candidate
    whose written spliced model has the highest likelihood on all claims is kept (a profile
    likelihood of the splice point). Records that likelihood in ``me_table["spliced_loglik"]``.
    """
    me_table["spliced_loglik"] = np.nan
    if tail_quantile is not None:
        candidates = [float(tail_quantile)]
    else:
        first = me_table["chosen"].to_numpy().argmax() if me_table["chosen"].any() else None
        if first is None:
            notes.append("too few claims for the mean-excess plot: no tail fitted")
            return None
        candidates = [
            float(q)
            for i, (q, ne) in enumerate(
                zip(me_table["quantile"], me_table["n_excess"], strict=True)
            )
            if i >= first and ne >= MIN_TAIL_EXCESSES
        ]
    usable = []
    for q in candidates:
        u = float(np.quantile(x, q))
        if int((x > u).sum()) >= MIN_TAIL_EXCESSES:
            usable.append((q, u))
    if not usable:
        notes.append(
            f"fewer than {MIN_TAIL_EXCESSES} claims above every candidate threshold: no tail fitted"
        )
        return None
    kind = max(
        (fit_body(x, k, upper=usable[0][1], with_se=False) for k in bodies), key=lambda b: b.loglik
    ).kind
    best = None
    start = None
    gpd_start = None
    for q, u in usable:
        body = fit_body(x, kind, upper=u, start=start, with_se=False)
        start = body.theta
        gpd = fit_gpd(x[x > u] - u, with_se=False, start=gpd_start)
        gpd_start = (gpd.shape.value, gpd.scale.value)
        model = _written_model(body, gpd.shape.value, float(np.mean(x <= u)), None)
        ll = float(np.sum(model.logpdf(x)))
        me_table.loc[np.isclose(me_table["quantile"], q), "spliced_loglik"] = ll
        if best is None or ll > best[0]:
            best = (ll, q, u)
    _, q, u = best
    gpd = fit_gpd(x[x > u] - u)
    q_hat = float(np.mean(x <= u))
    joints = {
        k: fit_spliced(x, k, q_hat, fit_body(x, k, upper=u, with_se=False).theta, gpd.shape.value)
        for k in bodies
    }
    joint = max(joints.values(), key=lambda j: j.loglik)
    if joint.clamped is not None:
        notes.append(joint.clamped)
    model = joint.model
    body_ll = {k.value: j.loglik for k, j in joints.items()}
    return joint.body, gpd, q_hat, u, model, body_ll, joint


@dataclass(frozen=True)
class SeverityFit:
    claim_type: str
    base_year: int
    trend: Estimate | None
    """Yearly growth of cost per claim (None: one year of data, or fixed by the caller)."""
    trend_fixed: bool
    levels: dict[str, LevelFit]
    level_mix: dict[str, dict[str, Estimate]]
    """Share of claims by level, by category, and ``default`` for all categories together."""
    notes: tuple[str, ...] = ()


def severity_trend(log_cost: np.ndarray, years: np.ndarray, levels: np.ndarray) -> Estimate:
    """Yearly cost growth from ``log cost = level effect + year * log(1 + g)`` (least squares).

    Returns ``g`` with the delta-method standard error ``(1 + g) se(log(1 + g))``.
    """
    y = np.asarray(log_cost, dtype=np.float64)
    lv = pd.Categorical(levels)
    x = np.column_stack(
        [np.asarray(years, dtype=np.float64), pd.get_dummies(lv).to_numpy(dtype=np.float64)]
    )
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = max(y.size - x.shape[1], 1)
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.pinv(x.T @ x)
    b = float(coef[0])
    return Estimate(math.expm1(b), math.exp(b) * math.sqrt(max(cov[0, 0], 0.0)))


def fit_severity(
    claims: pd.DataFrame,
    claim_type: str = "inpatient",
    base_year: int | None = None,
    *,
    trend: float | None = None,
    tail: TailMode = "auto",
    tail_quantile: float | None = None,
) -> SeverityFit:
    """Severity by hospital level for one claim type (``claims`` holds only that type).

    ``trend``: yearly cost growth used to deflate costs to ``base_year``; None estimates it (when the
    data span more than one year).
    """
    path = claims.attrs.get("path", "claims table")
    lines = claims["line"].to_numpy()
    total = claims["total_cost"].to_numpy(dtype=np.float64)
    raise_problems(
        path,
        [
            rows_problem(
                f"total_cost is 0: a {claim_type} cost model needs positive costs (remove these claims "
                "or give them a cost)",
                total <= 0,
                lines,
                total,
            )
        ],
    )
    notes: list[str] = []
    years = claims["year"].to_numpy()
    base_year = int(years.min()) if base_year is None else int(base_year)
    trend_est: Estimate | None
    if trend is not None:
        trend_est, fixed = Estimate(float(trend)), True
    elif np.unique(years).size > 1:
        trend_est, fixed = (
            severity_trend(np.log(total), years, claims["hospital_level"].to_numpy()),
            False,
        )
    else:
        trend_est, fixed = None, False
    g = trend_est.value if trend_est is not None else 0.0
    deflated = total / (1.0 + g) ** (years - base_year)
    share = claims["in_policy_cost"].to_numpy(dtype=np.float64) / total
    level_col = claims["hospital_level"].to_numpy()

    levels: dict[str, LevelFit] = {}
    for lv in LEVELS:
        sel = level_col == lv.value
        n = int(sel.sum())
        if n == 0:
            notes.append(f"no {claim_type} claims at level {lv.value!r}: not fitted")
            continue
        if n < MIN_LEVEL_CLAIMS:
            notes.append(
                f"{n} {claim_type} claims at level {lv.value!r} (< {MIN_LEVEL_CLAIMS}): not fitted"
            )
            continue
        levels[lv.value] = fit_level_severity(
            deflated[sel],
            share[sel],
            claim_type=claim_type,
            level=lv.value,
            tail=tail,
            tail_quantile=tail_quantile,
        )

    mix: dict[str, dict[str, Estimate]] = {}
    for cat, sub in [("default", claims), *sorted(claims.groupby("category"), key=lambda t: t[0])]:
        n = len(sub)
        counts = sub["hospital_level"].value_counts()
        mix[str(cat)] = {
            lv.value: Estimate(
                float(counts.get(lv.value, 0)) / n,
                math.sqrt(counts.get(lv.value, 0) / n * (1 - counts.get(lv.value, 0) / n) / n),
            )
            for lv in LEVELS
        }
    return SeverityFit(claim_type, base_year, trend_est, fixed, levels, mix, tuple(notes))
