"""Fitting illness-cost models to claims data, and writing them as a scenario fragment.

What is fitted, for each claim type in the data (inpatient, chronic), in this order:

1. **Frequency** (claims per person-year). Per group (category x age band, years pooled): Poisson
   and negative binomial by maximum likelihood from the per-person-year counts
   (:func:`~simulation.claims_data.person_year_counts`), with standard errors from the observed
   information, a likelihood-ratio test and AIC. For the scenario: one multiplicative model
   ``rate[category] * age_factor[age_band] * (1 + trend) ** (year - base_year)`` with one common
   dispersion (variance = mean * (1 + dispersion * mean)), the same likelihoods. The negative
   binomial is chosen when the likelihood-ratio test rejects the Poisson at 5% (the Poisson is on
   the boundary dispersion = 0, so the statistic's null law is ``0.5 chi2(0) + 0.5 chi2(1)``).
   Age factors are normalised so that their exposure-weighted mean is 1.
2. **Severity trend**: ``log(cost) = level effect + year * log(1 + trend)`` by least squares;
   costs are deflated to the base year by ``(1 + trend) ** (year - base_year)`` before step 3.
3. **Severity per hospital level** (cost per claim, yuan, in the base year):

   - *Tail threshold from the mean-excess plot.* For candidate quantiles 0.90, 0.91, ..., 0.98 the
     empirical mean excess ``e(u) = mean(x - u | x > u)`` is computed with its delta-method
     covariance (influence functions of the nested means). The mean excess of a generalized Pareto
     tail is linear in ``u``, so the admissible thresholds are the **smallest candidate from which
     the mean excess is linear** (a generalised least-squares line through the points at and above
     it is not rejected by a chi-square test at 5%) and every candidate above it with at least 50
     excesses. Among these, the threshold is the one at which the spliced model written from the
     two-stage fit (below) has the highest likelihood on all claims: a profile likelihood of the
     splice point. (The linearity test
     alone has little power against a lognormal body, whose mean excess is also nearly linear at
     high quantiles; where the body and tail differ clearly it excludes thresholds inside the body.)
   - *Body and tail: the two-stage fit* (used to choose the threshold above and as the start of
     the joint fit below). The body (lognormal or gamma) by **truncated MLE on the claims at or below
     the threshold**: the log-likelihood of ``scipy.stats.lognorm`` / ``scipy.stats.gamma``
     (evaluated through sufficient statistics, tested equal), maximised numerically. The tail: a
     generalized Pareto by MLE on the excesses over the threshold (reported as ``LevelFit.tail``,
     its scale next to the written model's implied one).
   - *The written model* is the scenario's: the body truncated at its own ``q``-quantile, where
     ``q`` = the share of claims at or below the threshold, a GPD of shape ``xi`` above it with
     the scale that makes the density continuous, all scaled so the mean is ``mean_yuan``. At the
     chosen threshold this model is **fitted jointly to all claims** by maximum likelihood: its
     parameters are the body's two and ``xi``, with ``q`` fixed; the tail start and the GPD scale
     follow from the body, so the claims above the threshold inform the body (and hence the tail's
     part of the mean) as well as the shape. Its log-density is the scenario engine's
     (``SplicedSeverity``; tested equal). The body kind (lognormal or gamma) with the higher joint
     likelihood is kept. A fitted shape below 0 or from 0.5 up is written as 0 or 0.49 (the
     scenario's range), with a note, and the body refitted with the shape fixed there.
     ``mean_yuan`` is the mean of the fitted model (not the sample mean), ``cv`` its body's CV
     and the tail shape ``LevelFit.tail_shape``; the separately fitted GPD scale is reported next
     to the implied one. Goodness of fit (KS, Anderson-Darling, QQ) is measured against this model.
   - *Standard errors* everywhere: inverse of the observed information (a numerical Hessian of the
     negative log-likelihood at the MLE; for the written model, of the joint likelihood of the body
     parameters and ``xi``), and the delta method for derived values (CV, mean). They are standard
     errors *given the chosen threshold*: at a fixed threshold they match the spread of the
     estimates over repeated samples (``tests/test_fit_calibration.py``), and the spread of
     ``mean_yuan`` is about that of the plain sample mean of the claims (0.99 times in
     replications of 5,000 claims; the two-stage model's own mean: 1.44-1.54 times); with the threshold chosen from the data (the default), the
     choice itself can make the SEs of ``mean_yuan`` and ``cv`` differ from the spread of the
     selected estimates.
   - With ``tail="auto"`` the spliced model is kept only when its AIC beats the best body alone
     fitted to all claims.
   - *In-policy share* ``in_policy_cost / total_cost``: mean and standard deviation (the scenario's
     beta distribution is given by these two), with delta-method standard errors.
   - *Level mix*: the share of claims by hospital level, by category and overall (``default``).

:func:`to_fragment` writes the fitted parameters in the scenario file's own schema
(``[claims.<type>.frequency]``, ``[claims.<type>.severity.levels.<level>]``) with each standard error
in a comment, so a scenario can ``extends`` the fragment.

Modules, in import order (each imports only those above it): ``settings`` (thresholds, levels and
bounds), ``estimates`` (:class:`Estimate`, observed information, delta method, the MLE minimiser),
``spliced`` (:class:`SplicedSeverity`), ``body`` (truncated body MLE), ``tail`` (GPD fits, the
mean-excess plot and threshold), ``joint`` (the written spliced model fitted jointly to all
claims, :func:`fit_spliced`), ``severity`` (per level and per claim type), ``frequency``
(Poisson / negative binomial), ``claims`` (:func:`fit_claims`, :class:`FitResult`), ``diagnostics``
(goodness of fit, the printed summary, QQ data and plots) and ``fragment`` (:func:`to_fragment`).
Every public name is importable from ``simulation.fit`` itself.
"""

from __future__ import annotations

from .body import BodyFit, fit_body
from .claims import ClaimTypeFit, FitResult, fit_claims
from .diagnostics import format_report, goodness_of_fit_table, plot_mean_excess, plot_qq, qq_data
from .estimates import (
    Estimate,
    covariance_from_nll,
    delta_se,
    numerical_gradient,
    numerical_hessian,
)
from .fragment import format_level_mix, to_fragment
from .frequency import FrequencyFit, fit_frequency, fit_group_frequency, lr_pvalue_boundary
from .joint import JointFit, fit_spliced, spliced_nll
from .settings import (
    LINEARITY_LEVEL,
    LOG_DISPERSION_BOUNDS,
    MAX_IN_POLICY_SD,
    MAX_QQ_POINTS,
    MAX_TAIL_SHAPE,
    MIN_EXCESS_POINT,
    MIN_LEVEL_CLAIMS,
    MIN_TAIL_EXCESSES,
    TAIL_QUANTILES,
    TailMode,
)
from .severity import (
    LevelFit,
    SeverityFit,
    anderson_darling,
    fit_level_severity,
    fit_severity,
    in_policy_moments,
    severity_trend,
)
from .spliced import SplicedSeverity, body_cv, body_partial_mean
from .tail import GPDFit, choose_threshold, fit_gpd, gpd_logpdf, gpd_pwm, mean_excess

__all__ = [
    "BodyFit",
    "ClaimTypeFit",
    "Estimate",
    "FitResult",
    "FrequencyFit",
    "GPDFit",
    "JointFit",
    "LINEARITY_LEVEL",
    "LOG_DISPERSION_BOUNDS",
    "LevelFit",
    "MAX_IN_POLICY_SD",
    "MAX_QQ_POINTS",
    "MAX_TAIL_SHAPE",
    "MIN_EXCESS_POINT",
    "MIN_LEVEL_CLAIMS",
    "MIN_TAIL_EXCESSES",
    "SeverityFit",
    "SplicedSeverity",
    "TAIL_QUANTILES",
    "TailMode",
    "anderson_darling",
    "body_cv",
    "body_partial_mean",
    "choose_threshold",
    "covariance_from_nll",
    "delta_se",
    "fit_body",
    "fit_claims",
    "fit_frequency",
    "fit_gpd",
    "fit_group_frequency",
    "fit_level_severity",
    "fit_severity",
    "fit_spliced",
    "format_level_mix",
    "format_report",
    "goodness_of_fit_table",
    "gpd_logpdf",
    "gpd_pwm",
    "in_policy_moments",
    "lr_pvalue_boundary",
    "mean_excess",
    "numerical_gradient",
    "numerical_hessian",
    "plot_mean_excess",
    "plot_qq",
    "qq_data",
    "severity_trend",
    "spliced_nll",
    "to_fragment",
]
