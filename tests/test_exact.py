"""The exact (discretisation + FFT) method against closed forms, brute force and Monte Carlo.

Closed forms used (lognormal cost X with mean mu_X and coefficient of variation cv, so
sigma**2 = ln(1 + cv**2) and mu = ln(mu_X) - sigma**2 / 2; Phi the standard normal cdf):

- ``E[X**k; X > d] = exp(k mu + k**2 sigma**2 / 2) Phi((mu + k sigma**2 - ln d) / sigma)``, so
  ``E[(X - d)+] = E[X; X > d] - d P(X > d)`` and
  ``E[(X - d)+**2] = E[X**2; X > d] - 2 d E[X; X > d] + d**2 P(X > d)``;
- compound Poisson total of N persons: mean ``N lam E[Z]``, variance ``N lam E[Z**2]``;
- negative binomial counts (variance ``m (1 + d m)``): variance ``N (m E[Z**2] + d m**2 E[Z]**2)``.

Tolerances are stated at each assertion: the grid step is chosen so the mean lost beyond the grid is
below 1e-6 of the claims' mean; the variance carries the rounding error (at most h**2/4 per rounding)
and the lognormal's second moment beyond the grid.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats

from simulation.engine.exact import (
    ClaimLaw,
    aggregate_persons,
    beta_quadrature,
    characteristic_at,
    compound_masses,
    count_pgf,
    discretise_severity,
    exact_claims_distribution,
    exact_contract_measures,
    masses_moments,
    split_onto_grid,
    value_at_risk,
)
from simulation.errors import FundsimError
from simulation.scenario.load import load_scenario
from simulation.scenario.schema import Contract, ContractKind, FrequencyKind

# --------------------------------------------------------------------------- small scenarios

LEVEL_ROW = (
    '{level} = {{ body = "lognormal", mean_yuan = {mean}, cv = {cv}, {tail}'
    "in_policy_mean = {ip_mean}, in_policy_sd = {ip_sd} }}"
)


def scenario_toml(
    *,
    count: int = 1,
    rate: float = 0.3,
    frequency: str = "poisson",
    dispersion: float = 0.0,
    mean: float = 10000.0,
    cv: float = 0.8,
    ip_mean: float = 1.0,
    ip_sd: float = 0.0,
    layers: str,
    cascade: str,
    funds: str,
    level_means: tuple[float, float, float] | None = None,
    tail: str = "",
) -> str:
    means = level_means or (mean, mean, mean)
    rows = "\n".join(
        LEVEL_ROW.format(level=lv, mean=m, cv=cv, ip_mean=ip_mean, ip_sd=ip_sd, tail=tail)
        for lv, m in zip(("primary", "county", "city"), means, strict=True)
    )
    disp = f"dispersion = {dispersion}" if frequency == "negative_binomial" else ""
    return f"""
name = "exact_test"
start_year = 2020
cascade = {cascade}

[categories]
poor = {{ label = "Poor" }}

[population.cells]
poor_all = {{ category = "poor", age_band = "all", count = {count}, income = {{ mean_yuan = 6000 }} }}

[claims.inpatient.frequency]
distribution = "{frequency}"
rate = {{ default = {rate} }}
{disp}

[claims.inpatient.severity]
level_mix = {{ default = {{ primary = 0.25, county = 0.45, city = 0.30 }} }}

[claims.inpatient.severity.levels]
{rows}

{layers}

{funds}
"""


ONE_FUND = """
[funds.f]
label = "F"
financing_per_head = 100
[funds.f.contract]
kind = "capped_profit"
profit_cap_rate = 0.03
"""

COINSURANCE = """
[layers.cover]
label = "Coinsurance"
fund = "f"
settlement = "annual_cumulative"
bands = [{ from = 0, ratio = 0.6 }]
"""


def load(tmp_path, text: str, name: str = "s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return load_scenario(path)


def lognormal(mean: float, cv: float) -> tuple[float, float]:
    sigma2 = math.log1p(cv * cv)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def lognormal_partial_moment(k: int, d: float, mean: float, cv: float) -> float:
    """E[X**k; X > d] for the lognormal with this mean and cv (module docstring)."""
    mu, s = lognormal(mean, cv)
    return math.exp(k * mu + k * k * s * s / 2.0) * stats.norm.cdf(
        (mu + k * s * s - math.log(d)) / s
    )


# --------------------------------------------------------------------------- the core


class Lognormal:
    """A lognormal claim cost with this mean and cv, with the methods the discretisation uses."""

    def __init__(self, mean: float, cv: float) -> None:
        self.m, self.cv = mean, cv
        self.mu, self.s = lognormal(mean, cv)

    def mean(self) -> float:
        return self.m

    def var(self) -> float:
        return (self.m * self.cv) ** 2

    def sf(self, x):
        return stats.lognorm(self.s, scale=math.exp(self.mu)).sf(x)

    def limited_expectation(self, x):
        x = np.asarray(x, dtype=float)
        out = np.zeros_like(x)
        pos = x > 0
        lx = np.log(x[pos])
        out[pos] = self.m * stats.norm.cdf((lx - self.mu - self.s**2) / self.s) + x[
            pos
        ] * stats.norm.sf((lx - self.mu) / self.s)
        return out


def test_discretisation_is_mean_preserving():
    sev = Lognormal(8000.0, 1.2)
    h, n = 20.0, 2**13  # grid to 164k yuan: a visible tail beyond it
    grid = discretise_severity(sev, h, n)
    assert grid.masses.min() >= 0.0
    top = (n - 1) * h
    p_tail = float(sev.sf(top))
    assert grid.far_value > top and 0 < grid.far_weight <= p_tail
    assert grid.masses.sum() + grid.far_weight == pytest.approx(1.0, abs=1e-12)
    x = h * np.arange(n)
    # grid part + far atom: the mean exactly, the second moment up to the midpoint rule's O(h**4)
    mean = np.dot(x, grid.masses) + grid.far_value * grid.far_weight
    assert mean == pytest.approx(sev.mean(), rel=1e-12)
    second = np.dot(x**2, grid.masses) + grid.far_value**2 * grid.far_weight
    # rounding adds E[u (1 - u)] h**2 <= h**2 / 4 to the second moment
    assert 0 <= second - (sev.var() + sev.mean() ** 2) <= h * h / 4
    # lumped: mean E[X ^ L]
    lumped_mean = np.dot(x, grid.lumped())
    assert lumped_mean == pytest.approx(
        float(sev.limited_expectation(np.array([top]))[0]), rel=1e-12
    )


def test_split_onto_grid_keeps_mass_and_mean():
    rng = np.random.default_rng(1)
    v = rng.uniform(0, 990, 1000)
    w = rng.uniform(0, 1, 1000)
    q = split_onto_grid(v, w, 10.0, 100)
    assert q.sum() == pytest.approx(w.sum(), rel=1e-13)
    assert np.dot(10.0 * np.arange(100), q) == pytest.approx(np.dot(v, w), rel=1e-13)


@pytest.mark.parametrize(
    "mean,sd", [(0.85, 0.08), (0.95, 0.03), (0.999, 0.0005), (0.5, 0.001), (0.3, 0.4)]
)
def test_beta_quadrature_keeps_mean_and_sd(mean, sd):
    nodes, weights = beta_quadrature(mean, sd, 16)
    assert np.all(weights > 0) and weights.sum() == pytest.approx(1.0)
    assert np.all((nodes >= 0) & (nodes <= 1))
    m = np.dot(weights, nodes)
    assert m == pytest.approx(mean, rel=1e-12)
    assert math.sqrt(np.dot(weights, (nodes - m) ** 2)) == pytest.approx(sd, rel=1e-9)
    # third moment of the beta law too (degree 3 < 2 * 16)
    k = mean * (1 - mean) / sd**2 - 1
    a, b = mean * k, (1 - mean) * k
    assert np.dot(weights, nodes**3) == pytest.approx(stats.beta(a, b).moment(3), rel=1e-9)


@pytest.mark.parametrize(
    "kind,disp,ref",
    [
        ("poisson", 0.0, lambda k: stats.poisson(1.7).pmf(k)),
        # NB with variance m (1 + d m): scipy's nbinom(n = 1/d, p = 1 / (1 + d m))
        ("negative_binomial", 0.5, lambda k: stats.nbinom(2.0, 1.0 / (1.0 + 0.5 * 1.7)).pmf(k)),
    ],
)
def test_count_law_through_the_compound(kind, disp, ref):
    """A claim of exactly one grid step: the compound's masses are the count's probabilities."""
    y = np.zeros(64)
    y[1] = 1.0
    s = compound_masses([ClaimLaw(y, 1.7, FrequencyKind(kind), disp)], 64)
    k = np.arange(40)
    np.testing.assert_allclose(s[:40], ref(k), atol=1e-14)


def test_count_pgf_at_one_is_one():
    for kind, d in (("poisson", 0.0), ("negative_binomial", 0.7)):
        assert count_pgf(np.array([1.0 + 0j]), 2.0, FrequencyKind(kind), d)[0] == pytest.approx(1.0)


def test_characteristic_at_matches_direct_sum():
    rng = np.random.default_rng(3)
    q = rng.uniform(size=3000)
    q /= q.sum()
    period, k = 3000 * 37 + 11, np.arange(0, 1500, 97)
    direct = np.exp(-2j * np.pi * ((np.outer(k, np.arange(3000)) % period) / period)) @ q
    np.testing.assert_allclose(characteristic_at(q, period, 1500)[k], direct, atol=1e-14)


def test_aggregate_small_population_is_brute_force_convolution():
    rng = np.random.default_rng(5)
    a = np.concatenate([[0.7], rng.uniform(size=50)])
    a[1:] *= 0.3 / a[1:].sum()
    b = np.concatenate([[0.5], rng.uniform(size=30)])
    b[1:] *= 0.5 / b[1:].sum()
    agg = aggregate_persons([a, b], [3, 2], 10.0)
    brute = np.convolve(np.convolve(np.convolve(a, a), a), np.convolve(b, b))
    assert agg.method == "convolution"
    assert agg.x[0] == 0.0 and agg.step == 10.0
    np.testing.assert_allclose(agg.p, brute[: len(agg.p)], atol=1e-14)
    assert brute[len(agg.p) :].sum() < 1e-13


@pytest.mark.parametrize("persons", [2_000, 200_000, 5_000_000])
def test_aggregate_window_keeps_mean_and_variance(persons):
    rng = np.random.default_rng(7)
    q = np.zeros(4000)
    q[0] = 0.8
    q[1:] = 0.2 * rng.dirichlet(np.ones(3999))
    m, v = masses_moments(q, 50.0)
    agg = aggregate_persons([q], [persons], 50.0, n_aggregate=2**14)
    assert agg.method in ("window", "characteristic")
    am, av = masses_moments(agg.p, agg.step, agg.x[0])
    assert am == pytest.approx(persons * m, rel=1e-9)
    assert av == pytest.approx(persons * v, rel=1e-7)
    assert agg.p.sum() == pytest.approx(1.0, abs=1e-12)


def test_value_at_risk_of_a_simple_law():
    values = np.array([-100.0, -10.0, 0.0, 5.0])
    masses = np.array([0.002, 0.008, 0.49, 0.5])
    var, tvar = value_at_risk(values, masses, 0.995)
    assert var == 10.0
    # worst 0.5%: 0.2% at -100 and 0.3% at -10
    assert tvar == pytest.approx((0.002 * 100 + 0.003 * 10) / 0.005)


# --------------------------------------------------------------------------- against closed forms


@pytest.mark.parametrize("settlement", ["annual_cumulative", "per_admission"])
def test_coinsurance_compound_poisson_moments(tmp_path, settlement):
    """Plain coinsurance c = 0.6 (one band from 0, no cap): T = c * sum of costs.
    Mean N lam E[X] c, variance N lam E[X**2] c**2."""
    persons, lam, mean, cv, c = 1000, 0.3, 10000.0, 0.8, 0.6
    layers = COINSURANCE.replace("annual_cumulative", settlement)
    sc = load(
        tmp_path,
        scenario_toml(
            count=persons,
            rate=lam,
            mean=mean,
            cv=cv,
            layers=layers,
            cascade='["cover"]',
            funds=ONE_FUND,
        ),
    )
    d = exact_claims_distribution(sc, "f", 2020)
    ex1, ex2 = mean, mean * mean * (1 + cv * cv)
    assert d.p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(d.p >= 0)
    # mean: exact (mean-preserving rounding; the tail beyond the grid kept as far atoms with its
    # mean) up to rounding
    assert d.mean() == pytest.approx(persons * lam * ex1 * c, rel=1e-9)
    assert d.per_person_mean == pytest.approx(lam * ex1 * c, rel=1e-9)
    # variance: rounding adds at most h**2/4 per rounding (cost, claim base, payment); h is a few
    # yuan here against sd(X) = 8,000 yuan: tolerance 1e-5
    assert d.var() == pytest.approx(persons * lam * ex2 * c * c, rel=1e-5)
    assert d.per_person_var == pytest.approx(lam * ex2 * c * c, rel=1e-5)
    assert d.notes == ()


def test_negative_binomial_variance(tmp_path):
    """NB counts, variance m (1 + d m): Var T = N c**2 (m E[X**2] + d m**2 E[X]**2)."""
    persons, m, disp, mean, cv, c = 500, 0.4, 0.7, 8000.0, 0.6, 0.6
    sc = load(
        tmp_path,
        scenario_toml(
            count=persons,
            rate=m,
            frequency="negative_binomial",
            dispersion=disp,
            mean=mean,
            cv=cv,
            layers=COINSURANCE,
            cascade='["cover"]',
            funds=ONE_FUND,
        ),
    )
    d = exact_claims_distribution(sc, "f", 2020)
    ex1, ex2 = mean, mean * mean * (1 + cv * cv)
    assert d.mean() == pytest.approx(persons * m * ex1 * c, rel=2e-6)
    assert d.var() == pytest.approx(
        persons * c * c * (m * ex2 + disp * m * m * ex1 * ex1), rel=1e-4
    )


def test_deductible_layer_matches_lognormal_stop_loss(tmp_path):
    """A per-admission deductible d with ratio 1: each claim pays (X - d)+ (module docstring's
    formulas), so T has mean N lam E[(X-d)+] and variance N lam E[(X-d)+**2]."""
    persons, lam, mean, cv, ded = 300, 0.5, 6000.0, 1.0, 4000.0
    layers = f"""
[layers.cover]
label = "Deductible"
fund = "f"
settlement = "per_admission"
bands = [{{ from = {ded}, ratio = 1.0 }}]
"""
    sc = load(
        tmp_path,
        scenario_toml(
            count=persons,
            rate=lam,
            mean=mean,
            cv=cv,
            layers=layers,
            cascade='["cover"]',
            funds=ONE_FUND,
        ),
    )
    d = exact_claims_distribution(sc, "f", 2020)
    m1, m2 = (lognormal_partial_moment(k, ded, mean, cv) for k in (1, 2))
    sf = lognormal_partial_moment(0, ded, mean, cv)
    stop_loss = m1 - ded * sf
    stop_loss2 = m2 - 2 * ded * m1 + ded * ded * sf
    # the kink at d is rounded on a grid of step h: error O(h**2 f(d)), far below 1e-5 here
    assert d.mean() == pytest.approx(persons * lam * stop_loss, rel=1e-5)
    assert d.var() == pytest.approx(persons * lam * stop_loss2, rel=1e-3)


def test_heavy_tail_beyond_the_grid_keeps_mean_and_variance(tmp_path):
    """A GPD tail (shape 0.3 above the 95% quantile) on a short grid (L = 409,500 yuan): the cost tail
    beyond it is carried by far atoms with its mass, mean and second moment, so a layer paying the
    whole cost keeps mean N lam E[X] and variance N lam E[X**2] (E[X**2] from
    SplicedSeverity.moment(2)); the far atoms land beyond the per-person grid here."""
    from simulation.models.severity import severity_from_config

    persons, lam, h, n = 1000, 0.3, 100.0, 2**12
    layers = COINSURANCE.replace("ratio = 0.6", "ratio = 1.0")
    text = scenario_toml(
        count=persons,
        rate=lam,
        mean=10000.0,
        cv=1.0,
        layers=layers,
        cascade='["cover"]',
        funds=ONE_FUND,
        tail="tail = { quantile = 0.95, shape = 0.3 }, ",
    )
    sc = load(tmp_path, text)
    d = exact_claims_distribution(sc, "f", 2020, step=h, n_grid=n)
    sev = severity_from_config(sc.claims["inpatient"].severity.levels["city"])
    ex1, ex2 = sev.moment(1), sev.moment(2)
    assert sev.sf((n - 1) * h) > 1e-5  # the tail beyond the grid matters here
    assert d.far_mass > 0 and d.far_mean > 0
    assert np.all(np.diff(d.x) > 0) and d.x[-1] > 2 * n * h
    assert d.mean() == pytest.approx(persons * lam * ex1, rel=1e-9)
    assert d.per_person_mean == pytest.approx(lam * ex1, rel=1e-9)
    # one far claim plus the mean of the others: the person's variance misses only
    # P(far) Var(other claims), far below 1e-5 of it
    assert d.per_person_var == pytest.approx(lam * ex2, rel=1e-5)
    # the total's far atoms are first order: its variance misses about far_mass of N lam E[X**2]
    assert d.var() == pytest.approx(persons * lam * ex2, rel=max(10 * d.far_mass, 1e-5))
    assert d.cdf(d.x[-1]) == pytest.approx(1.0)
    # a long grid (far atoms 1e5 times less likely) agrees
    long = exact_claims_distribution(sc, "f", 2020, step=h, n_grid=2**17)
    assert long.far_mass < 1e-4 * d.far_mass
    assert long.mean() == pytest.approx(d.mean(), rel=1e-9)
    assert long.var() == pytest.approx(persons * lam * ex2, rel=1e-5)


# --------------------------------------------------------------------------- brute force and Monte Carlo

CASCADE = """
[layers.basic]
label = "Basic"
fund = "basic"
claim_types = ["inpatient"]
settlement = "per_admission"
[layers.basic.by_level]
primary = { deductible = 300, ratio = 0.85 }
county = { deductible = 600, ratio = 0.75 }
city = { deductible = 1200, ratio = 0.6 }

[layers.si]
label = "Serious illness"
fund = "si"
settlement = "annual_cumulative"
bands = [{ from = 8000, ratio = 0.5 }, { from = 20000, ratio = 0.6 }, { from = 50000, ratio = 0.8 }]

[layers.supp]
label = "Supplementary"
fund = "supp"
settlement = "annual_cumulative"
bands = [{ from = 2000, ratio = 0.5 }, { from = 20000, ratio = 0.7 }]
annual_cap = 30000
"""

CASCADE_FUNDS = """
[funds.basic]
label = "Basic"
financing_per_head = 800
[funds.si]
label = "SI"
financing_per_head = 60
[funds.si.contract]
kind = "capped_profit"
[funds.supp]
label = "Supp"
financing_per_head = 100
[funds.supp.contract]
kind = "capped_profit"
"""

LEVEL_MEANS = (3600.0, 6600.0, 14000.0)


def cascade_scenario(tmp_path, count: int, tail: str = ""):
    return load(
        tmp_path,
        scenario_toml(
            count=count,
            rate=0.35,
            frequency="negative_binomial",
            dispersion=0.5,
            cv=1.1,
            ip_mean=0.85,
            ip_sd=0.08,
            layers=CASCADE,
            level_means=LEVEL_MEANS,
            cascade='["basic", "si", "supp"]',
            funds=CASCADE_FUNDS,
            tail=tail,
        ),
        f"cascade_{count}_{len(tail)}.toml",
    )


def test_three_persons_are_the_convolution_of_one(tmp_path):
    one = exact_claims_distribution(cascade_scenario(tmp_path, 1), "supp", 2020)
    three = exact_claims_distribution(cascade_scenario(tmp_path, 3), "supp", 2020)
    assert one.x[0] == 0.0 and three.x[0] == 0.0 and one.step == three.step
    brute = np.convolve(np.convolve(one.p, one.p), one.p)
    np.testing.assert_allclose(three.p, brute[: len(three.p)], atol=1e-13)
    assert three.mean() == pytest.approx(3 * one.mean(), rel=1e-12)


def simulate_persons(rng, n, severities=None):
    """Per-person payments of the three funds of CASCADE by plain numpy (independent of the engine);
    costs lognormal, or drawn from ``severities`` (one SplicedSeverity per level) when given."""
    m, disp = 0.35, 0.5
    r = 1.0 / disp
    counts = rng.negative_binomial(r, r / (r + m), size=n)  # mean m, variance m (1 + d m)
    k = counts.sum()
    person = np.repeat(np.arange(n), counts)
    level = rng.choice(3, size=k, p=[0.25, 0.45, 0.30])
    if severities is None:
        mu_s = np.array([lognormal(mm, 1.1) for mm in LEVEL_MEANS])
        cost = np.exp(mu_s[level, 0] + mu_s[level, 1] * rng.standard_normal(k))
    else:
        cost = np.empty(k)
        for lv, sev in enumerate(severities):
            at = np.flatnonzero(level == lv)
            cost[at] = sev.sample(rng, at.size)
    kk = 0.85 * 0.15 / 0.08**2 - 1
    share = rng.beta(0.85 * kk, 0.15 * kk, size=k)
    return simulate_from(person, level, cost, share, n)


def simulate_from(person, level, cost, share, n):
    """CASCADE's rules by hand: basic per admission, then the annual bands of si and supp."""
    in_pol = share * cost
    ded = np.array([300.0, 600.0, 1200.0])[level]
    ratio = np.array([0.85, 0.75, 0.6])[level]
    basic = ratio * np.maximum(in_pol - ded, 0.0)
    left = np.bincount(person, weights=in_pol - basic, minlength=n)

    def bands(x, starts, ratios, cap=np.inf):
        ends = np.append(starts[1:], np.inf)
        paid = sum(
            r_ * np.clip(x - a, 0, b - a) for a, b, r_ in zip(starts, ends, ratios, strict=True)
        )
        return np.minimum(paid, cap)

    si = bands(left, np.array([8000.0, 20000.0, 50000.0]), [0.5, 0.6, 0.8])
    supp = bands(left - si, np.array([2000.0, 20000.0]), [0.5, 0.7], 30000.0)
    return np.bincount(person, weights=basic, minlength=n), si, supp


def test_cascade_against_monte_carlo(tmp_path):
    """Per-person and 40-person totals of each fund against a seeded plain-numpy simulation.

    400,000 simulated persons (10,000 groups of 40); each comparison |MC - exact| < 4 SE with SE the
    sample standard error of the MC estimate (printed in the assertion message).
    """
    rng = np.random.default_rng(20240601)
    n = 400_000
    sims = dict(zip(("basic", "si", "supp"), simulate_persons(rng, n), strict=True))
    for fund, pay in sims.items():
        one = exact_claims_distribution(cascade_scenario(tmp_path, 1), fund, 2020)
        group = exact_claims_distribution(cascade_scenario(tmp_path, 40), fund, 2020)
        se = pay.std() / math.sqrt(n)
        assert abs(pay.mean() - one.mean()) < 4 * se, (fund, pay.mean(), one.mean(), se)
        for t in np.quantile(pay[pay > 0], [0.25, 0.75, 0.99]):
            p_exact = float(one.sf(t))
            p_mc = float((pay > t).mean())
            se_p = math.sqrt(p_exact * (1 - p_exact) / n)
            assert abs(p_mc - p_exact) < 4 * se_p, (fund, t, p_mc, p_exact, se_p)
        totals = pay.reshape(-1, 40).sum(axis=1)
        for t in np.quantile(totals, [0.5, 0.9]):
            p_exact = float(group.sf(t))
            se_p = math.sqrt(p_exact * (1 - p_exact) / totals.size)
            assert abs((totals > t).mean() - p_exact) < 4 * se_p, (fund, t, p_exact, se_p)


def test_heavy_tailed_cascade_against_monte_carlo(tmp_path):
    """As above with GPD tails (shape 0.3 above the 95% quantile), costs drawn by
    SplicedSeverity.sample, on a grid short enough that far atoms matter: 400,000 persons, |MC -
    exact| < 4 SE for the mean payment per person and for tail probabilities."""
    from simulation.models.severity import severity_from_config

    tail = "tail = { quantile = 0.95, shape = 0.3 }, "
    sc = cascade_scenario(tmp_path, 1, tail)
    levels = sc.claims["inpatient"].severity.levels
    sevs = [severity_from_config(levels[lv]) for lv in ("primary", "county", "city")]
    rng = np.random.default_rng(99)
    n = 400_000
    sims = dict(zip(("basic", "si", "supp"), simulate_persons(rng, n, sevs), strict=True))
    for fund, pay in sims.items():
        one = exact_claims_distribution(sc, fund, 2020, step=50.0, n_grid=2**13)
        se = pay.std() / math.sqrt(n)
        assert abs(pay.mean() - one.mean()) < 4 * se, (fund, pay.mean(), one.mean(), se)
        for t in np.quantile(pay[pay > 0], [0.5, 0.99, 0.999]):
            p_exact = float(one.sf(t))
            se_p = math.sqrt(p_exact * (1 - p_exact) / n)
            assert abs((pay > t).mean() - p_exact) < 4 * se_p, (fund, t, p_exact, se_p)


def test_cascade_against_apply_cascade(tmp_path):
    """The exact method's rules (per-claim mirror of the cascade) equal apply_cascade's on draws."""
    from simulation.rules.layers import Admissions, apply_cascade, compile_cascade

    sc = cascade_scenario(tmp_path, 1)
    rng = np.random.default_rng(11)
    n = 3000
    counts = rng.poisson(1.5, n)
    k = counts.sum()
    person = np.repeat(np.arange(n), counts)
    level = rng.choice(3, size=k)
    cost = np.exp(rng.normal(8.5, 1.2, k))
    share = rng.beta(8, 2, k)
    adm = Admissions(person, np.zeros(k, int), level, np.zeros(k, int), cost, share * cost)
    res = apply_cascade(compile_cascade(sc, 2020), adm)
    _, paid, _ = res.per_person()
    basic, si, supp = simulate_from(person, level, cost, share, n)
    have = np.flatnonzero(counts)
    np.testing.assert_allclose(paid[:, 0], basic[have], rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(paid[:, 1], si[have], rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(paid[:, 2], supp[have], rtol=1e-10, atol=1e-6)

    from simulation.engine.exact import category_plan, claim_amounts, person_payment

    cc = compile_cascade(sc, 2020)
    for fund, expected in (("si", si), ("supp", supp)):
        plan = category_plan(cc, fund, 0)
        tracked = np.zeros(k)
        for i in range(k):
            tracked[i] = claim_amounts(cc, plan, 0, 0, int(level[i]), cost[i : i + 1], share[i])[0][
                0
            ]
        annual = np.bincount(person, weights=tracked, minlength=n)
        np.testing.assert_allclose(person_payment(cc, plan, 0, fund, annual), expected, atol=1e-6)


# --------------------------------------------------------------------------- the distribution object


def test_quantiles_cdf_and_expectations(tmp_path):
    d = exact_claims_distribution(cascade_scenario(tmp_path, 200), "si", 2020)
    q = np.linspace(0.0, 1.0, 101)
    xq = d.quantile(q)
    assert np.all(np.diff(xq) >= 0)
    # the quantile is the smallest grid amount whose cdf reaches q
    assert np.all(d.cdf(xq) >= q - 1e-12)
    below = xq - d.step
    assert np.all(d.cdf(below[1:]) < q[1:] + 1e-12)
    assert np.all(np.diff(d.cdf(d.x)) >= -1e-15)
    np.testing.assert_allclose(d.cdf(d.x) + d.sf(d.x), 1.0, atol=1e-12)
    assert d.expected(lambda s: s) == pytest.approx(d.mean())
    assert d.expected(lambda s: np.ones_like(s)) == pytest.approx(1.0)
    assert d.sd() == pytest.approx(math.sqrt(d.var()))
    assert d.n_persons == 200
    assert d.cells[0].persons == 200 and d.cells[0].mean == pytest.approx(d.per_person_mean)


def test_contract_measures(tmp_path):
    d = exact_claims_distribution(cascade_scenario(tmp_path, 2000), "supp", 2020)
    premium = 1.1 * d.mean()
    contract = Contract(
        kind=ContractKind.CAPPED_PROFIT,
        profit_cap_rate=0.03,
        operating_cost_rate=0.02,
        operating_cost_fixed_yuan=500.0,
    )
    out = exact_contract_measures(d, premium, contract)
    assert out["expected_claims"] == pytest.approx(d.mean())
    assert out["p_deficit"] == pytest.approx(float(d.sf(premium)))
    assert out["expected_clawback"] == pytest.approx(
        d.expected(lambda s: np.maximum(premium - s - 0.03 * premium, 0.0))
    )
    # money identity in expectation: P + M + F = S + R + C + K
    lhs = premium + out["expected_management_payment"] + out["expected_fund_loss_share"]
    rhs = (
        out["expected_claims"]
        + out["expected_insurer_result"]
        + out["expected_clawback"]
        + out["expected_fund_retained"]
    )
    assert lhs == pytest.approx(rhs, rel=1e-12)
    net = lambda s: np.minimum(premium - s, 0.03 * premium) - 500.0 - 0.02 * s  # noqa: E731
    assert out["expected_insurer_result_net"] == pytest.approx(d.expected(net))
    assert out["p_insurer_loss"] == pytest.approx(d.expected(lambda s: net(s) < 0))
    assert out["var_995_insurer_result"] == pytest.approx(-(premium - d.quantile(0.995)), rel=1e-9)
    assert out["tvar_995_insurer_result"] >= out["var_995_insurer_result"]
    assert 0.0 < out["p_deficit"] < 0.5


def test_province_sized_fund_is_fast(tmp_path):
    """5 million persons: the window keeps mean and variance of the sum of persons, in seconds."""
    sc = cascade_scenario(tmp_path, 5_000_000)
    exact_claims_distribution(cascade_scenario(tmp_path, 1), "supp", 2020)  # warm up imports
    t0 = time.perf_counter()
    d = exact_claims_distribution(sc, "supp", 2020)
    elapsed = time.perf_counter() - t0
    assert d.method == "characteristic"
    assert d.mean() == pytest.approx(5_000_000 * d.per_person_mean, rel=1e-9)
    assert d.var() == pytest.approx(5_000_000 * d.per_person_var, rel=1e-6)
    assert elapsed < 10.0  # about 1-2 s on an idle machine; lenient for loaded CI runners


# --------------------------------------------------------------------------- what is not supported


def test_binding_per_admission_cap_is_refused(tmp_path):
    text = cascade_scenario_text_with_basic_cap(5000)
    sc = load(tmp_path, text)
    with pytest.raises(FundsimError, match="annual cap of per-admission layer"):
        exact_claims_distribution(sc, "si", 2020)
    d = exact_claims_distribution(sc, "si", 2020, cap_tolerance=100.0)
    assert d.ignored_cap_bound > 0 and any("not applied" in n for n in d.notes)
    # the fund's own per-admission cap is applied exactly: min(sum of per-claim payments, cap)
    basic = exact_claims_distribution(sc, "basic", 2020)
    # 10 persons, each paid at most 5000 (split onto the grid points around it)
    assert basic.x[basic.p > 0].max() <= 10 * (5000.0 + basic.person_step)


def cascade_scenario_text_with_basic_cap(cap: float) -> str:
    layers = CASCADE.replace(
        'settlement = "per_admission"', f'settlement = "per_admission"\nannual_cap = {cap}'
    )
    return scenario_toml(
        count=10,
        rate=0.35,
        cv=1.1,
        ip_mean=0.85,
        ip_sd=0.08,
        layers=layers,
        level_means=LEVEL_MEANS,
        cascade='["basic", "si", "supp"]',
        funds=CASCADE_FUNDS,
    )


def test_unsupported_cascades_are_refused(tmp_path):
    late = CASCADE.replace(
        '[layers.supp]\nlabel = "Supplementary"\nfund = "supp"\nsettlement = "annual_cumulative"',
        '[layers.supp]\nlabel = "Supplementary"\nfund = "supp"\nsettlement = "per_admission"',
    )
    sc = load(
        tmp_path,
        scenario_toml(count=5, layers=late, cascade='["basic", "si", "supp"]', funds=CASCADE_FUNDS),
    )
    with pytest.raises(FundsimError, match="per admission after the annual cumulative"):
        exact_claims_distribution(sc, "supp", 2020)
    with pytest.raises(FundsimError, match="not in the scenario"):
        exact_claims_distribution(sc, "nope", 2020)
    mixed_base = CASCADE.replace(
        'fund = "supp"\nsettlement = "annual_cumulative"',
        'fund = "supp"\nbase = "total"\nsettlement = "annual_cumulative"',
    )
    sc = load(
        tmp_path,
        scenario_toml(
            count=5, layers=mixed_base, cascade='["basic", "si", "supp"]', funds=CASCADE_FUNDS
        ),
        "b.toml",
    )
    with pytest.raises(FundsimError, match="different bases"):
        exact_claims_distribution(sc, "supp", 2020)
    # a fund earlier in the cascade is unaffected by the later unsupported layer
    assert exact_claims_distribution(sc, "si", 2020).mean() > 0


def test_reference_scenario_runs():
    """The Henan reference scenario: its roster groups, those changing category noted."""
    from pathlib import Path

    from simulation.engine.plan import build_plan

    sc = load_scenario(Path(__file__).parent.parent / "scenarios" / "henan_supplementary_2019.toml")
    d = exact_claims_distribution(sc, "supplementary", 2019, cap_tolerance=0.05)
    groups = build_plan(sc, years=1).years[0].groups
    # persons covered at some time of the year: the roster at the start plus the entrants
    assert d.n_persons == sum(g.count for g in groups)
    assert d.n_persons > sum(int(c.count.at(2019)) for c in sc.population.cells.values())
    changing = sum(g.count for g in groups if len(set(g.seg_category.tolist())) > 1)
    assert any(f"{changing:,} persons" in n and "roster groups" in n for n in d.notes)
    assert 0 < d.per_person_mean < 110  # below the financing per head of every tier
    assert d.p.sum() == pytest.approx(1.0)


def test_rule_changes_in_force_are_applied(tmp_path):
    """``[changes.2021]`` halves the coinsurance ratio: the 2021 claims halve (same people, costs)."""
    text = scenario_toml(count=100, layers=COINSURANCE, cascade='["cover"]', funds=ONE_FUND)
    text = text.replace("start_year = 2020", "start_year = 2020\nhorizon_years = 2")
    text += "\n[changes.2021.layers.cover]\nbands = [{ from = 0, ratio = 0.3 }]\n"
    sc = load(tmp_path, text)
    before = exact_claims_distribution(sc, "f", 2021, with_changes=False)
    after = exact_claims_distribution(sc, "f", 2021)
    assert after.mean() == pytest.approx(before.mean() / 2, rel=1e-9)
