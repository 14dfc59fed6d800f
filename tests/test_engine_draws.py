"""The engine's compiled draws have the laws of the models, and path_claims is what the engine paid.

The samplers of :mod:`simulation.engine.kernel` run numpy's own algorithms on the stream's PCG64DXSM
state, so they are checked bit for bit against numpy; the in-policy share's quantile tables are
checked against scipy's exact quantile (error, bias of the mean, KS); the fused severity sampler and the engine's
counts, levels, shares and times are checked against the models of :mod:`simulation.models`
(moments within 4 standard errors, Kolmogorov-Smirnov), with fixed seeds.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import numba as nb
import numpy as np
import pytest
from scipy import special, stats

from simulation import load_scenario
from simulation.engine import kernel as K
from simulation.engine import quantiles as Q
from simulation.engine import simulate as sim
from simulation.engine.plan import build_plan, severity_row
from simulation.engine.run import run
from simulation.engine.streams import BLOCK_PATHS, stream
from simulation.models.frequency import claim_probability, count_pmf, zero_truncated_moments
from simulation.models.severity import SplicedSeverity
from simulation.scenario.schema import BodyKind

DATA = Path(__file__).parent / "data" / "engine"


def pcg(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64DXSM(seed))


@nb.njit
def draw_raw(s, n):
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i], s = K.next_uint64(s)
    return out, s


@nb.njit
def draw_many(s, n, kind, p):
    out = np.empty(n)
    for i in range(n):
        if kind == 0:
            x, s = K.next_double(s)
        elif kind == 1:
            x, s = K.standard_normal(s)
        elif kind == 2:
            x, s = K.standard_exponential(s)
        elif kind == 3:
            x, s = K.standard_gamma(s, p[0], p[1], p[2])
        else:
            x, s = K.sample_cost(s, K.severity_at(p.reshape(1, 1, -1), 0, 0))
        out[i] = x
    return out, s


# --------------------------------------------------------------------------- the generator


def test_inline_pcg64dxsm_is_numpys_generator():
    rng = pcg(123)
    raw, s = draw_raw(K.pcg_state(rng), 10_000)
    np.testing.assert_array_equal(raw, pcg(123).bit_generator.random_raw(10_000))
    # writing the state back continues numpy's stream exactly where compiled code stopped
    K.set_pcg_state(rng, s)
    reference = pcg(123)
    reference.bit_generator.random_raw(10_000)
    np.testing.assert_array_equal(rng.random(100), reference.random(100))


def gamma_params(shape: float) -> np.ndarray:
    return np.array([shape, *K.gamma_constants(shape)])


SAMPLERS = {
    "uniform": (0, np.zeros(1), lambda g, n: g.random(n)),
    "normal": (1, np.zeros(1), lambda g, n: g.standard_normal(n)),
    "exponential": (2, np.zeros(1), lambda g, n: g.standard_exponential(n)),
    "gamma 0.4": (3, gamma_params(0.4), lambda g, n: g.standard_gamma(0.4, n)),
    "gamma 1": (3, gamma_params(1.0), lambda g, n: g.standard_gamma(1.0, n)),
    "gamma 2.3": (3, gamma_params(2.3), lambda g, n: g.standard_gamma(2.3, n)),
    "gamma 26": (3, gamma_params(26.0), lambda g, n: g.standard_gamma(26.0, n)),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_samplers_reproduce_numpy_bit_for_bit(name):
    kind, params, numpy_sampler = SAMPLERS[name]
    drawn, _ = draw_many(K.pcg_state(pcg(7)), 50_000, kind, params)
    np.testing.assert_array_equal(drawn, numpy_sampler(pcg(7), 50_000))


# --------------------------------------------------------------------------- quantile tables

BETA_SHAPES = [(26.2, 2.28), (0.5, 0.8), (0.5, 3.8), (3.0, 3.0), (200.0, 5.0), (1.0, 1.0)]


@nb.njit
def table_draws(u, tables):
    out = np.empty(u.size)
    for i in range(u.size):
        out[i] = K.table_quantile(u[i], tables, 0, 0)
    return out


def end_heavy_uniforms(n: int) -> np.ndarray:
    """Uniforms on [0, 1) with as many in each end row of the table as in the middle."""
    u = pcg(5).random(n)
    return np.concatenate([u, u * Q.EDGE1, u * Q.EDGE2, 1 - u * Q.EDGE1, 1 - u * Q.EDGE2]) % 1.0


@pytest.mark.parametrize("a,b", BETA_SHAPES)
def test_beta_quantile_table_is_close_to_the_exact_quantile(a, b):
    table = Q.beta_quantile_table(a, b)
    u = end_heavy_uniforms(200_000)
    drawn = Q.table_quantile_numpy(table, u)
    exact = special.betaincinv(a, b, u)
    # linear interpolation: within 2e-3 of the exact quantile except in the first and last cell
    # of the finest rows (probability 2^-24 each), and within 1e-5 on most of the range
    inner = (u >= Q.EDGE2 / Q.M) & (u < 1 - Q.EDGE2 / Q.M)
    assert np.abs(drawn - exact)[inner].max() < 2e-3
    assert np.quantile(np.abs(drawn - exact), 0.99) < 1e-5
    # the mean of the law the table draws (exact, piecewise linear) is within 1e-7 of a / (a + b)
    assert abs(Q.table_mean(table) - a / (a + b)) < 1e-7
    # the compiled lookup does the same arithmetic as the vectorised one, bit for bit
    tables = table.reshape(1, 1, *table.shape)
    np.testing.assert_array_equal(table_draws(u, tables), drawn)


@pytest.mark.parametrize("a,b", BETA_SHAPES)
def test_table_draws_have_the_beta_law(a, b):
    n = 100_000
    drawn = table_draws(pcg(9).random(n), Q.beta_quantile_table(a, b).reshape(1, 1, 5, -1))
    law = stats.beta(a, b)
    assert stats.kstest(drawn, law.cdf).pvalue > 1e-3
    assert abs(drawn.mean() - law.mean()) < 4 * law.std() / math.sqrt(n)


# --------------------------------------------------------------------------- severity

SEVERITIES = {
    "lognormal + GPD tail": SplicedSeverity(BodyKind.LOGNORMAL, 13942.0, 1.3, 0.95, 0.3),
    "lognormal": SplicedSeverity(BodyKind.LOGNORMAL, 10000.0, 1.5),
    "gamma": SplicedSeverity(BodyKind.GAMMA, 5000.0, 0.9),
    "gamma (shape below 1) + exponential tail": SplicedSeverity(
        BodyKind.GAMMA, 3000.0, 1.4, 0.9, 0.0
    ),
}


@pytest.mark.parametrize("name", SEVERITIES)
def test_cost_sampler_has_the_spliced_severity_law(name):
    sev = SEVERITIES[name]
    n = 40_000
    drawn, _ = draw_many(K.pcg_state(pcg(11)), n, 5, np.array(severity_row(sev)))
    # against the distribution function of the model (KS, n = 40,000: critical value ~0.010 at
    # level 0.001), and against the model's own sampler (two-sample KS)
    assert stats.kstest(drawn, sev.cdf).pvalue > 1e-3
    assert stats.ks_2samp(drawn, sev.sample(pcg(12), n)).pvalue > 1e-3
    # mean within 4 SE, SE = sd / sqrt(n) (every tail here has a finite variance)
    se = math.sqrt(sev.var() / n)
    assert abs(drawn.mean() - sev.mean()) < 4 * se
    if sev.has_tail:  # the share above the threshold is 1 - q, SE sqrt(q (1 - q) / n)
        q = sev.tail_quantile
        assert abs((drawn > sev.threshold).mean() - (1 - q)) < 4 * math.sqrt(q * (1 - q) / n)


# --------------------------------------------------------------------------- the engine's draws


def year_admissions(plan, seed: int, paths: range) -> list[dict[str, np.ndarray]]:
    return [sim.path_claims(plan, seed, p)[0] for p in paths]


def test_path_claims_is_what_the_engine_paid():
    s = load_scenario(DATA / "layered.toml")
    res = run(s, paths=BLOCK_PATHS + 4, seed=31)
    for path in (0, BLOCK_PATHS + 2):
        years = sim.path_claims(res.plan, 31, path)
        for y, claims in enumerate(years):
            for f, fund in enumerate(res.plan.funds):
                assert claims[f"paid_{fund}"].sum() == pytest.approx(
                    res.sims["fund_claims"][path, y, f], rel=1e-12
                )
            assert claims["total"].size == res.sims["admissions"][path, y, 0]
            assert claims["total"].sum() == pytest.approx(
                res.sims["total_cost"][path, y, 0], rel=1e-12
            )
            assert claims["oop"].sum() == pytest.approx(res.sims["oop"][path, y, 0], rel=1e-12)
            # by group, then person, then time
            key = claims["group"] * 10**6 + claims["person"]
            assert (np.diff(key) >= 0).all()
            same = np.diff(key) == 0
            assert (np.diff(claims["time"])[same] >= 0).all()


def test_counts_levels_shares_and_times_follow_the_models():
    s = load_scenario(DATA / "layered.toml")
    plan = build_plan(s, 1)
    yp = plan.years[0]
    k = 48
    claims = year_admissions(plan, 5, range(k))
    # claimants and admissions of every group: means against the models, 4 SE over k = 48 paths
    # (claimants Binomial(n, p): var n p (1 - p), mean ~686, SE ~3.4; admissions: var n m (1 + d m)
    # per group, mean 800, SE ~4.3); the ~38,000 admissions of the 48 paths for the rest
    res = run(s, paths=k, seed=5, years=1)
    exp_claimants = exp_adm = var_claimants = var_adm = 0.0
    for g in yp.groups:
        (cp,) = g.claims
        p = claim_probability(cp.mean, cp.kind, cp.dispersion)
        exp_claimants += g.count * p
        var_claimants += g.count * p * (1 - p)
        exp_adm += g.count * cp.mean
        var_adm += g.count * cp.mean * (1 + cp.dispersion * cp.mean)
    assert abs(res.sims["claimants"][:, 0, 0].mean() - exp_claimants) < 4 * math.sqrt(
        var_claimants / k
    )
    assert abs(res.sims["admissions"][:, 0, 0].mean() - exp_adm) < 4 * math.sqrt(var_adm / k)

    # claims per claimant in the largest group: the zero-truncated negative binomial
    gi = max(range(len(yp.groups)), key=lambda i: yp.groups[i].count)
    (cp,) = yp.groups[gi].claims
    counts = np.concatenate(
        [np.unique(c["person"][c["group"] == gi], return_counts=True)[1] for c in claims]
    )
    m, v = zero_truncated_moments(cp.mean, cp.kind, cp.dispersion)
    assert abs(counts.mean() - m) < 4 * math.sqrt(v / counts.size)
    p1 = count_pmf(1, cp.mean, cp.kind, cp.dispersion) / claim_probability(
        cp.mean, cp.kind, cp.dispersion
    )
    assert abs((counts == 1).mean() - p1) < 4 * math.sqrt(p1 * (1 - p1) / counts.size)

    allc = {
        key: np.concatenate([c[key] for c in claims])
        for key in ("level", "total", "in_policy", "time", "group")
    }
    n = allc["level"].size
    # hospital level mix (one mix for every category here): proportions within 4 SE
    mix = np.diff(yp.groups[0].claims[0].level_cum[0], prepend=0.0)
    for lvl, prob in enumerate(mix):
        assert abs((allc["level"] == lvl).mean() - prob) < 4 * math.sqrt(prob * (1 - prob) / n)
    # in-policy share by level: beta with the level's mean and sd; mean within 4 SE (sd / sqrt(n))
    levels = s.claims["inpatient"].severity.levels
    for lvl, name in enumerate(("primary", "county", "city")):
        share = (allc["in_policy"] / allc["total"])[allc["level"] == lvl]
        assert abs(share.mean() - levels[name].in_policy_mean) < 4 * levels[
            name
        ].in_policy_sd / math.sqrt(share.size)
    # cost by level: the trended spliced severity (KS against its distribution function)
    for lvl in range(3):
        sev = yp.severities[0][lvl]
        assert stats.kstest(allc["total"][allc["level"] == lvl], sev.cdf).pvalue > 1e-3
    # times of a whole-year group: uniform on [0, 1) (KS)
    whole = [
        i
        for i, g in enumerate(yp.groups)
        if len(g.seg_start) == 1 and g.seg_start[0] == 0 and g.seg_end[0] == 1
    ]
    times = allc["time"][np.isin(allc["group"], whole)]
    assert stats.kstest(times, "uniform").pvalue > 1e-3


def test_claim_times_follow_the_segments_of_a_roster_group():
    # exits in quarter 2 change category at t_q: claims fall in each segment in proportion to its
    # expected claims (rate x length), uniformly within it
    s = load_scenario("scenarios/henan_supplementary_2019.toml")
    plan = build_plan(s, 1)
    yp = plan.years[0]
    gi, g = next(
        (i, g) for i, g in enumerate(yp.groups) if len(g.seg_start) == 2 and g.count > 5000
    )
    rng = stream(3, 0, yp.year, g.key)
    agg, rec = sim._run_group(plan, yp, g, yp.tables[gi], rng, BLOCK_PATHS, record=BLOCK_PATHS - 1)
    # admissions of one path only: check the split between segments (4 SE) and uniformity within
    cp = g.claims[0]
    inpatient = rec[rec[:, 4] == cp.claim_type]
    t = inpatient[:, 1]
    first = (t < g.seg_end[0]).mean()
    w = cp.seg_weights[0]
    assert abs(first - w) < 4 * math.sqrt(w * (1 - w) / t.size)
    inside = (t[t < g.seg_end[0]] - g.seg_start[0]) / (g.seg_end[0] - g.seg_start[0])
    assert stats.kstest(inside, "uniform").pvalue > 1e-3
    # category of each admission is its segment's
    expected_cat = np.where(t < g.seg_end[0], g.seg_category[0], g.seg_category[1])
    np.testing.assert_array_equal(inpatient[:, 2], expected_cat)
    assert agg.shape[0] == BLOCK_PATHS


def test_group_draws_ignore_the_rules():
    # common random numbers: the same group under two cascades draws the same admissions
    s = load_scenario(DATA / "layered.toml")
    plan = build_plan(s, 1)
    yp = plan.years[0]
    g, tab = yp.groups[0], yp.tables[0]
    _, rec_a = sim._run_group(plan, yp, g, tab, stream(1, 0, yp.year, g.key), 3, record=2)
    other = dataclasses.replace(yp, packed=_no_pay(yp.packed))
    _, rec_b = sim._run_group(plan, other, g, tab, stream(1, 0, yp.year, g.key), 3, record=2)
    np.testing.assert_array_equal(rec_a[:, :7], rec_b[:, :7])
    assert not np.array_equal(rec_a[:, 8:], rec_b[:, 8:])


def _no_pay(pc: K.PackedCascade) -> K.PackedCascade:
    """The same cascade with every ratio 0 (nothing paid)."""
    out = copy.copy(pc)
    zero_ratio, zero_b0 = np.zeros_like(pc.ratio), np.zeros_like(pc.b0)
    out.arrays = pc.arrays._replace(ratio=zero_ratio, b0=zero_b0)
    return out


def alone(plan, seed, path):
    """A path's admissions drawn alone, each group from a fresh stream that redraws the paths
    before it in the block (the engine's ``record`` route, independent of block_claims)."""
    block, offset = divmod(path, BLOCK_PATHS)
    years = []
    for yp in plan.years:
        rows = {}
        for gi, (g, tab) in enumerate(zip(yp.groups, yp.tables, strict=True)):
            rng = stream(seed, block, yp.year, g.key)
            _, rec = sim._run_group(plan, yp, g, tab, rng, offset + 1, record=offset)
            for key, v in sim._claims_columns(plan, gi, rec).items():
                rows.setdefault(key, []).append(v)
        years.append({key: np.concatenate(v) for key, v in rows.items()})
    return years


def test_block_claims_are_path_claims_of_every_path():
    # the block iterator keeps each group's stream between paths: the same admissions as drawing
    # each path alone (which redraws the paths before it), multi-year, with a partial last block
    s = load_scenario(DATA / "layered.toml")
    plan = build_plan(s, 2)
    paths = BLOCK_PATHS + 5
    seen = []
    for block in range(2):
        for path, years, sums in sim.block_claims(plan, 4, block, paths):
            seen.append(path)
            # the path's fund sums are the engine's (no rule change here: old = new)
            engine = sim.simulate_block(plan, 4, block, paths)[1]["fund_claims"][path % BLOCK_PATHS]
            np.testing.assert_array_equal(sums["fund_claims"], engine)
            np.testing.assert_array_equal(sums["fund_claims_old"], engine)
            expected = alone(plan, 4, path)
            assert len(years) == len(expected) == 2
            assert sim.path_claims(plan, 4, path)[1]["total"].size == years[1]["total"].size
            for got, want in zip(years, expected, strict=True):
                assert got.keys() == want.keys()
                assert got["total"].size > 0
                for key in want:
                    np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    assert seen == list(range(paths))


def test_stale_compiled_kernels_are_dropped_when_the_kernel_source_changes(tmp_path):
    # numba keys its cache of a module on that module's source alone, though the compiled pass
    # (paths.py) inlines the samplers, the cascade, the measures' layout and quantiles.py: a
    # change in any of them must drop the cached code of every compiled module
    from simulation.engine import _numba_cache as C

    for name in C.SOURCES:
        (tmp_path / name).write_text(f"# {name}\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    cached = [cache / f"{m}.f-1.py311.nbi" for m in C.COMPILED]
    cached += [cache / "paths._group_paths-1.py311.nbi", cache / "samplers.beta-2.py311.1.nbc"]
    other = cache / "plan.cpython-311.pyc"
    for f in (*cached, other):
        f.write_text("x")
    C.drop_stale_cache(tmp_path)  # no digest yet: the cache is of unknown source
    assert not any(f.exists() for f in cached) and other.exists()
    for name in C.SOURCES:
        for f in cached:
            f.write_text("x")
        C.drop_stale_cache(tmp_path)  # same source: kept
        assert all(f.exists() for f in cached)
        (tmp_path / name).write_text(f"# {name} edited\n")
        C.drop_stale_cache(tmp_path)  # edited: dropped
        assert not any(f.exists() for f in cached) and other.exists()
    assert (cache / "kernel.digest").read_text().strip()
