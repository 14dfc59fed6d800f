"""Bounds: impossible values are refused by the schema itself (so ``validate`` and every command
agree), options are bounded like the schema, and ``extends`` chains and TOML nesting are limited;
each with one line naming the file and key, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_checks import fails

ROOT = Path(__file__).parent.parent
LAYERED = (ROOT / "tests" / "data" / "engine" / "layered.toml").as_posix()


CASES = {
    "growth": (
        "[funds.basic]\nfinancing_per_head = {2021 = 900, growth = -2}\n",
        "funds.basic.financing_per_head.growth",
        "above -1",
    ),
    "frequency_trend": ("[claims.inpatient.frequency]\ntrend = -2\n", "frequency.trend", "-1"),
    "cost_trend": ("[claims.inpatient.severity]\ntrend = -2\n", "severity.trend", "above -1"),
    "cost_trend_dated": (
        "[claims.inpatient.severity]\ntrend = {2021 = 0.05, 2022 = -1}\n",
        "severity.trend.2022",
        "above -1",
    ),
    "fractional_count": (
        "[population.cells.needy_old]\ncount = 4900.5\n",
        "needy_old.count",
        "whole number",
    ),
    "huge_count": (
        "[population.cells.needy_old]\ncount = 1e12\n",
        "needy_old.count",
        "at most 2,000,000,000",
    ),
    "empty_name": ('name = ""\n', "name", "1 to 200"),
    "nul_in_name": ('name = "a\\u0000b"\n', "name", "U+0000"),
    "newline_in_name": ('name = "a\\nb"\n', "name", "control"),
    "multiplier": (
        "[layers.serious_illness.preferential.needy]\nthreshold_multiplier = 1e300\n",
        "threshold_multiplier",
        "1000",
    ),
    "claim_cost": (
        "[claims.inpatient.severity.levels.city]\nmean_yuan = 1e300\n",
        "levels.city.mean_yuan",
        "100000000",
    ),
    "financing": (
        "[funds.basic]\nfinancing_per_head = 1e308\n",
        "funds.basic.financing_per_head",
        "10,000,000",
    ),
    "year_key": (
        "[funds.basic]\nfinancing_per_head = {0999 = 900}\n",
        "financing_per_head.0999",
        "1990 to 2100",
    ),
    "income": (
        "[population.cells.needy_old.income]\nmean_yuan = 1e300\n",
        "income.mean_yuan",
        "expected",
    ),
    "rate": ("[claims.inpatient.frequency.rate]\nneedy = 1e9\n", "rate.needy", "expected"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_impossible_values_fail_validate(case, tmp_path, capsys):
    text, key, words = CASES[case]
    f = tmp_path / "x.toml"
    f.write_text(f'extends = "{LAYERED}"\n{text}')
    fails(capsys, ["validate", str(f)], "x.toml", key, words)


def test_validate_and_run_agree(tmp_path, capsys):
    f = tmp_path / "x.toml"
    f.write_text(f'extends = "{LAYERED}"\n' + CASES["growth"][0])
    a = fails(capsys, ["validate", str(f)])
    b = fails(capsys, ["run", str(f), "--paths", "2", "--quiet"])
    assert a == b


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--paths", "1e30", "whole number"),
        ("--paths", "2000000", "at most 1,000,000"),
        ("--years", "1000", "at most 50"),
        ("--seed", "-1", "at least 0"),
        ("--seed", str(2**64), "at most 9,223,372,036,854,775,807"),
    ],
)
@pytest.mark.parametrize("command", ["run", "report", "cashflow"])
def test_options_are_bounded_like_the_schema(command, option, value, words, capsys):
    fails(capsys, [command, LAYERED, option, value], option, words)


def test_a_long_extends_chain_is_one_line(tmp_path, capsys):
    (tmp_path / "f0.toml").write_text(f'extends = "{LAYERED}"\n')
    for i in range(1, 300):
        (tmp_path / f"f{i}.toml").write_text(f'extends = "f{i - 1}.toml"\n')
    fails(capsys, ["validate", str(tmp_path / "f299.toml")], "extends", "at most 32 files")


@pytest.mark.parametrize("depth", [40, 5000])
def test_deeply_nested_toml_is_one_line(depth, tmp_path, capsys):
    f = tmp_path / "deep.toml"
    f.write_text("x = " + "[" * depth + "]" * depth + "\n")
    fails(capsys, ["validate", str(f)], "deep.toml", "nested at most 32 deep")


# --------------------------------------------------------------------------- claims tables

CLAIMS = ROOT / "tests" / "data" / "claims"


def claims_with(tmp_path: Path, extra_rows: list[str]) -> Path:
    lines = (CLAIMS / "good_claims.csv").read_text().splitlines()
    f = tmp_path / "claims.csv"
    f.write_text("\n".join([*lines, *extra_rows]) + "\n")
    return f


def test_a_huge_cost_names_the_file_and_row(tmp_path):
    from simulation.claims_data import read_claims
    from simulation.errors import ClaimsDataError

    lines = (CLAIMS / "good_claims.csv").read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("total_cost")] = "1e300"
    f = claims_with(tmp_path, [",".join(first)])
    with pytest.raises(ClaimsDataError) as e:
        read_claims(f)
    text = str(e.value)
    assert "claims.csv" in text and "total_cost above 100,000,000 yuan" in text
    assert str(len(lines) + 1) in text  # the file line of the bad row


def test_duplicate_claim_rows_are_counted_or_refused_under_strict(tmp_path):
    from simulation.claims_data import read_claims
    from simulation.errors import ClaimsDataError

    row = (CLAIMS / "good_claims.csv").read_text().splitlines()[1]
    f = claims_with(tmp_path, [row] * 50)
    assert read_claims(f).attrs["duplicate_rows"] == 50
    with pytest.raises(ClaimsDataError, match="duplicate row"):
        read_claims(f, strict=True)
    assert read_claims(CLAIMS / "good_claims.csv").attrs["duplicate_rows"] == 0


def test_a_float_year_is_named_as_a_decimal_number(tmp_path, capsys):
    f = tmp_path / "x.toml"
    f.write_text(f'extends = "{LAYERED}"\nstart_year = 2016.0\n')
    fails(capsys, ["validate", str(f)], "start_year", "found 2016.0", "decimal point")


def test_a_year_key_with_a_letter_is_named_itself(tmp_path, capsys):
    f = tmp_path / "x.toml"
    f.write_text(
        f'extends = "{LAYERED}"\n[funds.basic]\nfinancing_per_head = {{2021 = 9, 20x6 = 5}}\n'
    )
    fails(capsys, ["validate", str(f)], "financing_per_head.20x6", "expected a year")


def test_infinite_results_are_an_error_not_a_number(tmp_path, capsys, monkeypatch):
    import numpy as np

    import simulation.engine.result as result_module

    inner = result_module.SimulationResult.summary

    def overflowing(self, *a, **k):
        s = inner(self, *a, **k)
        s.loc[0, "claims_mean"] = np.inf
        return s

    monkeypatch.setattr(result_module.SimulationResult, "summary", overflowing)
    out = tmp_path / "o"
    argv = ["run", LAYERED, "--paths", "4", "--quiet", "--out", str(out)]
    fails(capsys, argv, "expected finite results", "claims_mean = inf")
    assert not out.exists()
