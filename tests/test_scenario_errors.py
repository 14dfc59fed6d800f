"""Every kind of bad scenario file gives ONE clear message: the file, the key path and the rule.

One deliberately broken file per case lives in tests/data/bad/ (most extend ../good/base.toml and
break one thing). The CLI turns the error into one line on stderr and exit code 2.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from scenario_variants import BASE, base_raw, validation_error

from simulation import cli
from simulation.errors import FundsimError, ParameterError, ScenarioError
from simulation.params import Dated
from simulation.scenario import (
    dated_at,
    load_scenario,
    scenario_for_year,
    validate_raw,
)

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"

# file, key path named in the message, fragments of the rule (what was expected and found)
CASES = [
    (
        "unknown_key.toml",
        "layers.serious_illness.bands[2].ratoi",
        ["unknown key 'ratoi'", "did you mean 'ratio'?", "allowed keys here: from, ratio"],
    ),
    ("unknown_top_key.toml", "layer", ["unknown key 'layer'", "did you mean 'layers'?"]),
    (
        "wrong_type.toml",
        "layers.serious_illness.covers",
        ["expected a list of names in quotes", 'found "needy"'],
    ),
    (
        "wrong_type_number.toml",
        "layers.basic.by_level.county.ratio",
        ["expected a ratio between 0 and 1", 'found "0.75"'],
    ),
    (
        "wrong_type_enum.toml",
        "layers.serious_illness.settlement",
        [
            'expected one of "per_admission", "annual_cumulative"',
            'found "anual_cumulative"',
            'did you mean "annual_cumulative"?',
        ],
    ),
    (
        "dated_wrong_type.toml",
        "layers.serious_illness.deductible",
        [
            "expected an amount in yuan, or a table of years like {2019 = 130",
            'found "ten thousand"',
        ],
    ),
    (
        "dated_bad_key.toml",
        "funds.basic.financing_per_head.grwoth",
        ["unknown key 'grwoth' in a dated value", "did you mean 'growth'?"],
    ),
    (
        "financing_wrong_type.toml",
        "funds.basic.financing_per_head",
        [
            "expected an amount in yuan per head, a table of years like {2019 = 130",
            "or a table of tiers like {tier1 = 130",
            'found "nine hundred"',
        ],
    ),
    (
        "financing_tier_wrong_type.toml",
        "funds.serious_illness.financing_per_head.standard",
        ["expected an amount in yuan per head", 'found "sixty"'],
    ),
    (
        "band_from_missing.toml",
        "layers.serious_illness.bands[1].from",
        ["required key 'from' is missing", "expected an amount in yuan of at least 0"],
    ),
    (
        "band_from_wrong_type.toml",
        "layers.serious_illness.bands[1].from",
        ["expected an amount in yuan of at least 0", 'found "20k"'],
    ),
    (
        "ratio_above_one.toml",
        "layers.serious_illness.bands[2].ratio",
        ["expected a ratio between 0 and 1, found 1.2"],
    ),
    (
        "bands_not_increasing.toml",
        "layers.serious_illness.bands[2].from",
        ["band thresholds must increase", "above band 1's 30000 yuan", "found 20000"],
    ),
    (
        "negative_deductible.toml",
        "layers.serious_illness.deductible.2022",
        ["expected a deductible of at least 0 yuan, found -500"],
    ),
    (
        "negative_level_deductible.toml",
        "layers.basic.by_level.primary.deductible",
        ["expected an amount in yuan of at least 0, found -200"],
    ),
    (
        "negative_financing.toml",
        "funds.serious_illness.financing_per_head.needy",
        ["expected a financing per head of at least 0 yuan, found -70"],
    ),
    (
        "negative_cap.toml",
        "layers.basic.annual_cap",
        ["expected an annual cap of at least 0 yuan, found -1"],
    ),
    (
        "undefined_category.toml",
        "layers.serious_illness.covers[1]",
        ["category 'ordinry' is not defined in [categories]", "did you mean 'ordinary'?"],
    ),
    (
        "level_mix_sum.toml",
        "claims.inpatient.severity.level_mix.needy",
        ["expected shares by hospital level that sum to 1, found 0.9", "primary 0.3 + county 0.4"],
    ),
    (
        "missing_tier.toml",
        "funds.serious_illness.financing_per_head",
        ["tier 'neddy' (of cell 'needy_old') is missing", "found only needy, standard"],
    ),
    (
        "entrant_from_missing.toml",
        "population.roster.entrant_from",
        ["required because 'exit_rate' is given", "found nothing"],
    ),
    (
        "stay_needy_not_needy.toml",
        "population.roster.stay_needy_category.needy",
        ["expected a needy category", "found 'ordinary', which has needy = false"],
    ),
    (
        "change_before_start.toml",
        "changes.2019",
        ["expected a year from the start year 2021 on, found 2019"],
    ),
    (
        "change_bad_ratio.toml",
        "changes.2022.layers.basic.by_level.city.ratio",
        ["expected a ratio between 0 and 1, found 1.5"],
    ),
    (
        "change_unknown_key.toml",
        "changes.2022.layers.serious_illness.dedutcible",
        ["unknown key 'dedutcible'", "did you mean 'deductible'?"],
    ),
    ("cycle_a.toml", "extends", ["without a cycle", "cycle_a.toml -> ", "cycle_b.toml -> "]),
    (
        "missing_extends.toml",
        "extends",
        ["expected an existing scenario file", "no_such_base.toml"],
    ),
    ("not_toml.toml", "", ["not a valid TOML file", "line 3"]),
]


@pytest.mark.parametrize(("name", "key", "rule"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_names_file_key_and_rule(name, key, rule):
    path = BAD / name
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert err.file.endswith(name)
    assert err.key == key
    message = str(err)
    assert message.startswith(f"{err.file}: {key}: " if key else f"{err.file}: ")
    for fragment in rule:
        assert fragment in message, message
    assert "\n" not in message
    # pydantic's vocabulary never leaks through
    for noise in ("function-before", "Input should", "dict[str", "Value error", "[key]"):
        assert noise not in message, message


def test_every_bad_file_is_covered():
    covered = {c[0] for c in CASES} | {"cycle_b.toml", "bad_in_base.toml"}
    assert covered == {p.name for p in BAD.glob("*.toml")}


def test_the_ratio_message_reads_as_in_the_issue():
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / "ratio_above_one.toml")
    assert str(info.value) == (
        f"{info.value.file}: layers.serious_illness.bands[2].ratio: "
        "expected a ratio between 0 and 1, found 1.2"
    )


def test_error_in_an_extended_file_says_where_it_was_set():
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / "bad_in_base.toml")
    message = str(info.value)
    assert info.value.file.endswith("bad_in_base.toml")
    assert info.value.key == "layers.serious_illness.bands[2].ratio"
    assert "(set in " in message and message.rstrip(")").endswith("ratio_above_one.toml")


def test_cycle_detected_from_either_end():
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / "cycle_b.toml")
    assert "cycle_b.toml -> " in str(info.value) and str(info.value).endswith("cycle_b.toml")


def test_a_file_extending_itself_is_a_cycle(tmp_path):
    (tmp_path / "self.toml").write_text('extends = "self.toml"\n')
    with pytest.raises(ScenarioError, match="without a cycle"):
        load_scenario(tmp_path / "self.toml")


def test_extends_must_be_a_file_name(tmp_path):
    (tmp_path / "x.toml").write_text("extends = 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "x.toml")
    assert info.value.key == "extends"
    assert "expected a file name in quotes, found 3" in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="found a directory"):
        load_scenario(tmp_path)


def test_binary_file_is_not_toml(tmp_path):
    (tmp_path / "x.toml").write_bytes(b"name = \xff\xfe\n")
    with pytest.raises(ScenarioError, match="not a valid TOML file"):
        load_scenario(tmp_path / "x.toml")


# ---------------------------------------------------------------- in-memory variants of the base


def test_a_boolean_is_not_a_ratio():
    raw = base_raw()
    raw["layers"]["basic"]["by_level"]["city"]["ratio"] = True
    err = validation_error(raw)
    assert err.key == "layers.basic.by_level.city.ratio"
    assert err.problem == "expected a ratio between 0 and 1, found true"


def test_a_year_written_as_text_is_wrong():
    raw = base_raw()
    raw["start_year"] = "2021"
    assert validation_error(raw).problem == 'expected a year between 1990 and 2100, found "2021"'


def test_unknown_hospital_level_key_has_did_you_mean():
    raw = base_raw()
    raw["layers"]["basic"]["by_level"]["cty"] = {"ratio": 0.5}
    err = validation_error(raw)
    assert err.key == "layers.basic.by_level.cty"
    assert "did you mean 'city'?" in err.problem
    assert 'expected one of "primary", "county", "city"' in err.problem


def test_dated_value_with_a_bad_year_value_points_inside_the_table():
    raw = base_raw()
    raw["funds"]["basic"]["financing_per_head"] = {"2021": 900, "2022": "960"}
    err = validation_error(raw)
    assert err.key == "funds.basic.financing_per_head.2022"
    assert err.problem == 'expected a number, found "960"'


@pytest.mark.parametrize(
    ("value", "key", "problem"),
    [
        (True, "", "a table of tiers like {tier1 = 130, tier2 = 110}, found true"),
        ([1, 2], "", "a table of tiers like {tier1 = 130, tier2 = 110}, found [1, 2]"),
        (float("nan"), "", "found nan"),
        ({"needy": {"2021": -5}, "standard": 1}, ".needy.2021", "at least 0 yuan, found -5"),
        ({"needy": {"grwoth": 1}, "standard": 1}, ".needy.grwoth", "did you mean 'growth'?"),
        ({"2021": 60, "tier1": 5}, ".tier1", "unknown key 'tier1' in a dated value"),
        ({}, "", "found an empty table"),
    ],
)
def test_financing_union_messages(value, key, problem):
    raw = base_raw()
    raw["funds"]["serious_illness"]["financing_per_head"] = value
    err = validation_error(raw)
    assert err.key == "funds.serious_illness.financing_per_head" + key
    assert problem in err.problem and "more problem" not in err.problem
    assert "function-" not in str(err) and "dict[" not in str(err)


def test_infinite_band_start_is_wrong():
    raw = base_raw()
    raw["layers"]["serious_illness"]["bands"][-1]["from"] = float("inf")
    err = validation_error(raw)
    assert err.key == "layers.serious_illness.bands[3].from"
    assert err.problem.endswith("a finite number, found inf")


def test_unknown_claim_type_is_one_problem():
    raw = base_raw()
    raw["claims"]["outpatient"] = {}
    err = validation_error(raw)
    assert err.key == "claims.outpatient"
    assert err.problem == (
        "unknown key 'outpatient' (did you mean 'inpatient'?): "
        'expected one of "inpatient", "chronic"'
    )


def test_roster_rate_outside_zero_one_names_the_year():
    raw = base_raw()
    raw["population"]["roster"] = {
        "exit_rate": {"needy": {"2021": 0.02, "2022": 1.5}},
        "entrant_from": "ordinary",
    }
    err = validation_error(raw)
    assert err.key == "population.roster.exit_rate.needy.2022"
    assert err.problem == "expected a quarterly rate between 0 and 1, found 1.5"


def test_a_misspelt_required_key_is_one_problem_not_two():
    raw = base_raw()
    band = raw["layers"]["serious_illness"]["bands"][0]
    band["ratoi"] = band.pop("ratio")
    err = validation_error(raw)
    assert err.key == "layers.serious_illness.bands[0].ratoi"
    assert "more problem" not in err.problem


def test_several_problems_are_counted_in_one_message():
    raw = base_raw()
    raw["layers"]["basic"]["by_level"]["city"]["ratio"] = 2.0
    raw["layers"]["basic"]["by_level"]["county"]["ratio"] = -1.0
    err = validation_error(raw)
    assert err.problem.endswith("(and 1 more problem)")
    assert "\n" not in str(err)


def test_a_change_breaking_a_reference_names_the_change():
    raw = base_raw()
    raw["changes"] = {"2022": {"layers": {"serious_illness": {"fund": "serious"}}}}
    err = validation_error(raw)
    assert err.key == "changes.2022.layers.serious_illness.fund"
    assert "fund 'serious' is not defined in [funds]" in err.problem
    assert "did you mean 'serious_illness'?" in err.problem


def test_a_change_whose_effect_shows_elsewhere_names_the_change_and_the_key():
    raw = base_raw()
    # removing the needy tier from the financing table breaks the cells that use it
    raw["changes"] = {
        "2022": {"funds": {"serious_illness": {"financing_per_head": {"standard": 60}}}}
    }
    raw["funds"]["serious_illness"]["financing_per_head"] = {"standard": 60, "needy": 70}
    raw["changes"]["2022"]["funds"]["serious_illness"]["financing_per_head"] = 65
    s = validate_raw(raw, "x.toml")  # a scalar replaces the tier table: valid
    assert isinstance(s.funds["serious_illness"].financing_per_head, dict)  # tiers until 2021
    fin_2022 = scenario_for_year(s, 2022).funds["serious_illness"].financing_per_head
    assert isinstance(fin_2022, Dated)  # the whole tier table is replaced, not merged into
    assert fin_2022.at(2022) == 65
    raw["changes"]["2022"] = {"population": {"cells": {"needy_old": {"tier": "other"}}}}
    err = validation_error(raw)
    assert err.key == "changes.2022"
    assert "with this change applied, funds.serious_illness.financing_per_head:" in err.problem


def test_changes_cannot_move_the_start_year():
    raw = base_raw()
    raw["changes"] = {"2022": {"start_year": 2022}}
    err = validation_error(raw)
    assert err.key == "changes.2022.start_year"
    assert "cannot change by year" in err.problem


def test_scenario_for_year_names_the_scenario_when_no_file_is_known():
    s = load_scenario(BASE)
    bad = s.model_copy(update={"changes": {"2022": {"layers": {"basic": {"annual_cap": -5}}}}})
    with pytest.raises(ScenarioError) as info:
        scenario_for_year(bad, 2022)
    assert info.value.file == "scenario 'base'"
    assert info.value.key == "changes.2022.layers.basic.annual_cap"
    assert scenario_for_year(bad, 2021) is bad  # no change due yet: nothing to check


# ---------------------------------------------------------------- dated lookups


def test_dated_lookup_before_first_year_names_parameter_and_year():
    s = load_scenario(BASE)
    fin = s.funds["basic"].financing_per_head
    with pytest.raises(ParameterError) as info:
        fin.at(2019)
    message = str(info.value)
    assert "'funds.basic.financing_per_head'" in message
    assert "2019" in message and "first dated year is 2021" in message


def test_tiered_dated_value_is_named_with_its_tier():
    s = load_scenario(BASE)
    with pytest.raises(
        ParameterError, match=r"'funds\.serious_illness\.financing_per_head\.standard'"
    ):
        s.funds["serious_illness"].financing_per_head["standard"].at(2020)


def test_dated_at_names_the_given_key_path():
    d = Dated.parse({2021: 60, 2023: 80})
    with pytest.raises(ParameterError) as info:
        dated_at(d, 2020, "funds.x.financing_per_head")
    assert "'funds.x.financing_per_head'" in str(info.value) and "2020" in str(info.value)
    assert dated_at(d, 2022, "funds.x.financing_per_head") == 60.0


def test_validate_year_before_first_dated_year_is_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    assert cli.main(["validate", "--quiet", "--year", "2020", str(BASE)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "is not defined for 2020" in err


# ---------------------------------------------------------------- the CLI


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_cli_validate_bad_file_exit_2_one_line(monkeypatch, capsys, name):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))  # independent of other subcommands
    assert cli.main(["validate", str(BAD / name)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("fundsim: error: ")
    assert name in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_cli_stops_at_first_bad_file(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    code = cli.main(
        ["validate", str(BASE), str(BAD / "negative_cap.toml"), str(BAD / "not_toml.toml")]
    )
    assert code == 2
    captured = capsys.readouterr()
    assert "# " + str(BASE) + ": valid" in captured.out
    assert "negative_cap.toml" in captured.err and "not_toml.toml" not in captured.err


def test_errors_are_fundsim_errors():
    assert issubclass(ScenarioError, FundsimError) and issubclass(ParameterError, FundsimError)
    raw = copy.deepcopy(base_raw())
    raw["layers"]["basic"]["annual_cap"] = -1
    with pytest.raises(FundsimError):
        validate_raw(raw, "x.toml")
