"""Property tests of the layer cascade over random layers and admissions (Hypothesis).

What is asserted, and why it is true:
- apply_cascade equals a plain per-person, per-admission loop over the same compiled rules;
- each layer pays between 0 and what was left of its base; payments + OOP = total cost;
- a person's payments from a layer never exceed its annual cap;
- the first layer's payments to a person never fall when one admission's cost rises (its base
  rises and B is non-decreasing). Later layers and even the person's total paid need NOT be
  monotone with several admissions: e.g. a rise that moves an annual layer's payments from a later
  admission to an earlier one leaves a later per-admission layer with less above its deductible,
  and with a ``total``-base layer, a rise in out-of-policy cost lets it take more in-policy cost
  away from a later ``in_policy`` layer. With a single admission and one pool of cost (no ``total``
  base mixed with the others) every layer pays ``f(r)`` with ``0 <= f' <= 1`` on what is left, so
  every layer's payment and the OOP are non-decreasing: that is asserted too;
- annual cumulative settlement pays a person B(annual base) in total; a cascade of annual layers on
  one pool pays a person exactly what it pays one admission of the annual totals;
- a preferential category (multiplier <= 1, addon >= 0) gets at least the ordinary payment from
  that layer, and, for a single admission, at least the ordinary total.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simulation.rules import (
    Admissions,
    CompiledCascade,
    apply_cascade,
    banded_payment,
    compile_layer,
)
from simulation.scenario.schema import (
    CLAIM_TYPES,
    LEVELS,
    Band,
    Base,
    Layer,
    LevelRule,
    Preferential,
    Settlement,
)

CATS = ("a", "b", "c")
N_BANDS = 4
money = st.integers(0, 40_000).map(lambda c: c / 100.0)  # 0 .. 400 yuan, to the cent
ratios = st.sampled_from([0.0, 0.1, 0.5, 0.65, 0.9, 1.0])


@st.composite
def preferentials(draw, generous: bool = False):
    if generous:
        return Preferential(
            threshold_multiplier=draw(st.sampled_from([0.0, 0.5, 1.0])),
            ratio_addon=draw(st.sampled_from([0.0, 0.05, 0.3])),
            cap_removed=draw(st.booleans()),
        )
    return Preferential(
        threshold_multiplier=draw(st.sampled_from([0.0, 0.5, 1.0, 1.5])),
        ratio_addon=draw(st.sampled_from([-0.2, 0.0, 0.05, 0.3])),
        cap_removed=draw(st.booleans()),
        deductible=draw(st.none() | st.sampled_from([0.0, 50.0, 120.0])),
    )


@st.composite
def layers(
    draw,
    name: str,
    bases=tuple(Base),
    settlements=tuple(Settlement),
    all_types=False,
    banded_only=False,
    with_preferential=True,
):
    kw = dict(
        label=name,
        fund=f"fund_{name}",
        base=draw(st.sampled_from(bases)),
        settlement=draw(st.sampled_from(settlements)),
        covers=draw(st.sampled_from([["all"], ["a"], ["b", "c"], ["a", "b"]])),
        claim_types=list(CLAIM_TYPES)
        if all_types
        else draw(st.sampled_from([list(CLAIM_TYPES), [CLAIM_TYPES[0]], [CLAIM_TYPES[1]]])),
        annual_cap=draw(st.none() | st.integers(5, 400).map(float)),
    )
    if banded_only or draw(st.integers(0, 3)) > 0:
        starts = sorted(
            draw(st.lists(st.integers(0, 300), min_size=1, max_size=N_BANDS, unique=True))
        )
        kw["bands"] = [Band(from_yuan=float(s), ratio=draw(ratios)) for s in starts]
        kw["deductible"] = draw(st.none() | st.integers(0, 200).map(float))
    else:
        kw["by_level"] = {
            lv: LevelRule(deductible=float(draw(st.integers(0, 100))), ratio=draw(ratios))
            for lv in LEVELS
        }
    if with_preferential and draw(st.booleans()):
        kw["preferential"] = {"b": draw(preferentials())}
    return Layer(**kw)


def cascade(layer_list: list[Layer]) -> CompiledCascade:
    compiled = tuple(
        compile_layer(f"L{j}", la, CATS, 2020, N_BANDS) for j, la in enumerate(layer_list)
    )
    return CompiledCascade(
        layers=compiled,
        categories=CATS,
        layer_names=tuple(c.name for c in compiled),
        fund_of_layer=tuple(c.fund for c in compiled),
        year=2020,
    )


@st.composite
def cascades(draw, **kw):
    n = draw(st.integers(1, 4))
    return cascade([draw(layers(f"L{j}", **kw)) for j in range(n)])


@st.composite
def admissions(draw, max_persons=4, max_per_person=4, claim_types=None, mixed=False):
    """Persons with one category each (``mixed``: a category per admission, as after a roster
    change within the year)."""
    rows = []
    for person in range(draw(st.integers(1, max_persons))):
        cat = draw(st.integers(0, len(CATS) - 1))
        for _ in range(draw(st.integers(1, max_per_person))):
            if mixed:
                cat = draw(st.integers(0, len(CATS) - 1))
            in_p, out_p = draw(money), draw(money)
            ct = draw(st.integers(0, len(CLAIM_TYPES) - 1)) if claim_types is None else claim_types
            rows.append(
                (person, cat, draw(st.integers(0, len(LEVELS) - 1)), ct, in_p + out_p, in_p)
            )
    return make_admissions(rows)


def make_admissions(rows) -> Admissions:
    cols = list(zip(*rows, strict=True))
    return Admissions(
        person=cols[0],
        category=cols[1],
        level=cols[2],
        claim_type=cols[3],
        total=cols[4],
        in_policy=cols[5],
    )


def rows_of(adm: Admissions) -> list[list]:
    return [
        [
            int(adm.person[i]),
            int(adm.category[i]),
            int(adm.level[i]),
            int(adm.claim_type[i]),
            float(adm.total[i]),
            float(adm.in_policy[i]),
        ]
        for i in range(len(adm))
    ]


# --------------------------------------------------------------------------- a plain reference


def reference_cascade(cc: CompiledCascade, adm: Admissions) -> tuple[np.ndarray, np.ndarray]:
    """The rules written as loops over persons and admissions (independent of the vector code)."""
    n = len(adm)
    paid = np.zeros((n, len(cc.layers)))
    in_rem = adm.in_policy.astype(float).copy()
    out_rem = adm.total - adm.in_policy
    for j, layer in enumerate(cc.layers):
        ytd: dict[int, tuple[float, float]] = {}  # base, uncapped paid
        for i in range(n):
            p_id, c, lv, ct = int(adm.person[i]), adm.category[i], adm.level[i], adm.claim_type[i]
            if not (layer.covered[c] and layer.claim_types[ct]):
                continue
            x = {Base.IN_POLICY: in_rem[i], Base.OUT_OF_POLICY: out_rem[i]}.get(
                layer.base, in_rem[i] + out_rem[i]
            )
            lo, hi, r, cap = (
                layer.lower[c, lv],
                layer.upper[c, lv],
                layer.ratio[c, lv],
                layer.cap[c],
            )

            def b(v, lo=lo, hi=hi, r=r):
                return sum(
                    rk * min(max(v - lk, 0.0), hk - lk)
                    for lk, hk, rk in zip(lo, hi, r, strict=True)
                )

            base_before, paid_before = ytd.get(p_id, (0.0, 0.0))
            if layer.settlement is Settlement.PER_ADMISSION:
                u = b(x)
            else:
                u = b(base_before + x) - b(base_before)
            paid_after = paid_before + u
            p = min(paid_after, cap) - min(paid_before, cap)
            ytd[p_id] = (base_before + x, paid_after)
            p = min(max(p, 0.0), x)
            paid[i, j] = p
            if layer.base is Base.IN_POLICY:
                in_rem[i] -= p
            elif layer.base is Base.OUT_OF_POLICY:
                out_rem[i] -= p
            else:
                from_in = min(p, in_rem[i])
                in_rem[i] -= from_in
                out_rem[i] = max(out_rem[i] - (p - from_in), 0.0)
    return paid, in_rem + out_rem


@given(cascades(), admissions(mixed=True))
def test_vectorised_cascade_equals_the_loop_reference(cc, adm):
    res = apply_cascade(cc, adm)
    paid, oop = reference_cascade(cc, adm)
    np.testing.assert_allclose(res.paid, paid, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.oop, oop, rtol=0, atol=1e-9)


@given(cascades(), admissions(mixed=True))
def test_payments_within_what_was_left_and_money_conserved(cc, adm):
    res = apply_cascade(cc, adm)
    in_rem = adm.in_policy.copy()
    out_rem = adm.total - adm.in_policy
    for j, layer in enumerate(cc.layers):
        p = res.paid[:, j]
        left = {Base.IN_POLICY: in_rem, Base.OUT_OF_POLICY: out_rem}.get(
            layer.base, in_rem + out_rem
        )
        assert np.all(p >= 0.0)
        assert np.all(p <= left)
        eligible = layer.covered[adm.category] & layer.claim_types[adm.claim_type]
        assert np.all(p[~eligible] == 0.0)
        if layer.base is Base.IN_POLICY:
            in_rem = in_rem - p
        elif layer.base is Base.OUT_OF_POLICY:
            out_rem = out_rem - p
        else:
            from_in = np.minimum(p, in_rem)
            in_rem, out_rem = in_rem - from_in, np.maximum(out_rem - (p - from_in), 0.0)
    assert np.all(res.oop >= 0.0)
    np.testing.assert_allclose(res.paid.sum(axis=1) + res.oop, adm.total, rtol=0, atol=0.005)


@given(cascades(), admissions())
def test_annual_caps_hold(cc, adm):
    res = apply_cascade(cc, adm)
    persons, paid, _ = res.per_person()
    first = np.flatnonzero(np.r_[True, adm.person[1:] != adm.person[:-1]])
    category = adm.category[first]  # one category per person in these inputs
    for j, layer in enumerate(cc.layers):
        assert np.all(paid[:, j] <= layer.cap[category] + 1e-9)


@given(cascades(), admissions(), st.data())
def test_first_layer_never_pays_less_when_a_cost_rises(cc, adm, data):
    rows = rows_of(adm)
    i = data.draw(st.integers(0, len(rows) - 1))
    delta = data.draw(st.integers(1, 20_000).map(lambda c: c / 100.0))
    raised = [r[:] for r in rows]
    raised[i][4] += delta
    if data.draw(st.booleans()):
        raised[i][5] += delta  # an in-policy rise; otherwise an out-of-policy rise
    before = apply_cascade(cc, adm).per_person()[1]
    after = apply_cascade(cc, make_admissions(raised)).per_person()[1]
    assert np.all(after[:, 0] >= before[:, 0] - 1e-9)


@given(st.data())
def test_single_admission_one_pool_every_layer_and_oop_monotone(data):
    pool = data.draw(st.sampled_from([(Base.IN_POLICY, Base.OUT_OF_POLICY), (Base.TOTAL,)]))
    cc = data.draw(cascades(bases=pool))
    adm = data.draw(admissions(max_per_person=1))
    rows = rows_of(adm)
    i = data.draw(st.integers(0, len(rows) - 1))
    delta = data.draw(st.integers(1, 20_000).map(lambda c: c / 100.0))
    raised = [r[:] for r in rows]
    raised[i][4] += delta
    if data.draw(st.booleans()):
        raised[i][5] += delta
    before = apply_cascade(cc, adm)
    after = apply_cascade(cc, make_admissions(raised))
    assert np.all(after.paid >= before.paid - 1e-9)
    assert np.all(after.oop >= before.oop - 1e-9)


@given(st.data())
def test_annual_cumulative_pays_banded_function_of_annual_base(data):
    layer = data.draw(layers("L0", settlements=(Settlement.ANNUAL_CUMULATIVE,), banded_only=True))
    cc = cascade([layer])
    adm = data.draw(admissions())
    compiled = cc.layers[0]
    persons, paid, _ = apply_cascade(cc, adm).per_person()
    base = {Base.IN_POLICY: adm.in_policy, Base.OUT_OF_POLICY: adm.total - adm.in_policy}.get(
        compiled.base, adm.total
    )
    eligible = compiled.covered[adm.category] & compiled.claim_types[adm.claim_type]
    for k, p in enumerate(persons):
        mine = adm.person == p
        c = adm.category[mine][0]
        annual = base[mine & eligible].sum()
        expected = banded_payment(
            np.array([annual]),
            compiled.lower[c, 0],
            compiled.upper[c, 0],
            compiled.ratio[c, 0],
            compiled.cap[c],
        )[0]
        assert abs(paid[k, 0] - (expected if compiled.covered[c] else 0.0)) < 1e-6


@given(st.data())
def test_annual_cascade_equals_one_admission_of_the_annual_totals(data):
    n = data.draw(st.integers(1, 4))
    cc = cascade(
        [
            data.draw(
                layers(
                    f"L{j}",
                    bases=(Base.IN_POLICY, Base.OUT_OF_POLICY),
                    settlements=(Settlement.ANNUAL_CUMULATIVE,),
                    all_types=True,
                    banded_only=True,
                )
            )
            for j in range(n)
        ]
    )
    adm = data.draw(admissions())
    persons, paid, oop = apply_cascade(cc, adm).per_person()
    rows = rows_of(adm)
    for k, p in enumerate(persons):
        mine = [r for r in rows if r[0] == p]
        one = make_admissions(
            [[0, mine[0][1], 0, 0, sum(r[4] for r in mine), sum(r[5] for r in mine)]]
        )
        res = apply_cascade(cc, one)
        np.testing.assert_allclose(paid[k], res.paid[0], rtol=0, atol=1e-6)
        assert abs(oop[k] - res.oop[0]) < 1e-6


@given(st.data())
def test_preferential_category_never_gets_less(data):
    # the same layers for categories a (ordinary) and b, except one layer where b is preferential
    # (multiplier <= 1, addon >= 0): layers before it treat a and b alike, so it sees the same base
    def alike(name):  # covers every category, no preferential terms
        return data.draw(layers(name, with_preferential=False)).model_copy(
            update={"covers": ["all"]}
        )

    before = [alike(f"P{j}") for j in range(data.draw(st.integers(0, 2)))]
    after = [alike(f"Q{j}") for j in range(data.draw(st.integers(0, 2)))]
    pref = alike("pref").model_copy(
        update={"preferential": {"b": data.draw(preferentials(generous=True))}}
    )
    cc = cascade([*before, pref, *after])
    j = len(before)
    adm = data.draw(admissions())
    rows = rows_of(adm)
    as_a = make_admissions([[*r[:1], 0, *r[2:]] for r in rows])
    as_b = make_admissions([[*r[:1], 1, *r[2:]] for r in rows])
    res_a, res_b = apply_cascade(cc, as_a), apply_cascade(cc, as_b)
    paid_a, paid_b = res_a.per_person()[1], res_b.per_person()[1]
    assert np.all(paid_b[:, j] >= paid_a[:, j] - 1e-9)
    np.testing.assert_allclose(paid_b[:, :j], paid_a[:, :j], rtol=0, atol=1e-9)
    bases = {la.base for la in cc.layers}
    single_pool = Base.TOTAL not in bases or bases == {Base.TOTAL}
    one_admission_each = len(np.unique(adm.person)) == len(adm)
    if single_pool and one_admission_each:
        assert np.all(res_b.oop <= res_a.oop + 1e-9)


def test_banded_payment_shapes_and_formula():
    lower = np.array([10.0, 20.0])
    upper = np.array([20.0, np.inf])
    ratio = np.array([0.5, 1.0])
    x = np.array([0.0, 15.0, 25.0, 100.0])
    # B = 0.5*clip(x-10, 0, 10) + 1.0*max(x-20, 0): 0, 2.5, 5 + 5, 5 + 80
    np.testing.assert_allclose(banded_payment(x, lower, upper, ratio), [0.0, 2.5, 10.0, 85.0])
    np.testing.assert_allclose(
        banded_payment(x, lower, upper, ratio, cap=50.0), [0.0, 2.5, 10.0, 50.0]
    )
    per_element = banded_payment(
        x, np.tile(lower, (4, 1)), np.tile(upper, (4, 1)), np.tile(ratio, (4, 1))
    )
    np.testing.assert_allclose(per_element, [0.0, 2.5, 10.0, 85.0])
