"""The explorer without a browser: levers from the scenario model, numbers against the exact
method computed here by hand, refusals with the file's message, the variant file, the cache."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from simulation import load_scenario
from simulation.cli import main
from simulation.engine.exact import exact_claims_distribution, exact_contract_measures
from simulation.errors import FundsimError, ScenarioError
from simulation.explore import Explorer, iter_levers
from simulation.explore.levers import file_notes
from simulation.explore.numbers import headline
from simulation.scenario import resolve_raw

ROOT = Path(__file__).parent.parent
BASE = ROOT / "tests" / "data" / "good" / "base.toml"
HENAN = ROOT / "scenarios" / "henan_supplementary_2019.toml"

NEEDY_FINANCING = "funds.serious_illness.financing_per_head.needy"
NEEDY_PERSONS = 1000 + 800  # the base's needy cells
STANDARD_PREMIUM = (1200 + 1000) * 60.0  # its standard cells at 60 yuan in 2021


@pytest.fixture(scope="module")
def base_copy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("explore")
    path = folder / "base.toml"
    shutil.copy(BASE, path)
    return path


@pytest.fixture(scope="module")
def explorer(base_copy) -> Explorer:
    return Explorer(base_copy, base_copy.with_name("mine.toml"))


def _henan_levers():
    raw, files = resolve_raw(HENAN)
    return {lv.path: lv for lv in iter_levers(raw, load_scenario(HENAN), file_notes(files))}


def test_henan_levers_cover_every_kind_with_units_ranges_and_notes():
    levers = _henan_levers()
    for tier in ("tier1", "tier2", "tier3", "tier4"):
        lv = levers[f"funds.supplementary.financing_per_head.{tier}.2019"]
        assert (lv.group, lv.unit, lv.low, lv.high) == ("financing", "yuan per head", 0.0, None)
        assert "000 section II" in lv.note
    assert levers["funds.supplementary.financing_per_head.tier1.2019"].value == 130
    assert levers["layers.supplementary.deductible"].group == "thresholds"
    ratio = levers["layers.supplementary.bands[0].ratio"]
    assert (ratio.low, ratio.high, ratio.range_text()) == (0.0, 1.0, "0 to 1")  # Band.ratio
    cap = levers["layers.basic.annual_cap"]
    assert cap.group == "caps" and cap.assumption  # "ASSUMPTION: typical provincial cap..."
    addon = levers["layers.serious_illness.preferential.extremely_poor.ratio_addon"]
    assert (addon.group, addon.low, addon.high) == ("preferential", -1.0, 1.0)
    growth = levers["funds.serious_illness.financing_per_head.growth"]
    assert (growth.group, growth.value) == ("growth", 0.05)
    trend = levers["claims.inpatient.severity.trend.2019"]
    assert trend.group == "growth" and "RULES.md 5" in trend.note  # the dated value's source
    assert levers["funds.supplementary.contract.operating_cost_rate"].assumption
    assert {lv.group for lv in levers.values()} == {
        "financing",
        "thresholds",
        "ratios",
        "caps",
        "preferential",
        "contract",
        "growth",
    }


def _exact(scenario, fund, premium):
    dist = exact_claims_distribution(scenario, fund, scenario.start_year)
    return exact_contract_measures(dist, premium, scenario.funds[fund].contract)


def test_a_lever_gives_the_exact_methods_numbers(explorer):
    update = explorer.set(NEEDY_FINANCING, 85)
    assert update.error == ""
    edited = {n.fund: n for n in update.numbers}["serious_illness"].values
    premium = STANDARD_PREMIUM + NEEDY_PERSONS * 85.0  # by hand
    assert edited["premium"] == pytest.approx(premium, rel=1e-12)
    want = _exact(load_scenario(BASE), "serious_illness", premium)
    for key in ("expected_claims", "expected_insurer_result_net", "p_insurer_loss"):
        assert edited[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12)
    assert edited["expected_clawback"] == pytest.approx(want["expected_clawback"], rel=1e-9)
    base = {n.fund: n for n in explorer.base_numbers}["serious_illness"].values
    assert base["premium"] == pytest.approx(STANDARD_PREMIUM + NEEDY_PERSONS * 70.0)


def test_an_invalid_lever_is_refused_with_the_files_message(explorer, base_copy, tmp_path):
    before = explorer.values.copy()
    update = explorer.set("layers.serious_illness.bands[1].ratio", 1.2)
    assert update.numbers is None and explorer.values == before
    bad = tmp_path / "bad.toml"
    bad.write_text(
        base_copy.read_text().replace(
            "{ from = 20000, ratio = 0.6 }", "{ from = 20000, ratio = 1.2 }"
        )
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    assert update.error == str(info.value).replace(str(bad), str(base_copy))
    assert update.error.endswith(
        "layers.serious_illness.bands[1].ratio: expected a ratio between 0 and 1, found 1.2"
    )
    assert "found -5" in explorer.set(NEEDY_FINANCING, -5).error


def test_save_as_variant_extends_the_base_with_only_the_changed_keys(explorer, base_copy):
    explorer.set(NEEDY_FINANCING, 85)
    explorer.set("layers.serious_illness.bands[0].ratio", 0.55)
    path = explorer.save(who="tester")
    text = path.read_text()
    assert path == base_copy.with_name("mine.toml")
    assert "# who: tester" in text and "# when: " in text
    assert f"#   {NEEDY_FINANCING}: 70 -> 85" in text
    table = tomllib.loads(text)
    assert set(table) == {"extends", "funds", "layers"}
    assert table["extends"] == "base.toml"
    assert table["funds"] == {"serious_illness": {"financing_per_head": {"needy": 85}}}
    bands = table["layers"]["serious_illness"]["bands"]  # an array is written whole
    assert table["layers"] == {"serious_illness": {"bands": bands}}
    assert [b["ratio"] for b in bands] == [0.55, 0.6, 0.7, 0.8]
    again = headline(load_scenario(path))
    assert [n.values for n in again] == [n.values for n in explorer.numbers]


def test_moving_a_lever_back_leaves_nothing_to_save(base_copy, tmp_path):
    e = Explorer(base_copy, tmp_path / "v.toml")
    e.set(NEEDY_FINANCING, 90)
    e.set(NEEDY_FINANCING, 70)
    assert e.values == {}
    assert [n.values for n in e.numbers] == [n.values for n in e.base_numbers]
    with pytest.raises(FundsimError, match="nothing changed"):
        e.save()
    assert not (tmp_path / "v.toml").exists()


def test_the_cache_recomputes_only_the_funds_a_lever_reaches(base_copy, tmp_path):
    e = Explorer(base_copy, tmp_path / "v.toml")
    assert e.cache.computed == 2  # basic, serious_illness
    e.set(NEEDY_FINANCING, 75)  # financing: the claims laws are the same
    e.set("funds.serious_illness.contract.profit_cap_rate", 0.04)
    assert e.cache.computed == 2
    e.set("layers.serious_illness.bands[0].ratio", 0.52)  # after basic in the cascade
    assert e.cache.computed == 3
    e.set("layers.basic.by_level.city.ratio", 0.7)  # reaches both funds
    assert e.cache.computed == 5


def test_scenario_text_is_escaped_in_the_numbers_table(explorer):
    from simulation.explore.app import numbers_html

    numbers = [
        type(n)(n.fund, "<script>alert(1)</script>", n.year, n.values) for n in explorer.numbers
    ]
    page = numbers_html(numbers, numbers)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_explore_command_refuses_a_bad_file_in_one_line(tmp_path, capsys):
    bad = tmp_path / "x.toml"
    bad.write_text('name = "x"\n')
    assert main(["explore", str(bad), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"fundsim: error: {bad}:")
    assert main(["explore", str(BASE), "--variant", str(tmp_path / "no" / "v.toml")]) == 2
    assert "--variant" in capsys.readouterr().err


def test_engine_fans_see_a_financing_lever_on_common_random_numbers(base_copy, tmp_path):
    from simulation.explore.fans import FAN_LEVELS, fan_data, fan_figure

    e = Explorer(base_copy, tmp_path / "v.toml")
    e.set(NEEDY_FINANCING, 85)
    data = fan_data("engine", e.base, e.edited)
    assert data.years == (2021, 2022)
    base = data.quantiles["serious_illness", "balance", "base"]
    edited = data.quantiles["serious_illness", "balance", "edited"]
    assert base.shape == (len(FAN_LEVELS), 2)
    # the same claims on both (common random numbers): the balance moves by the premium added
    added = NEEDY_PERSONS * 15.0 * np.array([1.0, 2.0])
    np.testing.assert_allclose(edited - base, np.broadcast_to(added, base.shape), rtol=1e-9)
    np.testing.assert_array_equal(
        data.quantiles["basic", "balance", "base"], data.quantiles["basic", "balance", "edited"]
    )
    assert ("basic", "insurer_cumulative_result", "base") not in data.quantiles  # no insurer
    assert len(fan_figure(data, {"basic": "<b>x</b>"}).axes) == 4
    with pytest.raises(FundsimError, match="no fan method 'nope'"):
        fan_data("nope", e.base, e.edited)


def test_the_server_listens_on_the_loopback_unless_asked_and_then_warns(
    base_copy, monkeypatch, capsys
):
    from simulation.explore import app

    calls = []
    monkeypatch.setattr(app.pn, "serve", lambda *a, **k: calls.append(k))
    app.serve(base_copy, port=5999)
    assert calls[-1]["address"] == "127.0.0.1" and calls[-1]["port"] == 5999
    assert "127.0.0.1:5999" in calls[-1]["websocket_origin"]
    assert "warning" not in capsys.readouterr().err
    app.serve(base_copy, port=5999, host="0.0.0.0")
    assert calls[-1]["address"] == "0.0.0.0"
    assert "warning: listening on 0.0.0.0" in capsys.readouterr().err
