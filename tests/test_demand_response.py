"""Demand response to benefits ([systematic.demand_response]): the multiplier's closed form on a
one-layer scenario, the same multiplier in the full engine, the exact mixture, the fast method and
pricing; a variant that raises ratios releases demand against its base; off changes nothing."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulation.engine.exact.mixture import exact_mixture_distribution
from simulation.engine.factors import demand_multipliers, draw_factors, effective_rates
from simulation.engine.fast import run_fast
from simulation.engine.run import run
from simulation.scenario import validate_raw
from tests.scenario_variants import base_raw, validation_error

EXACT = {"n_grid": 2**12, "n_aggregate": 2**13}
E = -0.2


def one_layer_raw(ratio: float = 0.6, later: float | None = 0.75, demand: dict | None = None):
    """One per-admission layer paying ``ratio`` of the in-policy cost (no deductible, no cap), so
    ``r = ratio`` exactly; from the second year ``later`` (a rule change)."""
    raw = copy.deepcopy(base_raw())
    rule = {"deductible": 0, "ratio": ratio}
    raw["layers"] = {
        "basic": {"label": "Basic", "fund": "basic", "settlement": "per_admission",
                  "by_level": {lv: dict(rule) for lv in ("primary", "county", "city")}}
    }  # fmt: skip
    raw["funds"] = {"basic": {"label": "Basic fund", "financing_per_head": 900}}
    raw["cascade"] = ["basic"]
    if later is not None:
        raw["changes"] = {
            "2022": {"layers": {"basic": {"by_level": {
                lv: {"ratio": later} for lv in ("primary", "county", "city")}}}}
        }  # fmt: skip
    section: dict = {"enabled": True}
    if demand is not None:
        section["demand_response"] = demand
    raw["systematic"] = section
    return raw


def one_layer(**kw):
    return validate_raw(one_layer_raw(**kw), "x.toml")


ON = {"enabled": True, "elasticity": {"inpatient": E}}


def test_multiplier_matches_the_formula_on_one_layer():
    s = one_layer(demand=ON)
    r = effective_rates(s, (2021, 2022))
    np.testing.assert_allclose(r, [0.6, 0.75], rtol=2e-4)
    m = demand_multipliers(s, (2021, 2022))
    assert m[0, 0] == 1.0  # the reference is the start year's own rate
    assert m[1, 0] == pytest.approx(((1 - r[1]) / (1 - r[0])) ** E, rel=1e-12)
    assert m[1, 0] == pytest.approx((0.25 / 0.4) ** E, rel=1e-3)
    np.testing.assert_array_equal(m[:, 1], 1.0)  # no elasticity for chronic: no response
    f = draw_factors(s, 3, range(4))
    np.testing.assert_array_equal(f.frequency[:, :, 0, 0, 0], np.broadcast_to(m[:, 0], (4, 2)))
    np.testing.assert_array_equal(f.cost, 1.0)
    np.testing.assert_array_equal(f.columns()["factor_demand_inpatient"][:, 1], m[1, 0])
    # a stated reference rate replaces the start year's
    s2 = one_layer(demand={**ON, "reference_rate": 0.5})
    m2 = demand_multipliers(s2, (2021, 2022))[:, 0]
    np.testing.assert_allclose(m2, [(0.4 / 0.5) ** E, (0.25 / 0.5) ** E], rtol=1e-3)


def test_exact_mixture_and_engine_and_fast_see_the_multiplier():
    on, off = one_layer(demand=ON), one_layer()
    m = demand_multipliers(on, (2022,))[0, 0]
    d_on = exact_mixture_distribution(on, "basic", 2022, **EXACT)
    d_off = exact_mixture_distribution(off, "basic", 2022, **EXACT)
    # one layer without deductible or cap: the claims are linear in the frequency
    assert d_on.mean() / d_off.mean() == pytest.approx(m, rel=1e-6)
    paths = 400
    r_on = run(on, paths=paths, seed=5, years=2)
    r_off = run(off, paths=paths, seed=5, years=2)
    for r in (r_on, r_off):
        mc = r.money["claims"][:, 1, 0]
        d = d_on if r is r_on else d_off
        assert abs(mc.mean() - d.mean()) < 4 * mc.std(ddof=1) / np.sqrt(paths)
    a_on, a_off = r_on.sims["admissions"][:, 1, 0], r_off.sims["admissions"][:, 1, 0]
    se = np.sqrt(a_on.var(ddof=1) / paths + m**2 * a_off.var(ddof=1) / paths)
    assert abs(a_on.mean() - m * a_off.mean()) < 4 * se
    assert a_on.mean() > a_off.mean() + 4 * se  # about +10%: the demand is visible
    # year 1 is the reference: bit-identical with and without demand response
    np.testing.assert_array_equal(r_on.sims["admissions"][:, 0], r_off.sims["admissions"][:, 0])


def test_pricing_sees_the_multiplier():
    from simulation.pricing.sample import exact_sample

    on, off = one_layer(demand=ON), one_layer()
    m = demand_multipliers(on, (2022,))[0, 0]
    a = exact_sample(on, "basic", year=2022, **EXACT)
    b = exact_sample(off, "basic", year=2022, **EXACT)
    mean = lambda x: float(np.dot(x.claims[:, 0], x.weights))  # noqa: E731
    assert mean(a) / mean(b) == pytest.approx(m, rel=1e-6)


def test_variant_raising_ratios_shows_the_released_demand():
    """Base pays 60%, the variant 75% in both years; both state the base's r as the reference, so
    the variant's claims are its static cost (ratio 0.75 / 0.6) times the released demand."""
    ref = {**ON, "reference_rate": 0.6}
    base = one_layer(ratio=0.6, later=None, demand=ref)
    variant = one_layer(ratio=0.75, later=None, demand=ref)
    static = one_layer(ratio=0.75, later=None)
    m = demand_multipliers(variant, (2021,))[0, 0]
    assert m == pytest.approx((0.25 / 0.4) ** E, rel=1e-3)
    mb = exact_mixture_distribution(base, "basic", 2021, **EXACT).mean()
    mv = exact_mixture_distribution(variant, "basic", 2021, **EXACT).mean()
    ms = exact_mixture_distribution(static, "basic", 2021, **EXACT).mean()
    assert ms / mb == pytest.approx(0.75 / 0.6, rel=1e-3)
    assert mv - ms == pytest.approx((m - 1) * ms, rel=1e-6)  # the released demand's cost
    assert mv - ms > 0.09 * ms
    # the fast method (no per-admission rule change here) sees the same multiplier
    paths = 200
    fast = run_fast(variant, paths=paths, seed=5, years=1, min_beneficiaries=100)
    np.testing.assert_array_equal(
        fast.factors.frequency, draw_factors(variant, 5, range(paths)).frequency[:, :1]
    )
    fc = fast.money["claims"][:, 0, 0]
    assert abs(fc.mean() - mv) < 4 * fc.std(ddof=1) / np.sqrt(paths)
    # the base is unchanged by its own reference (up to the exact method's grid error in r)
    assert demand_multipliers(base, (2021,))[0, 0] == pytest.approx(1.0, abs=1e-4)


def test_off_is_unchanged():
    absent, off = one_layer(), one_layer(demand={**ON, "enabled": False})
    a = run(absent, paths=40, seed=2, years=2)
    b = run(off, paths=40, seed=2, years=2)
    for name in a.sims:
        np.testing.assert_array_equal(a.sims[name], b.sims[name])
    for name in a.money:
        np.testing.assert_array_equal(a.money[name], b.money[name])
    assert "factor_demand_inpatient" not in b.factors.columns()
    # systematic risk off turns demand response off with it
    raw = one_layer_raw(demand=ON)
    raw["systematic"]["enabled"] = False
    np.testing.assert_array_equal(
        draw_factors(validate_raw(raw, "x.toml"), 1, range(3)).frequency, 1
    )


@pytest.mark.parametrize(
    ("demand", "key", "words"),
    [
        ({"enabled": True, "elasticity": {"inpatient": 0.3}}, "systematic.demand_response.elasticity.inpatient", "0"),
        ({"enabled": True, "elasticity": {"chronic": -0.2}}, "systematic.demand_response.elasticity.chronic", "no model"),
        ({"enabled": True, "reference_rate": 1.0}, "systematic.demand_response.reference_rate", "1"),
        ({"enabled": True, "elasticty": {}}, "systematic.demand_response.elasticty", ""),
    ],
)  # fmt: skip
def test_bad_input_names_the_key(demand, key, words):
    err = validation_error(one_layer_raw(demand=demand))
    text = str(err)
    assert key in text and words in text and "x.toml" in text
    assert "\n" not in text.strip()
