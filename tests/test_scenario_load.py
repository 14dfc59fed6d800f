"""Loading scenarios: ``extends`` chains, deep merge, dated parameters, yearly changes, the
``validate`` command's output, and the shipped scenario files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulation import cli
from simulation.errors import ParameterError
from simulation.params import Dated
from simulation.scenario import (
    Settlement,
    deep_merge,
    dumps_toml,
    load_scenario,
    resolve_raw,
    scenario_for_year,
    scenario_table,
    validate_raw,
)
from simulation.scenario.schema import iter_dated

ROOT = Path(__file__).parent.parent
GOOD = Path(__file__).parent / "data" / "good"
BASE = GOOD / "base.toml"
CHANGES = GOOD / "with_changes.toml"
GRANDCHILD = GOOD / "chain" / "grandchild.toml"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))

# ---------------------------------------------------------------- deep merge and extends


def test_deep_merge_tables_merge_arrays_and_scalars_replace():
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "arr": [1, 2, 3], "s": 1, "t": {"k": 1}}
    over = {"a": {"y": {"q": 20, "r": 30}}, "arr": [9], "s": {"now": "table"}, "t": 5}
    out = deep_merge(base, over)
    assert out == {
        "a": {"x": 1, "y": {"p": 1, "q": 20, "r": 30}},
        "arr": [9],
        "s": {"now": "table"},
        "t": 5,
    }
    assert base["a"]["y"] == {"p": 1, "q": 2}  # inputs untouched
    out["arr"].append(0)
    assert over["arr"] == [9]  # no shared lists


def test_base_fixture_is_small_and_valid():
    s = load_scenario(BASE)
    assert len(s.categories) <= 3 and 2 <= len(s.population.cells) <= 4
    assert all(800 <= c.count.at(2021) <= 1500 for c in s.population.cells.values())
    assert s.layers["basic"].settlement is Settlement.PER_ADMISSION and s.layers["basic"].by_level
    si = s.layers["serious_illness"]
    assert si.settlement is Settlement.ANNUAL_CUMULATIVE and si.bands and si.preferential
    assert [f.contract.kind.value for f in s.funds.values()].count("capped_profit") == 1


def test_extends_chain_of_three_files_with_relative_paths():
    raw, files = resolve_raw(GRANDCHILD)
    assert [f.name for f in files] == ["base.toml", "with_changes.toml", "grandchild.toml"]
    s = load_scenario(GRANDCHILD)
    assert s.name == "grandchild"  # the last file wins
    assert s.horizon_years == 3  # from the middle file
    assert s.layers["basic"].label == "Basic medical insurance"  # from the base
    # a table merges: the grandchild changed one key of one cell, the rest is the base's
    cell = s.population.cells["needy_old"]
    assert cell.count.at(2022) == 900 and cell.count.at(2023) == 1000
    assert cell.category == "needy" and cell.income.mean_yuan == 5000
    # a dated table merges like any table: growth added to the base's years
    assert s.funds["basic"].financing_per_head.at(2022) == 960
    assert s.funds["basic"].financing_per_head.at(2024) == pytest.approx(960 * 1.04**2)
    assert sorted(s.changes) == ["2022", "2023"]


def test_extends_arrays_replace(tmp_path):
    (tmp_path / "child.toml").write_text(
        f'extends = "{BASE.as_posix()}"\n'
        "[layers.serious_illness]\n"
        "bands = [{ from = 10000, ratio = 0.55 }]\n"
    )
    s = load_scenario(tmp_path / "child.toml")
    assert [(b.from_yuan, b.ratio) for b in s.layers["serious_illness"].bands] == [(10000, 0.55)]


def test_extends_path_is_relative_to_the_extending_file(tmp_path, monkeypatch):
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (tmp_path / "a" / "base.toml").write_text(BASE.read_text())
    (sub / "child.toml").write_text('extends = "../base.toml"\nname = "child"\n')
    monkeypatch.chdir(tmp_path)  # not the file's directory
    assert load_scenario("a/b/child.toml").name == "child"


# ---------------------------------------------------------------- dated parameters


def test_dated_scalar_is_in_force_every_year():
    d = Dated.parse(130)
    assert d.at(1990) == d.at(2100) == 130.0 and d.first_year is None


def test_dated_lookups_before_between_and_after():
    d = Dated.parse({2019: 130, 2021: 150, "source": "seed 000"})
    with pytest.raises(ParameterError, match="not defined for 2018"):
        d.at(2018)
    assert d.at(2019) == 130 and d.at(2020) == 130  # between: the value of the last year before
    assert d.at(2021) == 150 and d.at(2030) == 150  # after the last year: constant
    assert d.source == "seed 000"


def test_dated_growth_after_the_last_year_only():
    d = Dated.parse({"2019": 130, "2021": 150, "growth": 0.06})
    assert d.at(2020) == 130  # no growth between dated years
    assert d.at(2021) == 150
    assert d.at(2023) == pytest.approx(150 * 1.06**2)


@given(
    st.dictionaries(st.integers(2000, 2030), st.floats(0, 1e6), min_size=1, max_size=6),
    st.integers(2000, 2040),
)
def test_dated_value_is_that_of_the_latest_year_not_after(values, year):
    d = Dated.parse(values)
    earlier = [y for y in values if y <= year]
    if not earlier:
        with pytest.raises(ParameterError):
            d.at(year)
    else:
        assert d.at(year) == values[max(earlier)]


@pytest.mark.parametrize(
    "raw, words",
    [
        (True, "expected a number or a table of years, found True"),
        ("130", "expected a number or a table of years, found '130'"),
        ({}, "a dated value needs at least one year"),
        ({"growth": 0.1}, "a dated value needs at least one year"),
        ({"2019": "x"}, "the value for 2019 must be a number, found 'x'"),
        ({"19": 1}, r"expected a year \(like 2019\), 'growth' or 'source' as key, found '19'"),
        ({"2019": 1, "growth": "x"}, r"growth must be a number \(a rate per year\), found 'x'"),
    ],
)
def test_dated_parse_rejects(raw, words):
    with pytest.raises(ValueError, match=words):
        Dated.parse(raw)


def test_every_dated_value_carries_its_key_path():
    s = load_scenario(GRANDCHILD)
    named = dict((".".join(map(str, loc)), d.name) for loc, d in iter_dated(s))
    assert named["population.cells.needy_old.count"] == "population.cells.needy_old.count"
    assert named["claims.inpatient.severity.trend"] == "claims.inpatient.severity.trend"
    assert (
        named["funds.serious_illness.financing_per_head.standard"]
        == "funds.serious_illness.financing_per_head.standard"
    )
    assert all(d.name for _, d in iter_dated(s))


# ---------------------------------------------------------------- changes by year


def test_scenario_for_year_applies_changes_in_year_order():
    s = load_scenario(CHANGES)
    y21, y22, y23, y25 = (scenario_for_year(s, y) for y in (2021, 2022, 2023, 2025))
    assert y21 is s  # nothing due yet
    assert y22.layers["serious_illness"].deductible.at(2022) == 8000
    assert [b.ratio for b in y22.layers["serious_illness"].bands] == [0.5, 0.6, 0.7, 0.8]
    assert [b.ratio for b in y23.layers["serious_illness"].bands] == [0.6, 0.75]
    assert y23.layers["serious_illness"].deductible.at(2023) == 8000  # 2022's change stays
    fin23 = y23.funds["serious_illness"].financing_per_head
    assert fin23["standard"].at(2023) == 80 and fin23["needy"].at(2023) == 70  # table merged
    assert y25 == y23  # no change after 2023
    # changes still ahead stay pending; resolving twice is resolving once
    assert sorted(y22.changes) == ["2023"] and y23.changes == {}
    assert scenario_for_year(y22, 2023) == y23
    # everything else is untouched
    assert y23.population == s.population and y23.layers["basic"] == s.layers["basic"]


def test_scenario_for_year_without_changes_is_the_base_rules():
    s = load_scenario(CHANGES)
    old = scenario_for_year(s, 2023, with_changes=False)
    assert old.changes == {}
    assert old.layers == s.layers and old.funds == s.funds
    assert scenario_for_year(old, 2023) is old  # no change will ever apply to it
    base = load_scenario(BASE)
    assert scenario_for_year(base, 2030, with_changes=False) is base


def test_resolved_scenario_keeps_named_dated_values():
    y22 = scenario_for_year(load_scenario(CHANGES), 2022)
    assert y22.layers["serious_illness"].deductible.name == "layers.serious_illness.deductible"
    with pytest.raises(ParameterError, match="'funds.basic.financing_per_head'"):
        y22.funds["basic"].financing_per_head.at(2020)


# ---------------------------------------------------------------- printing the resolved scenario


def test_scenario_table_round_trips_through_toml():
    s = load_scenario(GRANDCHILD)
    table = scenario_table(s)
    text = dumps_toml(table)
    assert tomllib.loads(text) == table
    assert validate_raw(tomllib.loads(text), "printed.toml") == s


def test_scenario_table_for_a_year_replaces_dated_values():
    s = scenario_for_year(load_scenario(GRANDCHILD), 2024)
    table = scenario_table(s, 2024)
    assert "changes" not in table
    assert table["funds"]["basic"]["financing_per_head"] == pytest.approx(960 * 1.04**2)
    assert table["funds"]["serious_illness"]["financing_per_head"] == {"needy": 70, "standard": 80}
    assert table["population"]["cells"]["needy_old"]["count"] == 1000
    assert table["claims"]["inpatient"]["severity"]["trend"] == 0.05
    # a scenario of scalars: still valid
    again = validate_raw(tomllib.loads(dumps_toml(table)), "printed.toml")
    assert again.funds["basic"].financing_per_head.at(1990) == pytest.approx(960 * 1.04**2)


def test_dumps_toml_quotes_keys_and_escapes_text():
    table = {
        "a": {"60+": 1.5, "0-15": 2, "label": 'say "hi"\n'},
        "list": [{"from": 0.0}],
        "x": None,
    }
    assert tomllib.loads(dumps_toml(table)) == {k: v for k, v in table.items() if v is not None}


def test_cli_validate_prints_resolved_scenario(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    assert cli.main(["validate", str(GRANDCHILD)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {GRANDCHILD}: valid\n# extends: ")
    assert tomllib.loads(out)["name"] == "grandchild"


def test_cli_validate_year_applies_changes_and_dated_values(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    assert cli.main(["validate", "--year", "2023", str(CHANGES)]) == 0
    out = capsys.readouterr().out
    assert "rules in force in 2023 (changes applied: 2022, 2023" in out
    table = tomllib.loads(out)
    assert table["layers"]["serious_illness"]["deductible"] == 8000
    assert table["funds"]["basic"]["financing_per_head"] == 960
    assert table["funds"]["serious_illness"]["financing_per_head"]["standard"] == 80


def test_cli_validate_json_and_quiet(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    assert cli.main(["validate", "--format", "json", "--year", "2022", str(BASE)]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["funds"]["basic"]["financing_per_head"] == 960
    assert table["layers"]["serious_illness"]["bands"][0] == {"from": 10000, "ratio": 0.5}
    assert cli.main(["validate", "--quiet", str(BASE), str(CHANGES)]) == 0
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------- shipped scenarios


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_shipped_scenario_loads_and_resolves_every_year(path):
    s = load_scenario(path)
    for year in range(s.start_year, s.start_year + s.horizon_years):
        table = scenario_table(scenario_for_year(s, year), year)  # every dated value defined
        # the rules in force that year, printed as TOML (`fundsim validate --year`), read back and
        # validated, are the same rules: a scenario of scalars giving that year's table again
        text = dumps_toml(table)
        assert tomllib.loads(text) == table, year
        printed = validate_raw(tomllib.loads(text), f"{path.name} in {year}")
        assert printed.changes == {} and scenario_table(printed, year) == table, year


def test_ankang_and_guangxi_are_shipped():
    names = {p.name for p in SCENARIOS}
    assert {"ankang_serious_illness.toml", "guangxi_residents_2023.toml"} <= names


def test_ankang_encodes_seed_001():
    s = load_scenario(ROOT / "scenarios" / "ankang_serious_illness.toml")
    si = s.layers["serious_illness"]
    fund = s.funds[si.fund]
    assert fund.financing_per_head.at(s.start_year) == 25
    assert si.deductible.at(s.start_year) == 10000
    assert [(b.from_yuan, b.ratio) for b in si.bands] == [
        (10000, 0.5),
        (20000, 0.6),
        (30000, 0.7),
        (50000, 0.8),
        (100000, 0.9),
    ]
    assert si.settlement is Settlement.ANNUAL_CUMULATIVE
    assert fund.contract.kind.value == "cost_plus" and fund.contract.management_rate == 0.03
    assert fund.contract.term_years >= 3
    people = sum(c.count.at(s.start_year) for c in s.population.cells.values())
    assert 2.4e6 <= people <= 2.8e6


def test_guangxi_encodes_seed_002():
    s = load_scenario(ROOT / "scenarios" / "guangxi_residents_2023.toml")
    y = s.start_year
    basic = s.funds[s.layers["basic"].fund].financing_per_head
    per_head = basic.at(y) if isinstance(basic, Dated) else None
    assert per_head == 960  # 610 subsidy + 350 individual
    si = s.layers["serious_illness"]
    assert "chronic" in [ct.value for ct in si.claim_types]
    assert s.funds[si.fund].contract.kind.value == "capped_profit"
    regions = {c.region for c in s.population.cells.values()}
    assert len(regions) >= 2


def test_cashflow_table_is_part_of_the_scenario(tmp_path):
    from simulation.errors import ScenarioError
    from simulation.scenario import load_scenario as load

    s = load(Path(__file__).parent.parent / "scenarios" / "henan_supplementary_2019.toml")
    assert s.cashflow is not None and s.cashflow.one_stop_share == 0.85
    bad = tmp_path / "bad_cashflow.toml"
    base = (Path(__file__).parent / "data" / "good" / "base.toml").as_posix()
    bad.write_text(f'extends = "{base}"\n[cashflow]\none_stop_shar = 0.5\n')
    with pytest.raises(
        ScenarioError,
        match=r"bad_cashflow.toml: cashflow\.one_stop_shar: unknown key.*one_stop_share",
    ):
        load(bad)


def test_rules_in_force_are_resolved_once_per_scenario():
    # each set of changes due is merged and validated once per (frozen) scenario object; a copy
    # with other values is resolved on its own
    from simulation.scenario.resolve import scenario_for_year

    s = load_scenario(ROOT / "scenarios" / "henan_variant_higher_ratio.toml")
    first = scenario_for_year(s, 2020)
    assert scenario_for_year(s, 2020) is first
    assert scenario_for_year(s, 2021) is first  # the same changes due
    assert scenario_for_year(s, 2019) is s
    other = s.model_copy(update={"title": "other"})
    assert scenario_for_year(other, 2020) is not first
    assert scenario_for_year(other, 2020).layers == first.layers
