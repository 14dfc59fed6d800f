"""Hand-worked examples of the layers of cover on the Henan 2019 scenario (through compile_cascade).

Henan 2019 rules used below (scenarios/henan_supplementary_2019.toml):
- basic: per admission, in-policy, deductible/ratio primary 200/85%, county 500/75%, city 1000/65%,
  annual cap 150,000;
- serious_illness (SI): annual cumulative, in-policy, 10k-20k 50%, 20k-30k 60%, 30k-50k 70%,
  50k-100k 80%, above 100k 90%, cap 400,000; needy categories: threshold halved (bands shift down
  by 5,000), ratios +5 points, no cap;
- supplementary: needy only, annual cumulative, 3k-20k 50%, 20k-50k 60%, 50k-100k 70%, above 80%,
  cap 200,000;
- assistance: needy only, annual cumulative, 70% from 0, cap 30,000; extremely poor 90%;
  registered poor deductible 10% of the year's rural disposable income (2019: 10% of 15,164 =
  1,516.4 yuan) and 60%.
"""

from pathlib import Path

import numpy as np
import pytest

from simulation import load_scenario
from simulation.errors import ClaimsDataError, ParameterError
from simulation.params import Dated
from simulation.rules import Admissions, apply_cascade, banded_payment, compile_cascade
from simulation.scenario.schema import Base, ClaimType

SCENARIO = Path(__file__).parent.parent / "scenarios" / "henan_supplementary_2019.toml"
LAYERS = ("basic", "serious_illness", "supplementary", "assistance")
LEVEL = {"primary": 0, "county": 1, "city": 2}
TYPE = {"inpatient": 0, "chronic": 1}


@pytest.fixture(scope="module")
def henan():
    return load_scenario(SCENARIO)


def with_layer(scenario, name, **update):
    """The scenario with one layer's fields replaced (no re-validation needed for these tests)."""
    layers = dict(scenario.layers)
    layers[name] = layers[name].model_copy(update=update)
    return scenario.model_copy(update={"layers": layers})


def run(scenario, category, admissions, year=2019):
    """One person's admissions [(level, total, in_policy[, type])] -> (paid (n, n_layers), oop)."""
    cc = compile_cascade(scenario, year)
    cat = cc.categories.index(category)
    n = len(admissions)
    adm = Admissions(
        person=np.zeros(n, dtype=np.int64),
        category=np.full(n, cat),
        level=[LEVEL[a[0]] for a in admissions],
        claim_type=[TYPE[a[3]] if len(a) > 3 else 0 for a in admissions],
        total=[a[1] for a in admissions],
        in_policy=[a[2] for a in admissions],
    ).validate(len(cc.categories))
    res = apply_cascade(cc, adm)
    np.testing.assert_allclose(res.paid.sum(axis=1) + res.oop, adm.total, rtol=0, atol=1e-6)
    return res.paid, res.oop


def test_rules_md_worked_example(henan):
    # RULES.md: annual in-policy OOP of 60,000 under the 10k threshold and 50/60/70/80/90% bands:
    # 0.5*10,000 + 0.6*10,000 + 0.7*20,000 + 0.8*10,000 = 5,000 + 6,000 + 14,000 + 8,000 = 33,000.
    cc = compile_cascade(henan, 2019)
    si = cc.layers[cc.layer_names.index("serious_illness")]
    ordinary = cc.categories.index("ordinary")
    lower, upper, ratio = si.lower[ordinary, 0], si.upper[ordinary, 0], si.ratio[ordinary, 0]
    assert banded_payment(np.array([60000.0]), lower, upper, ratio, si.cap[ordinary])[0] == 33000.0
    # the same through the cascade with serious illness insurance alone, in one admission and in
    # two (25,000 then 35,000: B(25,000) = 5,000 + 0.6*5,000 = 8,000; then 33,000 - 8,000 = 25,000)
    si_only = henan.model_copy(update={"cascade": ["serious_illness"]})
    paid, oop = run(si_only, "ordinary", [("city", 60000, 60000)])
    assert paid[0, 0] == 33000.0 and oop[0] == 27000.0
    paid, oop = run(si_only, "ordinary", [("city", 25000, 25000), ("county", 35000, 35000)])
    np.testing.assert_allclose(paid[:, 0], [8000.0, 25000.0])
    assert oop.sum() == 27000.0


def test_basic_per_level_deductibles(henan):
    # ordinary resident, one admission at each level (per-admission deductible each time):
    # primary: 0.85*(2,800 - 200) = 2,210      -> in-policy left 590
    # county:  0.75*(9,000 - 500) = 6,375      -> in-policy left 2,625
    # city:    0.65*(16,000 - 1,000) = 9,750   -> in-policy left 6,250
    # SI: year-to-date in-policy left 590 + 2,625 + 6,250 = 9,465 < 10,000 -> 0.
    # supplementary/assistance do not cover ordinary residents -> 0.
    # OOP = total - basic: 3,000 - 2,210 = 790; 10,000 - 6,375 = 3,625; 20,000 - 9,750 = 10,250.
    paid, oop = run(
        henan,
        "ordinary",
        [("primary", 3000, 2800), ("county", 10000, 9000), ("city", 20000, 16000)],
    )
    np.testing.assert_allclose(paid[:, 0], [2210.0, 6375.0, 9750.0])
    np.testing.assert_allclose(paid[:, 1:], 0.0)
    np.testing.assert_allclose(oop, [790.0, 3625.0, 10250.0])


def test_serious_illness_preferential_for_registered_poor(henan):
    # city admission, total 60,000, in-policy 50,000.
    # basic: 0.65*(50,000 - 1,000) = 31,850 -> in-policy left 18,150.
    # SI, registered poor (threshold 5,000; bands 5k-15k 55%, 15k-25k 65%, ...):
    #   0.55*10,000 + 0.65*(18,150 - 15,000) = 5,500 + 2,047.5 = 7,547.5 -> left 10,602.5
    # supplementary: 0.5*(10,602.5 - 3,000) = 3,801.25 -> left 6,801.25
    # assistance, registered poor (deductible 1,516.4, 70% - 10 points = 60%):
    #   0.6*(6,801.25 - 1,516.4) = 3,170.91 -> in-policy left 3,630.34
    # OOP = out-of-policy 10,000 + 3,630.34 = 13,630.34.
    paid, oop = run(henan, "registered_poor", [("city", 60000, 50000)])
    np.testing.assert_allclose(paid[0], [31850.0, 7547.5, 3801.25, 3170.91])
    assert oop[0] == pytest.approx(13630.34, abs=1e-9)
    # the ordinary resident with the same costs: SI 0.5*(18,150 - 10,000) = 4,075, nothing else;
    # OOP = 60,000 - 31,850 - 4,075 = 24,075.
    paid, oop = run(henan, "ordinary", [("city", 60000, 50000)])
    np.testing.assert_allclose(paid[0], [31850.0, 4075.0, 0.0, 0.0])
    assert oop[0] == pytest.approx(24075.0, abs=1e-9)


def test_supplementary_and_assistance_for_extremely_poor(henan):
    # county admission, total 80,000, in-policy 70,000.
    # basic: 0.75*(70,000 - 500) = 52,125 -> in-policy left 17,875
    # SI preferential: 0.55*10,000 + 0.65*(17,875 - 15,000) = 5,500 + 1,868.75 = 7,368.75
    #   -> left 10,506.25
    # supplementary: 0.5*(10,506.25 - 3,000) = 3,753.125 -> left 6,753.125
    # assistance, extremely poor 70% + 20 points = 90%, no deductible: 0.9*6,753.125 = 6,077.8125
    # OOP = 10,000 out-of-policy + 675.3125 = 10,675.3125.
    paid, oop = run(henan, "extremely_poor", [("county", 80000, 70000)])
    np.testing.assert_allclose(paid[0], [52125.0, 7368.75, 3753.125, 6077.8125])
    assert oop[0] == pytest.approx(10675.3125, abs=1e-9)


def test_assistance_with_preferential_deductible_and_second_admission(henan):
    # registered poor, two county admissions (annual cumulative assistance: deductible 1,516.4 once).
    # adm 1: total 4,000, in-policy 4,000. basic 0.75*(4,000 - 500) = 2,625 -> left 1,375.
    #   SI: year-to-date 1,375 < 5,000 -> 0; supplementary: 1,375 < 3,000 -> 0;
    #   assistance: year-to-date 1,375 < 1,516.4 -> 0. OOP 1,375.
    # adm 2: total 4,000, in-policy 4,000. basic 2,625 -> left 1,375; SI year-to-date 2,750 -> 0;
    #   supplementary year-to-date 2,750 -> 0; assistance year-to-date 2,750:
    #   0.6*(2,750 - 1,516.4) - 0 = 740.16. OOP 1,375 - 740.16 = 634.84.
    paid, oop = run(henan, "registered_poor", [("county", 4000, 4000), ("county", 4000, 4000)])
    np.testing.assert_allclose(paid[:, 0], [2625.0, 2625.0])
    np.testing.assert_allclose(paid[:, 1:3], 0.0)
    np.testing.assert_allclose(paid[:, 3], [0.0, 740.16])
    np.testing.assert_allclose(oop, [1375.0, 634.84])


def test_per_admission_cap_on_cumulative_payments(henan):
    # ordinary, two city admissions, 200,000 each, all in-policy.
    # basic uncapped per admission: 0.65*(200,000 - 1,000) = 129,350 each; annual cap 150,000 on
    # the cumulative: adm 1 min(129,350, 150,000) = 129,350; adm 2 150,000 - 129,350 = 20,650.
    # SI on in-policy left: adm 1 70,650 -> B(70,650) = 5,000 + 6,000 + 14,000 + 0.8*20,650 = 41,520;
    #   adm 2 left 179,350, year-to-date 250,000 -> B = 25,000 + 40,000 + 0.9*150,000 = 200,000,
    #   pays 200,000 - 41,520 = 158,480.
    # OOP: 70,650 - 41,520 = 29,130 and 179,350 - 158,480 = 20,870 (sum 400,000 - 350,000).
    paid, oop = run(henan, "ordinary", [("city", 200000, 200000), ("city", 200000, 200000)])
    np.testing.assert_allclose(paid[:, 0], [129350.0, 20650.0])
    np.testing.assert_allclose(paid[:, 1], [41520.0, 158480.0])
    np.testing.assert_allclose(oop, [29130.0, 20870.0])


def test_serious_illness_annual_cap_removed_for_needy(henan):
    # one city admission of 1,000,000 yuan, all in-policy. basic: min(0.65*999,000, 150,000) =
    # 150,000 -> left 850,000.
    # ordinary SI: 25,000 + 0.8*50,000 + 0.9*750,000 = 740,000, capped at 400,000; OOP 450,000.
    paid, oop = run(henan, "ordinary", [("city", 1e6, 1e6)])
    np.testing.assert_allclose(paid[0, :2], [150000.0, 400000.0])
    assert oop[0] == pytest.approx(450000.0)
    # children in distress, no SI cap: 0.55*10,000 + 0.65*10,000 + 0.75*20,000 + 0.85*50,000
    #   + 0.95*(850,000 - 95,000) = 5,500 + 6,500 + 15,000 + 42,500 + 717,250 = 786,750 -> left 63,250.
    # supplementary: 0.5*17,000 + 0.6*30,000 + 0.7*(63,250 - 50,000) = 8,500 + 18,000 + 9,275
    #   = 35,775 -> left 27,475; assistance 70%: 19,232.5 -> OOP 8,242.5.
    paid, oop = run(henan, "children_in_distress", [("city", 1e6, 1e6)])
    np.testing.assert_allclose(paid[0], [150000.0, 786750.0, 35775.0, 19232.5])
    assert oop[0] == pytest.approx(8242.5)


def test_annual_cumulative_counts_deductible_once(henan):
    # ordinary, two city admissions of 20,000 in-policy each.
    # basic: 0.65*(20,000 - 1,000) = 12,350 each -> left 7,650 each.
    # SI annual cumulative: adm 1 year-to-date 7,650 -> 0; adm 2 year-to-date 15,300:
    #   0.5*(15,300 - 10,000) = 2,650 = B(annual base). Per admission it would pay 0 twice.
    paid, oop = run(henan, "ordinary", [("city", 20000, 20000), ("city", 20000, 20000)])
    np.testing.assert_allclose(paid[:, 1], [0.0, 2650.0])
    per_admission = with_layer(henan, "serious_illness", settlement="per_admission")
    paid_pa, _ = run(per_admission, "ordinary", [("city", 20000, 20000), ("city", 20000, 20000)])
    np.testing.assert_allclose(paid_pa[:, 1], [0.0, 0.0])


def test_base_total_and_out_of_policy_vs_in_policy(henan):
    # extremely poor, county 80,000 / in-policy 70,000: before assistance the in-policy left is
    # 6,753.125 and the out-of-policy 10,000 (see the supplementary example).
    # in_policy base: 0.9*6,753.125 = 6,077.8125, OOP 10,675.3125 (10,000 out-of-policy left).
    # total base: 0.9*16,753.125 = 15,077.8125, taken from in-policy first (6,753.125) then
    #   8,324.6875 from out-of-policy; OOP 16,753.125 - 15,077.8125 = 1,675.3125.
    # out_of_policy base: 0.9*10,000 = 9,000; OOP 6,753.125 + 1,000 = 7,753.125.
    for base, expected_paid, expected_oop in [
        (Base.IN_POLICY, 6077.8125, 10675.3125),
        (Base.TOTAL, 15077.8125, 1675.3125),
        (Base.OUT_OF_POLICY, 9000.0, 7753.125),
    ]:
        s = with_layer(henan, "assistance", base=base)
        paid, oop = run(s, "extremely_poor", [("county", 80000, 70000)])
        assert paid[0, 3] == pytest.approx(expected_paid, abs=1e-9), base
        assert oop[0] == pytest.approx(expected_oop, abs=1e-9), base


def test_claim_type_not_covered_does_not_count(henan):
    # supplementary restricted to inpatient claims; extremely poor: adm 1 inpatient county
    # 80,000/70,000 (supplementary 3,753.125 as above, year-to-date 10,506.25), adm 2 chronic city
    # 50,000/40,000: basic 0.65*39,000 = 25,350 -> 14,650; SI year-to-date 17,875 -> 32,525:
    # B = 5,500 + 6,500 + 0.75*7,525 = 17,643.75, minus 7,368.75 = 10,275 -> left 4,375.
    # supplementary: chronic not covered -> 0, year-to-date stays 10,506.25.
    # assistance 0.9*4,375 = 3,937.5 -> OOP 10,000 + 437.5 = 10,437.5.
    s = with_layer(henan, "supplementary", claim_types=[ClaimType.INPATIENT])
    paid, oop = run(
        s, "extremely_poor", [("county", 80000, 70000), ("city", 50000, 40000, "chronic")]
    )
    np.testing.assert_allclose(paid[1], [25350.0, 10275.0, 0.0, 3937.5])
    assert paid[0, 2] == pytest.approx(3753.125)
    assert oop[1] == pytest.approx(10437.5)


def test_dated_deductible_moves_the_bands(henan):
    # SI deductible 10,000 in 2019 and 12,000 from 2020: every boundary moves up 2,000 in 2020:
    # 0.5*10,000 (12k-22k) + 0.6*10,000 (22k-32k) + 0.7*20,000 (32k-52k) + 0.8*8,000 = 31,400.
    s = with_layer(henan, "serious_illness", deductible=Dated.parse({2019: 10000, 2020: 12000}))
    s = s.model_copy(update={"cascade": ["serious_illness"]})
    paid, _ = run(s, "ordinary", [("city", 60000, 60000)], year=2019)
    assert paid[0, 0] == 33000.0
    paid, _ = run(s, "ordinary", [("city", 60000, 60000)], year=2020)
    assert paid[0, 0] == 31400.0
    with pytest.raises(ParameterError, match="serious_illness"):
        compile_cascade(s, 2018)


def test_compiled_arrays(henan):
    cc = compile_cascade(henan, 2019)
    assert cc.layer_names == LAYERS and cc.fund_of_layer == LAYERS and cc.year == 2019
    cat = {c: i for i, c in enumerate(cc.categories)}
    basic, si, supp, assist = cc.layers
    assert all(layer.lower.shape == (6, 3, 5) for layer in cc.layers)
    # basic: one band per level, padded with zero-width zero-ratio bands
    np.testing.assert_array_equal(basic.lower[cat["ordinary"], :, 0], [200.0, 500.0, 1000.0])
    np.testing.assert_array_equal(basic.ratio[cat["ordinary"], :, 0], [0.85, 0.75, 0.65])
    assert np.all(basic.upper[:, :, 0] == np.inf)
    assert (
        np.all(basic.lower[:, :, 1:] == basic.upper[:, :, 1:]) and not basic.ratio[:, :, 1:].any()
    )
    # SI needy: boundaries shifted down 5,000, ratios +5 points, no cap
    np.testing.assert_array_equal(
        si.lower[cat["min_allowance_rural"], 1], [5000.0, 15000.0, 25000.0, 45000.0, 95000.0]
    )
    np.testing.assert_array_equal(
        si.ratio[cat["min_allowance_rural"], 1], [0.55, 0.65, 0.75, 0.85, 0.95]
    )
    assert si.cap[cat["min_allowance_rural"]] == np.inf and si.cap[cat["ordinary"]] == 400000.0
    # supplementary does not cover ordinary residents
    assert not supp.covered[cat["ordinary"]] and supp.covered[cat["registered_poor"]]
    # assistance: preferential deductible replaces the (zero) one, ratio 70% - 10 points
    assert assist.lower[cat["registered_poor"], 0, 0] == pytest.approx(1516.4, abs=1e-9)
    assert assist.ratio[cat["registered_poor"], 0, 0] == 0.6
    assert assist.ratio[cat["extremely_poor"], 0, 0] == 0.9
    with pytest.raises(ValueError):
        basic.lower[0, 0, 0] = 1.0  # compiled arrays are read-only


def test_per_person_and_by_fund(henan):
    cc = compile_cascade(henan, 2019)
    ep, ordinary = cc.categories.index("extremely_poor"), cc.categories.index("ordinary")
    adm = Admissions(
        person=[3, 3, 7],
        category=[ordinary, ordinary, ep],
        level=[2, 2, 1],
        claim_type=[0, 0, 0],
        total=[20000.0, 20000.0, 80000.0],
        in_policy=[20000.0, 20000.0, 70000.0],
    )
    res = apply_cascade(cc, adm)
    persons, paid, oop = res.per_person()
    np.testing.assert_array_equal(persons, [3, 7])
    # person 3: basic 12,350 * 2, SI 2,650 (test above); person 7 as the extremely poor example
    np.testing.assert_allclose(paid[0], [24700.0, 2650.0, 0.0, 0.0])
    np.testing.assert_allclose(paid[1], [52125.0, 7368.75, 3753.125, 6077.8125])
    np.testing.assert_allclose(oop, [40000.0 - 27350.0, 10675.3125])
    funds = res.by_fund()
    assert list(funds) == list(LAYERS)
    np.testing.assert_allclose(funds["serious_illness"], [0.0, 2650.0, 7368.75])
    with pytest.raises(ValueError, match="pays no layer"):
        res.by_fund(["nope"])


def test_admissions_checks():
    with pytest.raises(ClaimsDataError, match="rows"):
        Admissions(
            person=[0, 0],
            category=[0],
            level=[0, 0],
            claim_type=[0, 0],
            total=[1, 1],
            in_policy=[1, 1],
        )
    with pytest.raises(ClaimsDataError, match="integer codes"):
        Admissions(person=[0], category=[0.5], level=[0], claim_type=[0], total=[1], in_policy=[1])
    ok = dict(
        person=[0, 1],
        category=[0, 0],
        level=[0, 2],
        claim_type=[0, 1],
        total=[5.0, 5.0],
        in_policy=[4.0, 5.0],
    )
    Admissions(**ok).validate(1)
    for change, message in [
        ({"in_policy": [6.0, 5.0]}, "above the total"),
        ({"total": [-1.0, 5.0], "in_policy": [-2.0, 5.0]}, "non-negative"),
        ({"person": [1, 0]}, "sorted by person"),
        ({"level": [0, 3]}, "level code 3"),
        ({"category": [0, 2]}, "category code 2"),
    ]:
        with pytest.raises(ClaimsDataError, match=message):
            Admissions(**{**ok, **change}).validate(2 if "category" not in change else 1)


def test_empty_and_large_inputs(henan):
    cc = compile_cascade(henan, 2019)
    empty = Admissions(person=[], category=[], level=[], claim_type=[], total=[], in_policy=[])
    res = apply_cascade(cc, empty)
    assert res.paid.shape == (0, 4) and res.per_person()[1].shape == (0, 4)
    # 300,000 admissions of 100,000 persons in one call: money conserved to the cent
    rng = np.random.default_rng(7)
    n = 300_000
    total = rng.lognormal(8.5, 1.3, n)
    adm = Admissions(
        person=np.sort(rng.integers(0, 100_000, n)),
        category=rng.integers(0, 6, n),
        level=rng.integers(0, 3, n),
        claim_type=rng.integers(0, 2, n),
        total=total,
        in_policy=total * rng.uniform(0.6, 1.0, n),
    ).validate(6)
    res = apply_cascade(cc, adm)
    assert np.all(res.paid >= 0)
    assert np.max(np.abs(res.paid.sum(axis=1) + res.oop - total)) < 0.005
