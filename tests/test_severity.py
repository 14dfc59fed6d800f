"""Cost per claim: mean/CV conversions both ways, the spliced severity's exact functions checked by
numerical integration and scipy, and sample moments against the closed forms.

Monte Carlo checks fix the seed and assert |estimate - exact| < 4 SE; each states its SE and sample
size. For a sample variance s^2 of n draws the SE is sqrt((mu4 - sigma^4) / n), mu4 the central
fourth moment (finite: every GPD tail here has shape 0.2 < 1/4).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from simulation.models.severity import (
    SplicedSeverity,
    beta_mean_sd,
    beta_params,
    cost_trend_factor,
    gamma_mean_cv,
    gamma_params,
    lognormal_mean_cv,
    lognormal_params,
    sample_in_policy_share,
    severity_from_config,
)
from simulation.params import Dated
from simulation.scenario.load import load_scenario
from simulation.scenario.schema import BodyKind, ClaimType

HENAN = Path(__file__).parent.parent / "scenarios" / "henan_supplementary_2019.toml"

LN, GA = BodyKind.LOGNORMAL, BodyKind.GAMMA
MODELS = {
    "lognormal": SplicedSeverity(LN, 6626.0, 1.1),
    "gamma": SplicedSeverity(GA, 5000.0, 0.9),
    "lognormal+gpd": SplicedSeverity(LN, 6626.0, 1.1, tail_quantile=0.95, tail_shape=0.2),
    "gamma+gpd": SplicedSeverity(GA, 5000.0, 0.9, tail_quantile=0.9, tail_shape=0.2),
}
SPLICED = {
    "lognormal+gpd": MODELS["lognormal+gpd"],
    "gamma+gpd": MODELS["gamma+gpd"],
    "lognormal+exponential": SplicedSeverity(LN, 3623.0, 0.9, tail_quantile=0.95, tail_shape=0.0),
    "gamma+gpd, low threshold": SplicedSeverity(GA, 9000.0, 1.0, tail_quantile=0.1, tail_shape=0.3),
}


def body_dist(s: SplicedSeverity):
    """The (scaled) body as a scipy distribution, an independent implementation."""
    if s.body is LN:
        return stats.lognorm(s=s.p2, scale=math.exp(s.p1))
    return stats.gamma(a=s.p1, scale=s.p2)


def quad_pieces(f, s: SplicedSeverity, lo: float = 0.0, hi: float = math.inf) -> float:
    """Integral of f over [lo, hi], split at the threshold and at body quantiles."""
    cuts = sorted({lo, hi, *(c for c in (s.threshold,) if lo < c < hi)})
    body = body_dist(s)
    inner = [float(body.ppf(p)) for p in (0.5, 0.9)]
    cuts = sorted(set(cuts) | {c for c in inner if lo < c < hi and c < s.threshold})
    return sum(
        integrate.quad(f, a, b, limit=400, epsabs=0, epsrel=1e-11)[0]
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    )


# --------------------------------------------------------------------------- conversions


@pytest.mark.parametrize("mean, cv", [(3623.0, 0.9), (6626.0, 1.1), (1.0, 0.05), (13942.0, 3.0)])
def test_lognormal_params_give_the_mean_and_cv(mean, cv):
    mu, sigma = lognormal_params(mean, cv)
    d = stats.lognorm(s=sigma, scale=math.exp(mu))
    assert d.mean() == pytest.approx(mean, rel=1e-12)
    assert d.std() / d.mean() == pytest.approx(cv, rel=1e-12)


@pytest.mark.parametrize("mean, cv", [(3000.0, 0.8), (5000.0, 0.9), (1.0, 2.5)])
def test_gamma_params_give_the_mean_and_cv(mean, cv):
    shape, scale = gamma_params(mean, cv)
    d = stats.gamma(a=shape, scale=scale)
    assert d.mean() == pytest.approx(mean, rel=1e-12)
    assert d.std() / d.mean() == pytest.approx(cv, rel=1e-12)


@pytest.mark.parametrize("mean, sd", [(0.85, 0.08), (0.92, 0.05), (0.5, 0.3), (0.01, 0.005)])
def test_beta_params_give_the_mean_and_sd(mean, sd):
    a, b = beta_params(mean, sd)
    d = stats.beta(a, b)
    assert d.mean() == pytest.approx(mean, rel=1e-12)
    assert d.std() == pytest.approx(sd, rel=1e-10)


@given(
    mu=st.floats(-5, 15),
    sigma=st.floats(0.01, 3),
    shape=st.floats(0.05, 500),
    scale=st.floats(1e-3, 1e5),
)
def test_parameters_to_mean_cv_and_back(mu, sigma, shape, scale):
    assert lognormal_params(*lognormal_mean_cv(mu, sigma)) == pytest.approx(
        (mu, sigma), rel=1e-9, abs=1e-9
    )
    assert gamma_params(*gamma_mean_cv(shape, scale)) == pytest.approx((shape, scale), rel=1e-9)


@given(
    mean=st.floats(1e-3, 1e7),
    cv=st.floats(0.01, 5),
    share=st.floats(0.01, 0.99),
    rel_sd=st.floats(0.01, 0.99),
)
def test_mean_cv_to_parameters_and_back(mean, cv, share, rel_sd):
    assert lognormal_mean_cv(*lognormal_params(mean, cv)) == pytest.approx((mean, cv), rel=1e-9)
    assert gamma_mean_cv(*gamma_params(mean, cv)) == pytest.approx((mean, cv), rel=1e-9)
    sd = rel_sd * math.sqrt(share * (1 - share))
    assert beta_mean_sd(*beta_params(share, sd)) == pytest.approx((share, sd), rel=1e-9)


@pytest.mark.parametrize(
    "mean, sd, words",
    [
        (0.85, 0.4, "below sqrt"),
        (0.5, 0.5, "below sqrt"),
        (1.0, 0.1, "strictly between"),
        (0.5, 0.0, "above 0"),
    ],
)
def test_beta_params_rejects_impossible_sd(mean, sd, words):
    with pytest.raises(ValueError, match=words):
        beta_params(mean, sd)


@pytest.mark.parametrize(
    "bad, words",
    [
        ((0.0, 1.0), "expected a mean above 0, found 0.0"),
        ((-1.0, 1.0), "expected a mean above 0, found -1.0"),
        ((1.0, 0.0), "expected a coefficient of variation above 0, found 0.0"),
        ((math.nan, 1.0), "expected a mean above 0, found nan"),
    ],
)
def test_conversions_reject_bad_mean_or_cv(bad, words):
    with pytest.raises(ValueError, match=f"^lognormal: {words}$"):
        lognormal_params(*bad)
    with pytest.raises(ValueError, match=f"^gamma: {words}$"):
        gamma_params(*bad)


# --------------------------------------------------------------------------- the spliced severity


@pytest.mark.parametrize("name", list(SPLICED))
def test_spliced_density_integrates_to_one(name):
    s = SPLICED[name]
    assert quad_pieces(s.pdf, s) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("name", list(SPLICED))
def test_spliced_density_is_continuous_at_the_threshold(name):
    s = SPLICED[name]
    u = s.threshold
    # the threshold is the body's q-quantile and the GPD scale is (1 - q) / f_body(u) (scipy)
    assert u == pytest.approx(float(body_dist(s).ppf(s.tail_quantile)), rel=1e-10)
    assert s.gpd_scale == pytest.approx(
        (1 - s.tail_quantile) / float(body_dist(s).pdf(u)), rel=1e-10
    )
    below, above = s.pdf(u * (1 - 1e-12)), s.pdf(u * (1 + 1e-12))
    assert above == pytest.approx(below, rel=1e-8)
    assert s.cdf(u) == pytest.approx(s.tail_quantile, rel=1e-12)


@pytest.mark.parametrize("name", list(SPLICED))
def test_spliced_mean_equals_mean_yuan(name):
    s = SPLICED[name]
    assert quad_pieces(lambda x: x * s.pdf(x), s) == pytest.approx(s.mean_yuan, rel=1e-8)


@pytest.mark.parametrize("name", list(SPLICED) + ["lognormal", "gamma"])
def test_cdf_of_ppf_is_identity(name):
    s = SPLICED.get(name) or MODELS[name]
    p = np.array(
        [1e-12, 1e-6, 0.01, 0.1, 0.5, 0.899, 0.9, 0.95, 0.950001, 0.99, 0.999999, 1 - 1e-12]
    )
    np.testing.assert_allclose(s.cdf(s.ppf(p)), p, rtol=1e-9, atol=1e-15)
    # far in the tail, sf keeps relative accuracy
    np.testing.assert_allclose(
        s.sf(s.ppf(1 - np.array([1e-3, 1e-9, 1e-13]))), [1e-3, 1e-9, 1e-13], rtol=1e-3
    )
    x = s.ppf(p)
    np.testing.assert_allclose(s.cdf(x) + s.sf(x), 1.0, atol=1e-14)
    assert np.all(np.diff(x) > 0)


@pytest.mark.parametrize("name", list(SPLICED))
def test_raw_moments_match_numerical_integration(name):
    s = SPLICED[name]
    for k in (2, 3, 4):
        if k * s.tail_shape >= 1:
            assert s.moment(k) == math.inf
            continue
        # body part by quadrature, tail part by scipy's generalized Pareto
        body = quad_pieces(lambda x, k=k: x**k * s.pdf(x), s, 0.0, s.threshold)
        gpd = stats.genpareto(c=s.tail_shape, scale=s.gpd_scale, loc=s.threshold)
        exact = body + (1 - s.tail_quantile) * float(gpd.moment(k))
        assert s.moment(k) == pytest.approx(exact, rel=1e-8), k
    assert s.moment(0) == 1.0
    assert s.moment(1) == pytest.approx(s.mean_yuan, rel=1e-12)


@pytest.mark.parametrize("name", ["lognormal", "gamma"])
def test_moments_without_a_tail_are_the_body_moments(name):
    s = MODELS[name]
    d = body_dist(s)
    for k in (1, 2, 3, 4):
        assert s.moment(k) == pytest.approx(d.moment(k), rel=1e-10)
    assert math.sqrt(s.var()) / s.mean() == pytest.approx(s.cv, rel=1e-10)
    assert s.threshold == math.inf


def test_infinite_moments_and_bad_arguments():
    s = SplicedSeverity(LN, 1000.0, 1.0, tail_quantile=0.9, tail_shape=0.45)
    assert math.isfinite(s.var())
    assert s.moment(3) == math.inf
    heavy = SplicedSeverity(LN, 1000.0, 1.0, tail_quantile=0.9, tail_shape=0.6)
    assert heavy.var() == math.inf
    with pytest.raises(ValueError, match="whole number"):
        s.moment(1.5)
    with pytest.raises(ValueError, match="tail shape"):
        SplicedSeverity(LN, 1000.0, 1.0, tail_quantile=0.9, tail_shape=1.0)
    with pytest.raises(ValueError, match="tail quantile"):
        SplicedSeverity(GA, 1000.0, 1.0, tail_quantile=1.0, tail_shape=0.1)
    with pytest.raises(ValueError, match="mean above 0"):
        SplicedSeverity(GA, 0.0, 1.0)


@pytest.mark.parametrize("name", list(SPLICED) + ["lognormal", "gamma"])
def test_limited_expectation_is_the_integral_of_the_survival_function(name):
    s = SPLICED.get(name) or MODELS[name]
    u = s.threshold if math.isfinite(s.threshold) else float(s.ppf(0.95))
    xs = np.array([100.0, 0.5 * u, u, 1.5 * u, 20 * u, 1e3 * u])
    got = s.limited_expectation(xs)
    for x, g in zip(xs, got, strict=True):
        assert g == pytest.approx(quad_pieces(s.sf, s, 0.0, float(x)), rel=1e-8), x
    assert s.limited_expectation(np.inf) == pytest.approx(s.mean_yuan, rel=1e-12)
    assert s.limited_expectation(0.0) == 0.0
    assert s.limited_expectation(-5.0) == -5.0  # min(X, x) = x for x <= 0
    assert isinstance(s.limited_expectation(10.0), float)
    assert s.limited_expectation(np.array([10.0])).shape == (1,)


@given(
    body=st.sampled_from([LN, GA]),
    mean=st.floats(100, 1e6),
    cv=st.floats(0.2, 2.5),
    q=st.floats(0.3, 0.995),
    xi=st.floats(0.0, 0.45),
)
def test_spliced_mean_by_independent_formula(body, mean, cv, q, xi):
    s = SplicedSeverity(body, mean, cv, tail_quantile=q, tail_shape=xi)
    d = body_dist(s)
    u = float(d.ppf(q))
    beta = (1 - q) / float(d.pdf(u))
    partial = (
        float(d.expect(lambda x: x, lb=0, ub=u))
        if body is GA
        else (
            math.exp(s.p1 + s.p2**2 / 2)
            * float(stats.norm.cdf((math.log(u) - s.p1 - s.p2**2) / s.p2))
        )
    )
    assert partial + (1 - q) * (u + beta / (1 - xi)) == pytest.approx(mean, rel=1e-6)
    # the body keeps its CV: splicing and scaling do not change it
    assert d.std() / d.mean() == pytest.approx(cv, rel=1e-9)
    le = s.limited_expectation(np.array([0.1, 1, 10]) * u)
    assert np.all(np.diff(le) > 0)
    assert np.all(le <= np.array([0.1, 1, 10]) * u * (1 + 1e-12)) and np.all(
        le <= mean * (1 + 1e-12)
    )


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("name", list(MODELS))
def test_sample_mean_and_variance_match_closed_forms(name):
    s = MODELS[name]
    n = 1_000_000
    x = s.sample(np.random.default_rng(20190410), n)
    assert x.shape == (n,) and x.dtype == np.float64 and np.all(x > 0)
    m1, m2, m3, m4 = (s.moment(k) for k in (1, 2, 3, 4))
    var = s.var()
    mu4 = m4 - 4 * m3 * m1 + 6 * m2 * m1**2 - 3 * m1**4  # central 4th moment
    se_mean = math.sqrt(var / n)  # e.g. lognormal: 6626 * 1.1 / 1000 = 7.3 yuan
    se_var = math.sqrt((mu4 - var**2) / n)
    assert abs(x.mean() - s.mean()) < 4 * se_mean
    assert abs(x.var(ddof=1) - var) < 4 * se_var


@pytest.mark.parametrize("name", list(SPLICED))
def test_sample_follows_the_distribution(name):
    s = SPLICED[name]
    n = 200_000
    x = s.sample(np.random.default_rng(7), n)
    # Kolmogorov-Smirnov: the 0.1% critical value is about 1.95 / sqrt(n)
    assert stats.kstest(x, s.cdf).statistic < 1.95 / math.sqrt(n)
    # share above the threshold: 1 - q, SE sqrt(q (1 - q) / n) (0.00049 for q = 0.95)
    q = s.tail_quantile
    assert abs(np.mean(x > s.threshold) - (1 - q)) < 4 * math.sqrt(q * (1 - q) / n)


@pytest.mark.parametrize("name", list(MODELS))
def test_scaled_multiplies_every_cost(name):
    s = MODELS[name]
    t = s.scaled(1.06**2)
    assert t.mean() == pytest.approx(1.06**2 * s.mean(), rel=1e-14)
    assert t.var() == pytest.approx(1.06**4 * s.var(), rel=1e-10)
    p = np.array([0.01, 0.5, 0.95, 0.999])
    np.testing.assert_allclose(t.ppf(p), 1.06**2 * s.ppf(p), rtol=1e-10)
    # the same random numbers give costs scaled by the factor (common random numbers)
    a = s.sample(np.random.default_rng(3), 1000)
    b = t.sample(np.random.default_rng(3), 1000)
    np.testing.assert_allclose(b, 1.06**2 * a, rtol=1e-9)
    with pytest.raises(ValueError, match=r"cost factor: expected a number above 0, found 0\.0"):
        s.scaled(0.0)


def test_sample_is_reproducible_and_depends_only_on_the_generator():
    s = MODELS["gamma+gpd"]
    a = s.sample(np.random.default_rng(11), 5000)
    b = s.sample(np.random.default_rng(11), 5000)
    np.testing.assert_array_equal(a, b)
    assert s.sample(np.random.default_rng(11), 0).shape == (0,)


# --------------------------------------------------------------------------- from the scenario


def test_severity_from_config_and_cost_trend_on_henan():
    sc = load_scenario(HENAN)
    inpatient = sc.claims[ClaimType.INPATIENT].severity
    assert cost_trend_factor(inpatient, 2019, 2019) == 1.0
    assert cost_trend_factor(inpatient, 2019, 2021) == pytest.approx(1.06**2, rel=1e-14)
    factor = cost_trend_factor(inpatient, 2019, 2020)
    for level, cfg in inpatient.levels.items():
        s = severity_from_config(cfg, factor)
        assert s.mean() == pytest.approx(cfg.mean_yuan * 1.06, rel=1e-14), level
        assert (s.tail_quantile, s.tail_shape) == (cfg.tail.quantile, cfg.tail.shape)
        assert body_dist(s).std() / body_dist(s).mean() == pytest.approx(cfg.cv, rel=1e-9)
        # the spliced tail is heavier than the body: CV above the body's
        assert math.sqrt(s.var()) / s.mean() > cfg.cv
    chronic = sc.claims[ClaimType.CHRONIC].severity
    for cfg in chronic.levels.values():
        s = severity_from_config(cfg)
        assert s.body is BodyKind.GAMMA and s.tail_quantile is None
        assert math.sqrt(s.var()) / s.mean() == pytest.approx(cfg.cv, rel=1e-10)
        # no tail: the severity is the body, whose mean (scipy) is the configured mean
        assert body_dist(s).mean() == pytest.approx(cfg.mean_yuan, rel=1e-12)


def test_cost_trend_factor_uses_each_years_trend():
    sev = load_scenario(HENAN).claims[ClaimType.INPATIENT].severity
    dated = sev.model_copy(update={"trend": Dated.parse({2019: 0.06, 2020: 0.02, 2022: 0.04})})
    # years 2020, 2021, 2022: 1.02 * 1.02 * 1.04 (the 2019 value is never used from start 2019)
    assert cost_trend_factor(dated, 2019, 2022) == pytest.approx(1.02 * 1.02 * 1.04, rel=1e-14)
    assert cost_trend_factor(dated, 2020, 2022) == pytest.approx(1.02 * 1.04, rel=1e-14)
    with pytest.raises(ValueError, match="before the start year"):
        cost_trend_factor(dated, 2019, 2018)


# --------------------------------------------------------------------------- in-policy share


def test_in_policy_share_with_sd_zero_is_constant_and_draws_nothing():
    rng = np.random.default_rng(5)
    out = sample_in_policy_share(rng, 4, 0.85, 0.0)
    np.testing.assert_array_equal(out, np.full(4, 0.85))
    assert rng.random() == np.random.default_rng(5).random()


def test_in_policy_share_moments():
    n, mean, sd = 400_000, 0.87, 0.07
    x = sample_in_policy_share(np.random.default_rng(9), n, mean, sd)
    assert np.all((x >= 0) & (x <= 1))
    a, b = beta_params(mean, sd)
    kurt = float(stats.beta(a, b).stats(moments="k"))  # excess kurtosis
    mu4 = (kurt + 3) * sd**4
    assert abs(x.mean() - mean) < 4 * sd / math.sqrt(n)  # SE 1.1e-4
    assert abs(x.var(ddof=1) - sd**2) < 4 * math.sqrt((mu4 - sd**4) / n)
    with pytest.raises(ValueError, match="standard deviation"):
        sample_in_policy_share(np.random.default_rng(9), 3, 0.85, 0.4)
