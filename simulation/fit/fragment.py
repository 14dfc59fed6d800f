"""The fitted parameters as a TOML scenario fragment (``[claims.<type>.frequency]``,
``[claims.<type>.severity]``) in the scenario file's own schema, each standard error in a comment.
Rates per person-year, costs in base-year yuan, level mix shares to 4 decimals summing to 1."""

from __future__ import annotations

import json
import math
import re

import numpy as np

from ..errors import FundsimError
from ..scenario.schema import LEVELS, FrequencyKind
from .claims import FitResult
from .diagnostics import _pearson_text
from .estimates import Estimate
from .frequency import FrequencyFit
from .severity import LevelFit, SeverityFit

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _num(value: float, digits: int = 6) -> str:
    if not math.isfinite(value):
        raise FundsimError(
            f"cannot write a non-finite fitted value ({value}) to a scenario fragment"
        )
    text = f"{value:.{digits}g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


def _se(est: Estimate, digits: int = 3) -> str:
    return f"SE {est.se:.{digits}g}" if math.isfinite(est.se) else "SE n/a"


def format_level_mix(mix: dict[str, Estimate]) -> str:
    """A level mix as a TOML inline table of shares with 4 decimals that sum to exactly 1 (the
    scenario checks the sum): shares rounded down to 1/10,000, the units left over given to the
    largest remainders."""
    names = [lv.value for lv in LEVELS]
    raw = np.array([max(mix[n].value, 0.0) for n in names])
    units = raw / raw.sum() * 10_000
    whole = np.floor(units).astype(np.int64)
    for i in np.argsort(-(units - whole), kind="stable")[: 10_000 - int(whole.sum())]:
        whole[i] += 1
    return (
        "{ "
        + ", ".join(f"{n} = {_num(w / 10_000, 6)}" for n, w in zip(names, whole, strict=True))
        + " }"
    )


def to_fragment(result: FitResult, parameter_uncertainty: bool = False) -> str:
    """A TOML scenario fragment with the fitted parameters, in the scenario file's own schema.

    It holds only ``[claims.<type>.frequency]`` and ``[claims.<type>.severity]`` tables (no
    ``name`` or ``start_year``): a scenario uses it with ``extends = "fragment.toml"`` and states
    everything else; its own keys override the fragment's. Each value's standard error is in a
    comment.
    """
    years = result.years
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
    out = [
        "# Illness-cost parameters fitted by `fundsim fit` (simulation.fit).",
        f"# Claims: {result.claims_source or 'n/a'} ({result.n_claims} claims); "
        f"exposure: {result.exposure_source or 'n/a'}; years {span}.",
        f"# Rates and costs refer to {result.base_year} (use it as the scenario's start_year).",
        '# A fragment, not a whole scenario: a scenario says extends = "<this file>" and adds the rest.',
        "# SE = asymptotic standard error (observed information, delta method).",
        "",
    ]
    for ct, f in result.claim_types.items():
        out += _frequency_lines(ct, f.frequency)
        out += _severity_lines(ct, f.severity)
    if parameter_uncertainty:
        out += parameter_uncertainty_lines(result)
    return "\n".join(out).rstrip() + "\n"


def parameter_covariance(result: FitResult, ct: str) -> tuple[list[str], np.ndarray]:
    """The names (:data:`~simulation.scenario.schema.PARAMETER_NAMES`) and covariance of the log
    fitted parameters of claim type ``ct``: the default claim rate and each level's mean cost,
    ``Var log x = (SE / x)^2`` (delta method). The frequency and each level's severity are fitted by
    separate likelihoods on disjoint data (counts; the claims of one level), so their estimates are
    independent and the matrix is diagonal. Parameters without a finite SE are left out."""
    f = result.claim_types[ct]
    ests = [("frequency.rate", f.frequency.default_rate)]
    ests += [(f"severity.{lvl}.mean", fit.mean_yuan) for lvl, fit in f.severity.levels.items()]
    names, var = [], []
    for name, est in ests:
        if math.isfinite(est.se) and est.value > 0:
            names.append(name)
            var.append((est.se / est.value) ** 2)
    return names, np.diag(var)


def parameter_uncertainty_lines(result: FitResult) -> list[str]:
    """``[systematic.parameters.<type>]`` tables: the covariance of the log fitted parameters
    (:func:`parameter_covariance`), drawn once per path by the engine when the scenario sets
    ``[systematic] enabled = true``."""
    out = [
        "# Parameter uncertainty: covariance of the log estimates (asymptotic normal, delta method);",
        "# the engine draws them once per path when the scenario has [systematic] enabled = true.",
    ]
    for ct in result.claim_types:
        names, cov = parameter_covariance(result, ct)
        if not names:
            continue
        out.append(f"[systematic.parameters.{ct}]")
        out.append("names = [" + ", ".join(f'"{n}"' for n in names) + "]")
        rows = ", ".join("[" + ", ".join(_num(v, 6) for v in row) + "]" for row in cov)
        out.append(f"covariance = [{rows}]")
        out.append('source = "fundsim fit: inverse observed information, delta method"')
        out.append("")
    return out


def _frequency_lines(ct: str, fr: FrequencyFit) -> list[str]:
    lines = [f"[claims.{ct}.frequency]"]
    verdict = (
        "Poisson rejected at 5%"
        if fr.distribution is FrequencyKind.NEGATIVE_BINOMIAL
        else "NB not significantly better at 5%"
    )
    lines.append(
        f'distribution = "{fr.distribution.value}"   # LR test of Poisson vs NB: {fr.lr_stat:.2f}, '
        f"p = {fr.lr_pvalue:.3g} ({verdict}); AIC Poisson {fr.aic_poisson:.1f}, NB {fr.aic_nb:.1f}"
    )
    if fr.dispersion is not None:
        lines.append(
            f"dispersion = {_num(fr.dispersion.value, 5)}   # {_se(fr.dispersion)}; variance = mean * (1 + dispersion * mean)"
        )
    if fr.trend is not None:
        lines.append(
            f"trend = {_num(fr.trend.value, 4)}   # {_se(fr.trend)}; yearly growth of the rate"
        )
    lines.append(f"# Goodness of fit by category x age band: {_pearson_text(fr)}.")
    for note in fr.notes:
        lines.append(f"# Note: {note}")
    lines.append("")
    lines.append(
        f"[claims.{ct}.frequency.rate]   # claims per person-year at age factor 1, {fr.base_year}"
    )
    lines.append(
        f"default = {_num(fr.default_rate.value, 5)}   # {_se(fr.default_rate)}; "
        "exposure-weighted mean of the categories below"
    )
    groups = fr.groups.groupby("category")[["person_years", "claims"]].sum()
    for cat, est in fr.rate.items():
        py, cl = groups.loc[cat, "person_years"], groups.loc[cat, "claims"]
        lines.append(
            f"{_key(cat)} = {_num(est.value, 5)}   # {_se(est)}; {cl:.0f} claims in {py:.0f} person-years"
        )
    lines.append("")
    lines.append(f"[claims.{ct}.frequency.age_factor]   # exposure-weighted mean 1")
    for band, est in fr.age_factor.items():
        lines.append(f"{_key(band)} = {_num(est.value, 5)}   # {_se(est)}")
    lines.append("")
    return lines


def _severity_lines(ct: str, sv: SeverityFit) -> list[str]:
    lines = [f"[claims.{ct}.severity]"]
    if sv.trend is not None:
        how = "given" if sv.trend_fixed else f"fitted, {_se(sv.trend)}"
        lines.append(
            f"trend = {_num(sv.trend.value, 4)}   # yearly growth of cost per claim ({how}); "
            f"costs deflated to {sv.base_year}"
        )
    else:
        lines.append(f"# trend: not fitted (one year of data, {sv.base_year})")
    for note in sv.notes:
        lines.append(f"# Note: {note}")
    lines.append("")
    lines.append(f"[claims.{ct}.severity.level_mix]   # share of claims by hospital level")
    for cat, mix in sv.level_mix.items():
        ses = ", ".join(f"{lv} {mix[lv].se:.2g}" for lv in mix)
        lines.append(f"{_key(cat)} = {format_level_mix(mix)}   # SE {ses}")
    lines.append("")
    for lv, lf in sv.levels.items():
        lines += _level_lines(ct, lv, lf)
    return lines


def _level_lines(ct: str, lv: str, lf: LevelFit) -> list[str]:
    m = lf.model
    head = f"[claims.{ct}.severity.levels.{lv}]   # {lf.n} claims; sample mean {lf.sample_mean.value:.1f} yuan ({_se(lf.sample_mean)})"
    tried = ", ".join(f"{k} {v:.1f}" for k, v in lf.body_loglik.items())
    lines = [
        head,
        f'body = "{m.body.value}"   # log-likelihood {"of the spliced model, all claims" if m.has_tail else "of all claims"}: {tried}',
        f"mean_yuan = {_num(lf.mean_yuan.value, 7)}   # {_se(lf.mean_yuan)}; mean of the fitted model",
        f"cv = {_num(lf.cv.value, 5)}   # {_se(lf.cv)}; CV of the body",
        f"in_policy_mean = {_num(lf.in_policy_mean.value, 5)}   # {_se(lf.in_policy_mean)}",
        f"in_policy_sd = {_num(lf.in_policy_sd.value, 5)}   # {_se(lf.in_policy_sd)}",
        f"# Fit: KS {lf.ks_stat:.4f} (p {lf.ks_pvalue:.3g}, parameters estimated), Anderson-Darling {lf.ad_stat:.3f}; "
        f"AIC body alone {lf.aic_body_only:.1f}, with tail {lf.aic_spliced:.1f}.",
    ]
    for note in lf.notes:
        lines.append(f"# Note: {note}")
    if m.has_tail and lf.tail is not None and lf.tail_quantile is not None:
        lines += [
            "",
            f"[claims.{ct}.severity.levels.{lv}.tail]   # threshold {lf.threshold_yuan:.0f} yuan from the "
            f"mean-excess plot; {lf.tail.n} excesses",
            f"quantile = {_num(m.tail_quantile, 6)}   # {_se(lf.tail_quantile)}; share of claims below the threshold",
            f"shape = {_num(m.tail_shape, 4)}   # {_se(lf.tail_shape or lf.tail.shape)}; fitted with the body; "
            f"GPD fitted to the excesses alone: shape {lf.tail.shape.value:.4f}, scale "
            f"{lf.tail.scale.value:.0f} yuan ({_se(lf.tail.scale)}), implied by continuity {m.tail_scale:.0f} yuan",
        ]
    lines.append("")
    return lines
