"""The compiled cascade kernel agrees with the vectorised cascade (the rules' source of truth)."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import load_scenario
from simulation.engine.kernel import PackedCascade, cascade_kernel, per_person
from simulation.rules.layers import (
    Admissions,
    CompiledCascade,
    CompiledLayer,
    apply_cascade,
    compile_cascade,
)
from simulation.scenario.schema import CLAIM_TYPES, LEVELS, Base, Settlement

N_CAT = 3


def random_layer(rng: np.random.Generator, j: int, n_bands: int) -> CompiledLayer:
    n_lev = len(LEVELS)
    widths = rng.choice([1000.0, 5000.0, 20000.0], size=(N_CAT, n_lev, n_bands))
    start = rng.uniform(0, 5000, size=(N_CAT, n_lev, 1))
    lower = start + np.concatenate(
        [np.zeros((N_CAT, n_lev, 1)), np.cumsum(widths, -1)[..., :-1]], -1
    )
    upper = lower + widths
    upper[..., -1] = np.inf
    ratio = rng.uniform(0, 1, size=(N_CAT, n_lev, n_bands)).round(2)
    covered = rng.random(N_CAT) < 0.8
    cap = np.where(rng.random(N_CAT) < 0.5, np.inf, rng.uniform(1000, 50000, N_CAT))
    ratio[~covered] = 0.0
    cap[~covered] = 0.0
    return CompiledLayer(
        name=f"l{j}",
        fund=f"f{j % 2}",
        base=list(Base)[int(rng.integers(len(Base)))],
        settlement=list(Settlement)[int(rng.integers(len(Settlement)))],
        covered=covered,
        claim_types=rng.random(len(CLAIM_TYPES)) < 0.8,
        lower=lower,
        upper=upper,
        ratio=ratio,
        cap=cap,
    )


def random_admissions(rng: np.random.Generator, n: int) -> Admissions:
    person = np.sort(rng.integers(0, n // 3 + 1, n))
    total = rng.lognormal(8.5, 1.3, n)
    return Admissions(
        person=person.astype(np.int64),
        category=rng.integers(0, N_CAT, n).astype(np.int16),
        level=rng.integers(0, len(LEVELS), n).astype(np.int8),
        claim_type=rng.integers(0, len(CLAIM_TYPES), n).astype(np.int8),
        total=total,
        in_policy=total * rng.uniform(0.5, 1.0, n),
    )


@pytest.mark.parametrize("seed", range(25))
def test_kernel_agrees_with_vectorised_cascade_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    n_layers = int(rng.integers(1, 5))
    layers = tuple(random_layer(rng, j, int(rng.integers(1, 5))) for j in range(n_layers))
    n_bands = max(layer.n_bands for layer in layers)
    layers = tuple(pad(layer, n_bands) for layer in layers)
    cc = CompiledCascade(
        layers=layers,
        categories=tuple(f"c{i}" for i in range(N_CAT)),
        layer_names=tuple(layer.name for layer in layers),
        fund_of_layer=tuple(layer.fund for layer in layers),
        year=2020,
    )
    adm = random_admissions(rng, 2000)
    expected = apply_cascade(cc, adm)
    funds = {f: i for i, f in enumerate(dict.fromkeys(cc.fund_of_layer))}
    pc = PackedCascade(cc, funds)
    paid, oop = cascade_kernel(pc, adm)
    np.testing.assert_allclose(paid, expected.paid, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(oop, expected.oop, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(paid.sum(1) + oop, adm.total, rtol=1e-12, atol=1e-6)
    fund_pp, oop_pp, layer_sum = per_person(pc, adm.person, paid, oop, int(adm.person.max()) + 1)
    np.testing.assert_allclose(layer_sum, expected.paid.sum(0), rtol=1e-9)
    np.testing.assert_allclose(fund_pp.sum(), expected.paid.sum(), rtol=1e-9)


def pad(layer: CompiledLayer, n_bands: int) -> CompiledLayer:
    extra = n_bands - layer.n_bands
    if extra == 0:
        return layer
    z = np.zeros(layer.lower.shape[:-1] + (extra,))
    return CompiledLayer(
        name=layer.name,
        fund=layer.fund,
        base=layer.base,
        settlement=layer.settlement,
        covered=layer.covered,
        claim_types=layer.claim_types,
        lower=np.concatenate([layer.lower, z], -1),
        upper=np.concatenate([layer.upper, z], -1),
        ratio=np.concatenate([layer.ratio, z], -1),
        cap=layer.cap,
    )


def test_kernel_agrees_on_the_henan_cascade():
    s = load_scenario("scenarios/henan_supplementary_2019.toml")
    cc = compile_cascade(s, 2019)
    rng = np.random.default_rng(7)
    adm = random_admissions(rng, 5000)
    adm = Admissions(
        person=adm.person,
        category=(adm.category % len(cc.categories)).astype(np.int16),
        level=adm.level,
        claim_type=adm.claim_type,
        total=adm.total * 3,
        in_policy=adm.in_policy * 3,
    )
    expected = apply_cascade(cc, adm)
    pc = PackedCascade(cc, {f: i for i, f in enumerate(s.funds)})
    paid, oop = cascade_kernel(pc, adm)
    np.testing.assert_allclose(paid, expected.paid, rtol=1e-9, atol=1e-6)
    assert (paid > 0).any(axis=0).all(), "every layer should pay something in this sample"


def test_engine_pays_its_admissions_as_the_vectorised_cascade():
    # the fused engine kernel pays what it draws through the same rules: the admissions of a Henan
    # path (path_claims), paid again by apply_cascade, give the same payments and out-of-pocket
    from simulation.engine.plan import build_plan
    from simulation.engine.simulate import path_claims

    s = load_scenario("scenarios/henan_supplementary_2019.toml")
    plan = build_plan(s, 1)
    yp = plan.years[0]
    small = {i for i, g in enumerate(yp.groups) if g.count < 100_000}  # keep the test quick
    claims = path_claims(plan, 3, 18)[0]
    keep = np.isin(claims["group"], list(small))
    c = {k: v[keep] for k, v in claims.items()}
    adm = Admissions(
        person=c["group"] * 10_000_000 + c["person"],
        category=c["category"],
        level=c["level"],
        claim_type=c["claim_type"],
        total=c["total"],
        in_policy=c["in_policy"],
    ).validate(len(plan.categories))
    expected = apply_cascade(yp.cascade, adm)
    assert len(adm) > 10_000
    for fund, paid in expected.by_fund(plan.funds).items():
        np.testing.assert_allclose(c[f"paid_{fund}"], paid, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(c["oop"], expected.oop, rtol=1e-9, atol=1e-6)


def test_measures_lay_out_the_kernel_sums_and_the_blocks():
    # the registry gives each measure a width by its dimension, and the kernel's sums a
    # contiguous, non-overlapping column range per kernel measure, in registry order
    from simulation.engine.measures import (
        MEASURES,
        REC,
        RECORD_COLUMNS,
        measure_widths,
        sum_columns,
    )

    widths = measure_widths(3, 5, 4)
    assert widths["fund_claims"] == 3 and widths["layer_claims"] == 5
    assert widths["category_claims"] == 4 and widths["oop"] == 1
    assert list(widths) == [m.name for m in MEASURES]
    cols = sum_columns(3, 5)
    at = 0
    for m in MEASURES:
        if m.kernel:
            assert getattr(cols, m.name) == at
            at += widths[m.name]
    assert cols.width == at == 3 * 3 + 5 + 5
    assert [getattr(REC, c) for c in RECORD_COLUMNS] == list(range(len(RECORD_COLUMNS)))
    assert REC.paid == len(RECORD_COLUMNS)
