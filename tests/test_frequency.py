"""Numbers of claims: closed forms against scipy, and the engine's two-step draw (claimants, then
zero-truncated counts) against the per-person law.

Monte Carlo checks fix the seed and assert |estimate - exact| < 4 SE, stating the SE and the sample
size. For a sample variance of n draws the SE is sqrt((mu4 - sigma^4) / n), mu4 the central fourth
moment, summed from the probability function.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from simulation.errors import ParameterError
from simulation.models.frequency import (
    cell_rate,
    claim_probability,
    count_moments,
    count_pmf,
    count_sf,
    sample_claimants,
    sample_positive_counts,
    zero_truncated_moments,
)
from simulation.scenario.load import load_scenario
from simulation.scenario.schema import ClaimType, FrequencyKind

HENAN = Path(__file__).parent.parent / "scenarios" / "henan_supplementary_2019.toml"
POISSON, NB = FrequencyKind.POISSON, FrequencyKind.NEGATIVE_BINOMIAL

# (kind, mean, dispersion): the Henan inpatient law, a Poisson, and a strongly overdispersed NB
LAWS = [(POISSON, 0.3, 0.0), (NB, 0.22, 0.5), (NB, 2.0, 1.5)]
LAW_IDS = ["poisson", "nb-henan", "nb-heavy"]


def scipy_law(kind, m, d):
    """The same law from scipy (independent): nbinom(n = 1/d, p = 1 / (1 + d m))."""
    if kind is POISSON:
        return stats.poisson(m)
    return stats.nbinom(1.0 / d, 1.0 / (1.0 + d * m))


def central_moments(kind, m, d, top=400):
    """(mean, variance, central 4th moment) summed from the probability function."""
    n = np.arange(top)
    p = scipy_law(kind, m, d).pmf(n)
    mean = float(np.sum(n * p))
    var = float(np.sum((n - mean) ** 2 * p))
    return mean, var, float(np.sum((n - mean) ** 4 * p))


@pytest.mark.parametrize("kind, m, d", LAWS, ids=LAW_IDS)
def test_closed_forms_match_scipy(kind, m, d):
    law = scipy_law(kind, m, d)
    assert claim_probability(m, kind, d) == pytest.approx(float(law.sf(0)), rel=1e-12)
    mean, var = count_moments(m, kind, d)
    assert (mean, var) == pytest.approx(tuple(float(v) for v in law.stats(moments="mv")), rel=1e-12)
    n = np.arange(0, 40)
    np.testing.assert_allclose(count_pmf(n, m, kind, d), law.pmf(n), rtol=1e-10)
    np.testing.assert_allclose(count_sf(n, m, kind, d), law.sf(n), rtol=1e-8)
    n_pos = np.arange(1, 400)
    p_pos = law.pmf(n_pos) / law.sf(0)
    e1 = float(np.sum(n_pos * p_pos))
    e2 = float(np.sum(n_pos**2 * p_pos))
    assert zero_truncated_moments(m, kind, d) == pytest.approx((e1, e2 - e1 * e1), rel=1e-10)


def test_claim_probability_is_vectorised_and_accurate_for_small_means():
    m = np.array([0.0, 1e-12, 0.16, 5.0])
    np.testing.assert_allclose(claim_probability(m, POISSON), -np.expm1(-m), rtol=1e-15)
    nb = claim_probability(m, NB, 0.5)
    big = m >= 0.1  # scipy's 1 - p^r cancels for tiny means
    np.testing.assert_allclose(nb[big], stats.nbinom(2.0, 1 / (1 + 0.5 * m[big])).sf(0), rtol=1e-12)
    # series: 1 - (1 + d m)^(-1/d) = m - (1 + d) m^2 / 2 + ...
    assert nb[1] == pytest.approx(1e-12 - 0.75e-24, rel=1e-14)
    assert isinstance(claim_probability(0.2, POISSON), float)
    # a negative binomial with dispersion 0 is the Poisson limit
    assert claim_probability(0.2, NB, 0.0) == claim_probability(0.2, POISSON)


@given(m=st.floats(1e-9, 50), dm=st.floats(1e-6, 10), d=st.floats(1e-3, 20))
def test_claim_probability_properties(m, dm, d):
    p_pois = claim_probability(m, POISSON)
    p_nb = claim_probability(m, NB, d)
    assert 0.0 < p_nb <= p_pois <= 1.0  # overdispersion puts more mass on zero claims
    assert claim_probability(m + dm, POISSON) >= p_pois
    assert claim_probability(m + dm, NB, d) >= p_nb


@pytest.mark.parametrize("kind, m, d", LAWS, ids=LAW_IDS)
def test_claimants_then_positive_counts_reproduce_the_per_person_law(kind, m, d):
    n_persons = 400_000
    rng = np.random.default_rng(2019)
    k = int(sample_claimants(rng, n_persons, m, kind, d))
    counts = np.zeros(n_persons, dtype=np.int64)
    counts[:k] = sample_positive_counts(rng, k, m, kind, d)
    mean, var, mu4 = central_moments(kind, m, d)
    assert (mean, var) == pytest.approx(count_moments(m, kind, d), rel=1e-9)
    # SE of the mean sqrt(var / n) (poisson 0.3: 8.7e-4); of the variance sqrt((mu4 - var^2) / n)
    assert abs(counts.mean() - mean) < 4 * math.sqrt(var / n_persons)
    assert abs(counts.var(ddof=1) - var) < 4 * math.sqrt((mu4 - var**2) / n_persons)
    # chi-square over 0, 1, ..., K-1 and ">= K" (K: last count with expected frequency >= 5)
    law = scipy_law(kind, m, d)
    top = int(np.max(np.flatnonzero(n_persons * law.pmf(np.arange(200)) >= 5)))
    expected = n_persons * np.append(law.pmf(np.arange(top)), law.sf(top - 1))
    observed = np.append(np.bincount(counts, minlength=top)[:top], np.sum(counts >= top))
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    assert chi2 < stats.chi2.ppf(0.999, df=top)


@pytest.mark.parametrize("kind, m, d", LAWS, ids=LAW_IDS)
def test_positive_counts_have_the_zero_truncated_mean(kind, m, d):
    k = 500_000
    x = sample_positive_counts(np.random.default_rng(11), k, m, kind, d)
    assert x.dtype == np.int64 and x.shape == (k,) and x.min() >= 1
    e1, v1 = zero_truncated_moments(m, kind, d)
    # given N >= 1 (scipy's law): E[N] / P(N >= 1) and E[N^2] / P(N >= 1) - (that mean)^2
    law = scipy_law(kind, m, d)
    assert e1 == pytest.approx(law.mean() / law.sf(0), rel=1e-12)
    assert v1 == pytest.approx(law.moment(2) / law.sf(0) - (law.mean() / law.sf(0)) ** 2, rel=1e-10)
    # SE sqrt(Var(N | N >= 1) / k), e.g. 4.6e-4 for the Poisson 0.3
    assert abs(x.mean() - e1) < 4 * math.sqrt(v1 / k)


@pytest.mark.parametrize("distinct", [3, 1000], ids=["few-means", "many-means"])
def test_positive_counts_with_one_mean_per_draw(distinct):
    k = 300_000
    rng = np.random.default_rng(5)
    levels = np.linspace(0.05, 3.0, distinct)
    m = levels[rng.integers(0, distinct, k)]
    x = sample_positive_counts(rng, k, m, NB, 0.8)
    assert x.min() >= 1
    means = np.array([zero_truncated_moments(v, NB, 0.8) for v in levels])
    idx = np.searchsorted(levels, m)
    exact = means[idx, 0].mean()
    se = math.sqrt(means[idx, 1].sum()) / k  # independent draws: SE of the average
    assert abs(x.mean() - exact) < 4 * se
    with pytest.raises(ValueError, match="one mean per draw"):
        sample_positive_counts(rng, 3, np.array([0.1, 0.2]), NB, 0.8)


def test_positive_counts_edge_cases():
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(sample_positive_counts(rng, 5, 0.0, POISSON), np.ones(5))
    np.testing.assert_array_equal(sample_positive_counts(rng, 5, 1e-300, NB, 0.5), np.ones(5))
    assert sample_positive_counts(rng, 0, 0.2, POISSON).shape == (0,)
    # the same generator state gives the same draws
    a = sample_positive_counts(np.random.default_rng(3), 1000, 0.4, NB, 0.5)
    b = sample_positive_counts(np.random.default_rng(3), 1000, 0.4, NB, 0.5)
    np.testing.assert_array_equal(a, b)


def test_sample_claimants_over_paths():
    rng = np.random.default_rng(8)
    n = np.array([0, 10, 1000, 5000])
    out = sample_claimants(rng, n, 0.22, NB, 0.5, size=(20_000, 4))
    assert out.shape == (20_000, 4) and out.dtype == np.int64
    assert np.all(out >= 0) and np.all(out <= n)
    p = claim_probability(0.22, NB, 0.5)
    # SE of the mean of 20,000 binomials: sqrt(n p (1 - p) / 20000)
    se = np.sqrt(n * p * (1 - p) / 20_000)
    assert np.all(np.abs(out.mean(axis=0) - n * p) <= 4 * se)
    assert sample_claimants(rng, 1000, 0.0, POISSON) == 0


def test_cell_rate_on_henan():
    sc = load_scenario(HENAN)
    f = sc.claims[ClaimType.INPATIENT].frequency
    assert cell_rate(f, "registered_poor", "60+", 2019, 2019) == pytest.approx(0.22 * 1.6)
    assert cell_rate(f, "ordinary", "16-59", 2019, 2021) == pytest.approx(
        0.16 * 0.8
    )  # default rate
    assert cell_rate(f, "extremely_poor", "unknown band", 2019, 2019) == pytest.approx(0.28)
    trended = f.model_copy(update={"trend": 0.03})
    assert cell_rate(trended, "registered_poor", "0-15", 2019, 2021) == pytest.approx(
        0.22 * 0.5 * 1.03**2
    )
    no_default = f.model_copy(update={"rate": {"registered_poor": 0.2}})
    with pytest.raises(ParameterError, match="'ordinary'"):
        cell_rate(no_default, "ordinary", "0-15", 2019, 2019)
