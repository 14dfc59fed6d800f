"""Systematic factors (simulation.engine.factors): streams, laws, persistence, trend, CRN, inputs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats

from simulation.engine.factors import FactorPaths, draw_factors
from simulation.scenario import validate_raw
from tests.scenario_variants import base_raw, validation_error


def with_systematic(section: dict, horizon: int | None = None, raw: dict | None = None):
    raw = copy.deepcopy(raw if raw is not None else base_raw())
    raw["systematic"] = {"enabled": True, **section}
    if horizon is not None:
        raw["horizon_years"] = horizon
    return validate_raw(raw, "x.toml")


ALL_KINDS = {
    "frequency": {"inpatient": {"cv": 0.05, "phi": 0.5, "trend_sd": 0.01}},
    "cost": {"inpatient": {"cv": 0.04, "law": "gamma", "groups": "category", "correlation": 0.5}},
    "events": {
        "epidemic": {
            "probability": 0.2,
            "frequency": {"inpatient": {"primary": 0.8, "county": 0.85}},
            "cost": {"inpatient": {"all": 1.05}},
        }
    },
    "parameters": {
        "inpatient": {
            "names": ["frequency.rate", "severity.city.mean"],
            "covariance": [[0.0004, 0.0], [0.0, 0.0009]],
        }
    },
}


def test_off_is_all_ones():
    s = validate_raw(base_raw(), "x.toml")
    f = draw_factors(s, 1, range(5))
    assert isinstance(f, FactorPaths) and not f.enabled
    assert f.frequency.shape == (5, 2, 2, 1, 1)
    assert (f.frequency == 1.0).all() and (f.cost == 1.0).all() and f.columns() == {}


def test_shapes_columns_and_same_values_for_any_path_set():
    s = with_systematic(ALL_KINDS)
    f = draw_factors(s, 7, range(10))
    assert f.frequency.shape == (10, 2, 2, 3, 4) and f.cost.shape == (10, 2, 2, 3, 4)
    assert f.events.shape == (10, 2, 1) and f.event_names == ("epidemic",)
    cols = f.columns()
    assert "event_epidemic" in cols and "factor_frequency_inpatient" in cols
    assert all(v.shape == (10, 2) for v in cols.values())
    # keyed by path: a subset, in another order, gives the same values
    g = draw_factors(s, 7, np.array([9, 3]))
    np.testing.assert_array_equal(g.frequency, f.frequency[[9, 3]])
    np.testing.assert_array_equal(g.cost, f.cost[[9, 3]])
    # another seed, other values
    assert not np.array_equal(draw_factors(s, 8, range(10)).frequency, f.frequency)
    # the chronic claim type has no factor: exactly 1
    assert (f.frequency[:, :, 1] == 1.0).all()


def test_horizon_and_rules_do_not_move_the_shocks():
    s2 = with_systematic(ALL_KINDS, horizon=2)
    s4 = with_systematic(ALL_KINDS, horizon=4)
    a, b = draw_factors(s2, 3, range(20)), draw_factors(s4, 3, range(20))
    np.testing.assert_array_equal(a.frequency, b.frequency[:, :2])
    np.testing.assert_array_equal(a.events, b.events[:, :2])
    raw = base_raw()
    raw["layers"] = copy.deepcopy(raw["layers"])
    first = next(iter(raw["layers"].values()))
    for band in first.get("bands", []):
        band["ratio"] = min(1.0, band["ratio"] + 0.05)
    v = with_systematic(ALL_KINDS, horizon=2, raw=raw)
    c = draw_factors(v, 3, range(20))
    np.testing.assert_array_equal(a.frequency - c.frequency, 0.0)
    np.testing.assert_array_equal(a.cost - c.cost, 0.0)


def test_adding_a_cell_does_not_move_the_shocks():
    s = with_systematic(ALL_KINDS)
    raw = base_raw()
    cells = raw["population"]["cells"]
    cells["extra"] = copy.deepcopy(cells["ordinary_old"])
    t = with_systematic(ALL_KINDS, raw=raw)
    a, b = draw_factors(s, 5, range(30)), draw_factors(t, 5, range(30))
    np.testing.assert_array_equal(a.frequency, b.frequency[..., :4])
    np.testing.assert_array_equal(a.cost, b.cost[..., :4])
    np.testing.assert_array_equal(b.cost[..., 4], b.cost[..., 3])  # same category, same group


def _lag1(x: np.ndarray) -> float:
    return float(np.corrcoef(x[:, :-1].ravel(), x[:, 1:].ravel())[0, 1])


@pytest.mark.parametrize("phi", [0.0, 0.6, -0.3])
def test_persistence_matches_phi_and_mean_cv(phi):
    n, h, cv = 4000, 6, 0.1
    s = with_systematic({"frequency": {"inpatient": {"cv": cv, "phi": phi}}}, horizon=h)
    f = draw_factors(s, 11, range(n)).frequency[:, :, 0, 0, 0]
    logs = np.log(f)
    # stationary AR(1) on the log: corr(X_k, X_k-1) = phi; Fisher-z SE of a correlation
    se = (1 - phi * phi) / np.sqrt(n * (h - 1))
    assert abs(_lag1(logs) - phi) < 4 * se
    assert abs(f.mean() - 1.0) < 4 * f.std() / np.sqrt(n) * np.sqrt((1 + abs(phi)) / (1 - abs(phi)))
    sd_log = np.sqrt(np.log1p(cv * cv))
    assert abs(logs[:, 0].std() / sd_log - 1) < 4 / np.sqrt(2 * n)


def test_random_walk_variance_grows():
    s = with_systematic({"cost": {"inpatient": {"cv": 0.05, "random_walk": True}}}, horizon=4)
    c = np.log(draw_factors(s, 2, range(4000)).cost[:, :, 0, 0, 0])
    v = c.var(axis=0)
    s2 = np.log1p(0.05**2)
    np.testing.assert_allclose(v / (s2 * np.arange(1, 5)), 1.0, atol=4 * np.sqrt(2 / 4000))


def test_trend_spread_matches_its_sd():
    n = 4000
    s = with_systematic({"frequency": {"inpatient": {"cv": 0.0, "trend_sd": 0.02}}}, horizon=3)
    f = draw_factors(s, 4, range(n))
    delta = f.trends["trend.frequency.inpatient"]
    assert abs(delta.std(ddof=1) / 0.02 - 1) < 4 / np.sqrt(2 * n)
    np.testing.assert_allclose(
        np.log(f.frequency[:, :, 0, 0, 0]), delta[:, None] * np.arange(3)[None, :], atol=1e-14
    )


def test_gamma_law_mean_cv():
    n = 20000
    s = with_systematic({"frequency": {"inpatient": {"cv": 0.2, "law": "gamma"}}}, horizon=1)
    f = draw_factors(s, 9, range(n)).frequency[:, 0, 0, 0, 0]
    # a gamma of shape 1/cv^2, scale cv^2: Kolmogorov-Smirnov
    assert stats.kstest(f, stats.gamma(25.0, scale=0.04).cdf).pvalue > 1e-3


def test_event_frequency_and_effect():
    n = 5000
    s = with_systematic(
        {"events": {"drug_list": {"probability": 0.3, "cost": {"inpatient": {"city": 1.2}}}}},
        horizon=2,
    )
    f = draw_factors(s, 1, range(n))
    p = f.events.mean()
    assert abs(p - 0.3) < 4 * np.sqrt(0.3 * 0.7 / (2 * n))
    hit = f.events[:, :, 0]
    np.testing.assert_array_equal(f.cost[:, :, 0, 2, 0], np.where(hit, 1.2, 1.0))
    np.testing.assert_array_equal(f.cost[:, :, 0, 0, 0], 1.0)


def test_group_correlation():
    n = 6000
    s = with_systematic(
        {"frequency": {"inpatient": {"cv": 0.1, "groups": "category", "correlation": 0.4}}},
        horizon=1,
    )
    f = np.log(draw_factors(s, 1, range(n)).frequency[:, 0, 0, 0, :])
    r = np.corrcoef(f[:, 0], f[:, 2])[0, 1]  # needy and ordinary cells
    assert abs(r - 0.4) < 4 * (1 - 0.16) / np.sqrt(n)
    np.testing.assert_array_equal(f[:, 0], f[:, 1])


def test_parameter_draws_match_covariance():
    n = 5000
    cov = [[0.0004, 0.0002], [0.0002, 0.0009]]
    s = with_systematic(
        {
            "parameters": {
                "inpatient": {"names": ["frequency.rate", "severity.city.mean"], "covariance": cov}
            }
        },
        horizon=1,
    )
    f = draw_factors(s, 1, range(n))
    theta = np.stack([f.parameters["parameter.inpatient.frequency.rate"],
                      f.parameters["parameter.inpatient.severity.city.mean"]], axis=1)  # fmt: skip
    np.testing.assert_allclose(np.cov(theta.T), cov, atol=4 * 0.0009 * np.sqrt(2 / n))
    np.testing.assert_allclose(f.frequency[:, 0, 0, 0, 0], np.exp(theta[:, 0]))
    np.testing.assert_allclose(f.cost[:, 0, 0, 2, 0], np.exp(theta[:, 1]))


@pytest.mark.parametrize(
    ("section", "key", "words"),
    [
        ({"frequency": {"inpatient": {"cv": -0.1}}}, "systematic.frequency.inpatient.cv", "0"),
        ({"frequency": {"inpatient": {"cv": 0.1, "phi": 1.0}}}, "systematic.frequency.inpatient.phi", "1"),
        ({"events": {"e": {"probability": 1.5}}}, "systematic.events.e.probability", "1"),
        (
            {"cost": {"inpatient": {"cv": 0.1, "groups": "category", "correlation": [[1, 2], [2, 1]]}}},
            "systematic.cost.inpatient.correlation", "[-1, 1]",
        ),
        (
            {"cost": {"inpatient": {"cv": 0.1, "groups": "category",
                                    "correlation": [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]}}},
            "systematic.cost.inpatient.correlation", "semi-definite",
        ),
        (
            {"cost": {"inpatient": {"cv": 0.1, "groups": "category", "correlation": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}}},
            "systematic.cost.inpatient.correlation", "2 x 2",
        ),
        ({"parameters": {"inpatient": {"names": ["frequency.rate"], "covariance": [[1, 0], [0, 1]]}}},
         "systematic.parameters.inpatient.covariance", "1 x 1"),
        ({"frequency": {"dental": {"cv": 0.1}}}, "systematic.frequency", "dental"),
        ({"events": {"e": {"probability": 0.1, "cost": {"inpatient": {"clinic": 1.1}}}}},
         "systematic.events.e.cost.inpatient.clinic", "hospital level"),
    ],
)  # fmt: skip
def test_bad_input_names_the_key(section, key, words):
    raw = base_raw()
    raw["systematic"] = {"enabled": True, **section}
    err = validation_error(raw)
    text = str(err)
    assert key in text and words in text and "x.toml" in text
