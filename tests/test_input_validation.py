"""Input validation found missing by review: every bad input gets ONE clear message.

A wrong scenario file names the file, the key path, what was expected and what was found; a claims
or exposure table that cannot be read names the file and the reason; the CLI prints one line and
exits 2, never a traceback. Also: policy defaults name their source, and the report's pricing
targets live in one documented table.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from scenario_variants import BASE, base_raw, validation_error
from unprivileged import run_unprivileged

from simulation import claims_data, cli, synth
from simulation.claims_data import read_claims, read_exposure
from simulation.engine.run import run
from simulation.errors import ClaimsDataError, ScenarioError
from simulation.pricing import summary as summary_module
from simulation.pricing.financing import (
    break_even_financing,
    financing_for_loss_probability,
    financing_for_target_margin,
)
from simulation.pricing.sample import claims_sample
from simulation.pricing.summary import pricing_summary
from simulation.pricing.targets import REPORT_TARGETS, ReportTargets
from simulation.scenario import load_scenario, validate_raw
from simulation.scenario.load import dumps_toml, load_cashflow_config, read_toml
from simulation.scenario.schema import AgeBand, Contract, parse_age_band

TESTS = Path(__file__).parent
CLAIMS = TESTS / "data" / "claims"
LAYERED = TESTS / "data" / "engine" / "layered.toml"
SCENARIOS = TESTS.parent / "scenarios"
SCHEMA = TESTS.parent / "simulation" / "scenario" / "schema"

NOISE = ("function-before", "function-after", "Input should", "Value error", "[key]", "dict[str")


def _error(raw: dict) -> ScenarioError:
    """The error of ``raw``, checked to be one line naming the file and key, without pydantic's
    noise."""
    err = validation_error(raw)
    assert str(err) == f"x.toml: {err.key}: {err.problem}"
    assert "\n" not in str(err)
    for noise in NOISE:
        assert noise not in str(err), str(err)
    return err


def _write(tmp_path: Path, raw: dict, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(dumps_toml(raw))
    return path


def _one_line_exit_2(capsys, argv: list[str], *fragments: str) -> str:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("fundsim: error: ")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    for fragment in fragments:
        assert fragment in captured.err, captured.err
    return captured.err


# ---------------------------------------------------------------- 1. a cell's age band


def test_a_word_for_an_age_band_reads_as_in_the_review():
    raw = base_raw()
    raw["population"]["cells"]["needy_adults"]["age_band"] = "adults"
    err = _error(raw)
    assert err.key == "population.cells.needy_adults.age_band"
    assert err.problem == 'expected a band like "0-15" or "60+", found "adults"'


def test_a_bad_age_band_in_a_file_names_the_file(tmp_path):
    raw = base_raw()
    raw["population"]["cells"]["ordinary_old"]["age_band"] = "60 and over"
    path = _write(tmp_path, raw)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}: population.cells.ordinary_old.age_band: "
        'expected a band like "0-15" or "60+", found "60 and over"'
    )


@pytest.mark.parametrize(
    ("band", "problem"),
    [
        ("60-15", 'found "60-15" (it ends at 15, before it starts at 60)'),
        (" 60+", 'found " 60+" (write it without spaces around it: "60+")'),
        ("16 - 59 years", 'found "16 - 59 years"'),
        ("-5", 'found "-5"'),
        ("", 'found ""'),
    ],
)
def test_malformed_age_bands(band, problem):
    raw = base_raw()
    raw["population"]["cells"]["needy_old"]["age_band"] = band
    err = _error(raw)
    assert err.key == "population.cells.needy_old.age_band"
    assert err.problem.startswith('expected a band like "0-15" or "60+", ')
    assert err.problem.endswith(problem)


def test_an_age_band_must_be_text():
    raw = base_raw()
    raw["population"]["cells"]["needy_old"]["age_band"] = 60
    err = _error(raw)
    assert err.key == "population.cells.needy_old.age_band"
    assert err.problem == "expected text in quotes, found 60"


@pytest.mark.parametrize("band", ["0-15", "16-59", "60+", "0-0", "100+", "60 +", "16 - 59", "all"])
def test_well_formed_age_bands_are_accepted(band):
    raw = base_raw()
    raw["population"]["cells"]["needy_old"]["age_band"] = band
    raw["claims"]["inpatient"]["frequency"]["age_factor"] = {}
    s = validate_raw(raw, "x.toml")
    assert s.population.cells["needy_old"].age_band == band


def test_one_age_band_parser_below_the_models():
    # the scenario layer owns the parser; the claims tables and synthetic claims use the same one
    assert claims_data.parse_age_band is parse_age_band
    assert claims_data.AgeBand is AgeBand
    assert synth.parse_age_band is parse_age_band
    assert parse_age_band("60+") == AgeBand("60+", 60, None)
    assert parse_age_band("all") == AgeBand("all", 0, None)  # every age, as region = "all"
    assert synth.age_range("0-15") == (0, 15)


def test_open_age_bands_of_synthetic_claims():
    # an open band reaches at least age 89: every age for "all" and "0+", not just 0-29
    assert synth.age_range("60+") == (60, 89)
    assert synth.age_range("80+") == (80, 109)
    assert synth.age_range("all") == (0, 89)
    assert synth.age_range("0+") == (0, 89)
    assert synth.age_range("16+") == (16, 89)


def test_a_change_year_with_a_bad_age_band_names_the_change():
    raw = base_raw()
    raw["changes"] = {"2022": {"population": {"cells": {"needy_old": {"age_band": "old"}}}}}
    err = _error(raw)
    assert err.key.startswith("changes.2022")
    assert 'expected a band like "0-15" or "60+", found "old"' in err.problem


def test_synth_claims_with_a_bad_age_band_is_one_line(tmp_path, monkeypatch, capsys):
    raw = base_raw()
    raw["population"]["cells"]["needy_adults"]["age_band"] = "adults"
    path = _write(tmp_path, raw)
    monkeypatch.setattr(cli, "COMMANDS", ("synth_claims",))
    argv = ["synth-claims", str(path), "--seed", "1", "--out", str(tmp_path / "c.csv")]
    _one_line_exit_2(
        capsys,
        argv,
        f"{path}: population.cells.needy_adults.age_band: ",
        'expected a band like "0-15" or "60+", found "adults"',
    )
    assert not (tmp_path / "c.csv").exists()


# ---------------------------------------------------------------- 2. age_factor keys


def test_a_misspelt_age_factor_key_is_an_error_with_did_you_mean():
    raw = base_raw()
    raw["claims"]["inpatient"]["frequency"]["age_factor"] = {"16-59": 0.8, "60 +": 1.6}
    err = _error(raw)
    assert err.key == 'claims.inpatient.frequency.age_factor."60 +"'
    assert err.problem == (
        "age band '60 +' is not the age_band of any cell in [population.cells] "
        "(did you mean '60+'?): expected one of 16-59, 60+"
    )


def test_an_age_factor_for_a_band_no_cell_has_is_an_error(tmp_path):
    raw = base_raw()
    raw["claims"]["inpatient"]["frequency"]["age_factor"]["0-15"] = 0.4
    path = _write(tmp_path, raw)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.key == "claims.inpatient.frequency.age_factor.0-15"
    assert "age band '0-15' is not the age_band of any cell" in info.value.problem
    assert info.value.problem.endswith("expected one of 16-59, 60+")


def test_age_factor_keys_are_checked_for_every_claim_type():
    raw = base_raw()
    chronic = dict(raw["claims"]["inpatient"])
    chronic["frequency"] = {**chronic["frequency"], "age_factor": {"60+": 1.2, "1659": 0.9}}
    raw["claims"]["chronic"] = chronic
    err = _error(raw)
    assert err.key == "claims.chronic.frequency.age_factor.1659"
    assert "did you mean '16-59'?" in err.problem


def test_a_change_that_misspells_an_age_factor_names_the_change():
    raw = base_raw()
    raw["changes"] = {
        "2022": {"claims": {"inpatient": {"frequency": {"age_factor": {"60plus": 1.7}}}}}
    }
    err = _error(raw)
    assert err.key.startswith("changes.2022")
    assert "age band '60plus' is not the age_band of any cell" in err.problem


def test_partial_age_factors_are_still_allowed():
    raw = base_raw()
    raw["claims"]["inpatient"]["frequency"]["age_factor"] = {"60+": 1.6}  # 16-59 uses 1
    assert validate_raw(raw, "x.toml").claims["inpatient"].frequency.age_factor == {"60+": 1.6}


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_is_still_valid(path):
    assert load_scenario(path).name


# ---------------------------------------------------------------- 3. unreadable scenario files


def _deny_open(monkeypatch, target: Path, error: OSError) -> None:
    """Make ``Path.open`` of ``target`` fail with ``error`` (tests run as root, who reads all)."""
    real_open = Path.open

    def fake_open(self, *args, **kwargs):
        if Path(self) == target:
            raise error
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", fake_open)


def test_an_unreadable_scenario_names_the_file_and_the_reason(tmp_path, monkeypatch):
    path = tmp_path / "locked.toml"
    shutil.copy(BASE, path)
    _deny_open(monkeypatch, path, PermissionError(13, "Permission denied", str(path)))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: cannot read the file: Permission denied"
    assert info.value.file == str(path) and info.value.key == ""


def test_an_io_error_reading_a_scenario_is_a_scenario_error(tmp_path, monkeypatch):
    path = tmp_path / "flaky.toml"
    shutil.copy(BASE, path)
    _deny_open(monkeypatch, path, OSError(5, "Input/output error"))
    with pytest.raises(
        ScenarioError, match=r"flaky.toml: cannot read the file: Input/output error"
    ):
        read_toml(path)


@pytest.mark.parametrize(
    ("source", "read", "error"),
    [
        (BASE, "simulation.scenario.load_scenario", "ScenarioError"),
        (CLAIMS / "good_claims.csv", "simulation.claims_data.read_claims", "ClaimsDataError"),
    ],
    ids=["scenario", "claims table"],
)
def test_a_file_without_read_permission(tmp_path, source, read, error):
    """Checked in a process bound by file permissions (even when the tests run as root)."""
    path = tmp_path / f"locked{source.suffix}"
    shutil.copy(source, path)
    path.chmod(0)
    module, name = read.rsplit(".", 1)
    code = f"""
import importlib
from simulation import errors
read = getattr(importlib.import_module({module!r}), {name!r})
try:
    read({str(path)!r})
except errors.{error} as e:
    print(e)
"""
    done = run_unprivileged(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cannot read the file: Permission denied" in done.stdout, done.stdout


def test_cli_validate_unreadable_file_is_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "locked.toml"
    shutil.copy(BASE, path)
    _deny_open(monkeypatch, path, PermissionError(13, "Permission denied", str(path)))
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    _one_line_exit_2(
        capsys, ["validate", str(path)], f"{path}: cannot read the file: Permission denied"
    )


def test_cashflow_config_reads_through_read_toml(tmp_path, monkeypatch):
    # the --config file gets every case read_toml knows, not only a missing file
    with pytest.raises(ScenarioError) as info:
        load_cashflow_config(tmp_path)
    assert str(info.value) == f"{tmp_path}: expected a TOML file, found a directory"
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"one_stop_share = \xff\n")
    with pytest.raises(ScenarioError, match="binary.toml: not a valid TOML file: it is not UTF-8"):
        load_cashflow_config(binary)
    broken = tmp_path / "broken.toml"
    broken.write_text("one_stop_share = \n")
    with pytest.raises(ScenarioError, match="broken.toml: not a valid TOML file: "):
        load_cashflow_config(broken)
    locked = tmp_path / "locked.toml"
    locked.write_text("one_stop_share = 0.5\n")
    _deny_open(monkeypatch, locked, PermissionError(13, "Permission denied", str(locked)))
    with pytest.raises(ScenarioError) as info:
        load_cashflow_config(locked)
    assert str(info.value) == f"{locked}: cannot read the file: Permission denied"


def test_cashflow_config_still_reads_a_good_file(tmp_path):
    f = tmp_path / "cf.toml"
    f.write_text("[cashflow]\none_stop_share = 0.5\n")
    assert load_cashflow_config(f).one_stop_share == 0.5
    with pytest.raises(ScenarioError) as info:
        load_cashflow_config(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: file not found"


# ---------------------------------------------------------------- 4. claims and exposure CSV files


def _deny_read_csv(monkeypatch, error: OSError) -> None:
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(claims_data.pd, "read_csv", fail)


@pytest.mark.parametrize(
    ("reader", "kind"), [(read_claims, "claims table"), (read_exposure, "exposure table")]
)
def test_an_unreadable_table_names_the_file_and_the_reason(tmp_path, monkeypatch, reader, kind):
    path = tmp_path / "locked.csv"
    _deny_read_csv(monkeypatch, PermissionError(13, "Permission denied", str(path)))
    with pytest.raises(ClaimsDataError) as info:
        reader(path)
    assert str(info.value) == f"{path}: {kind}: cannot read the file: Permission denied"


def test_an_io_error_reading_a_table_is_a_claims_data_error(tmp_path, monkeypatch):
    _deny_read_csv(monkeypatch, OSError(5, "Input/output error"))
    with pytest.raises(ClaimsDataError, match="cannot read the file: Input/output error"):
        read_claims(tmp_path / "x.csv")


def _with_column(source: Path, target: Path, name: str, values: list[str]) -> Path:
    lines = source.read_text().splitlines()
    out = [f"{lines[0]},{name}"]
    it = iter(values)
    out += [f"{line},{next(it)}" if line else line for line in lines[1:]]
    target.write_text("\n".join(out) + "\n")
    return target


def test_a_claims_table_with_its_own_line_column_fails_with_one_clear_line(tmp_path):
    path = _with_column(CLAIMS / "good_claims.csv", tmp_path / "c.csv", "line", list("abcde"))
    with pytest.raises(ClaimsDataError) as info:
        read_claims(path)
    message = str(info.value)
    assert message == (
        f"{path}: claims table: column 'line' is reserved (the rows read carry their line in "
        "the file under that name): expected no column 'line', found one; rename it "
        "(e.g. to 'source_line')"
    )


def test_a_renamed_line_column_is_kept_as_an_extra_column(tmp_path):
    path = _with_column(
        CLAIMS / "good_claims.csv", tmp_path / "c.csv", "source_line", list("abcde")
    )
    claims = read_claims(path)
    assert claims["line"].tolist() == [2, 3, 4, 6, 7]  # the file's lines, the blank one skipped
    assert claims["source_line"].tolist() == list("abcde")
    assert " line" not in claims.columns  # the private line column never leaks


def test_an_exposure_table_with_a_line_column_is_read(tmp_path):
    path = _with_column(
        CLAIMS / "good_exposure.csv",
        tmp_path / "e.csv",
        "line",
        [str(i) for i in range(99, 93, -1)],
    )
    exposure = read_exposure(path)
    assert exposure["line"].tolist() == [2, 3, 4, 5, 6, 7]  # file lines, not the file's column
    assert exposure["person_years"].sum() == 890.0


def test_problems_in_a_table_with_a_line_like_column_still_name_file_lines(tmp_path):
    # a column named " line" in the file is stripped to "line": it cannot hide the line numbers
    path = tmp_path / "e.csv"
    path.write_text(
        "category,age_band,year,person_years, line \nordinary,0-15,2019,-1,x\nordinary,old,2019,1,y\n"
    )
    with pytest.raises(ClaimsDataError) as info:
        read_exposure(path)
    message = str(info.value)
    assert "age_band is not like '0-15' or '60+': 1 row, line 3 (found 'old')" in message
    assert "negative person_years: 1 row, line 2" in message


def test_a_column_named_twice_is_one_clear_error(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("category,age_band,year,person_years,note, note\nordinary,0-15,2019,1,a,b\n")
    with pytest.raises(ClaimsDataError) as info:
        read_exposure(path)
    assert str(info.value) == (
        f"{path}: exposure table: expected each column name once, found 'note' more than once"
    )


def test_cli_fit_with_a_line_column_is_one_line(tmp_path, monkeypatch, capsys):
    claims = _with_column(CLAIMS / "good_claims.csv", tmp_path / "c.csv", "line", list("abcde"))
    monkeypatch.setattr(cli, "COMMANDS", ("fit",))
    argv = [
        "fit",
        str(claims),
        "--exposure",
        str(CLAIMS / "good_exposure.csv"),
        "--out",
        str(tmp_path / "fragment.toml"),
    ]
    _one_line_exit_2(capsys, argv, f"{claims}: claims table: column 'line' is reserved")
    assert not (tmp_path / "fragment.toml").exists()


# ---------------------------------------------------------------- 5. documented policy defaults

DOCUMENTED_DEFAULTS = {
    ("Contract", "profit_cap_rate"): 0.03,
    ("Contract", "management_rate"): 0.03,
    ("Contract", "loss_band_rate"): 0.05,
    ("Contract", "excess_insurer_share"): 0.5,
    ("Contract", "term_years"): 3,
    ("Income", "cv"): 0.6,
    ("Tail", "quantile"): 0.95,
    ("Tail", "shape"): 0.25,
    ("LevelSeverity", "in_policy_mean"): 0.85,
    ("LevelSeverity", "in_policy_sd"): 0.08,
    ("Economy", "catastrophic_share"): 0.4,
    ("Roster", "verification_day"): 10,
}


def _field_docstrings() -> dict[tuple[str, str], str]:
    """``(class, field) -> the docstring written under the field`` in the schema's modules."""
    out = {}
    for node in (n for f in sorted(SCHEMA.glob("*.py")) for n in ast.parse(f.read_text()).body):
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt, after in zip(node.body, [*node.body[1:], None], strict=True):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                out[(node.name, stmt.target.id)] = after.value.value
    return out


@pytest.mark.parametrize(
    ("where", "default"),
    DOCUMENTED_DEFAULTS.items(),
    ids=[".".join(k) for k in DOCUMENTED_DEFAULTS],
)
def test_policy_defaults_name_their_source_and_keep_their_value(where, default):
    from simulation.scenario import schema

    model = getattr(schema, where[0])
    assert model.model_fields[where[1]].default == default  # documenting never changes a value
    doc = _field_docstrings().get(where, "")
    assert "ASSUMPTION" in doc or "RULES.md §" in doc or "seed 00" in doc, (where, doc)
    assert f"Default {default:g}" in doc, (where, doc)


def test_the_in_policy_share_docstring_reports_the_rules_figures():
    doc = _field_docstrings()[("LevelSeverity", "in_policy_mean")]
    assert "68.1%" in doc and "63% / 72% / 81%" in doc and "ASSUMPTION" in doc


def test_contract_defaults_are_the_seeds_figures():
    c = Contract()
    assert (c.profit_cap_rate, c.management_rate, c.term_years) == (0.03, 0.03, 3)


# ---------------------------------------------------------------- 6. the report's pricing targets


def test_report_targets_are_one_documented_table():
    assert REPORT_TARGETS == ReportTargets(
        margin=0.02, loss_probability=0.1, break_even_half_width_yuan=0.1
    )
    assert "illustrative" in (ReportTargets.__doc__ or "")
    with pytest.raises(AttributeError):
        REPORT_TARGETS.margin = 0.05  # type: ignore[misc]
    with pytest.raises(Exception, match="loss-prob"):
        ReportTargets(loss_probability=1.5)
    with pytest.raises(Exception, match="half-width"):
        ReportTargets(break_even_half_width_yuan=0.0)


def test_summary_has_no_inline_targets():
    tree = ast.parse(Path(summary_module.__file__).read_text())
    floats = {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is float
    }
    assert floats <= {0.0}, floats  # every target comes from REPORT_TARGETS
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}  # docstrings
    texts = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and type(n.value) is str and id(n) not in docs
    ]
    assert not any(t in x for x in texts for t in ("2% ", "10%", "+-0.1")), texts


@pytest.fixture(scope="module")
def layered_run():
    scenario = load_scenario(LAYERED)
    return scenario, run(scenario, paths=64, seed=6, years=2)


def test_pricing_summary_rows_are_unchanged(layered_run):
    scenario, res = layered_run
    df = pricing_summary(scenario, "serious_illness", res)
    rows = {m: (v, se) for m, v, se in zip(df["measure"], df["value"], df["se"], strict=True)}
    sample = claims_sample(res, "serious_illness")
    be = break_even_financing(sample)
    lp = financing_for_loss_probability(sample, 0.1)
    assert rows["financing for P(loss) <= 10%"] == (lp.value, lp.se)
    assert rows["paths for +-0.1 yuan (95%) on break-even"][0] == be.paths_needed(0.1)
    assert scenario.funds["serious_illness"].contract.profit_cap_rate == 0.03  # above 2%
    mg = financing_for_target_margin(sample, 0.02)
    assert rows["financing for a 2% expected margin"] == (mg.value, mg.se)


def test_pricing_summary_follows_other_targets(layered_run):
    scenario, res = layered_run
    targets = ReportTargets(margin=0.025, loss_probability=0.05, break_even_half_width_yuan=0.5)
    df = pricing_summary(scenario, "serious_illness", res, targets)
    measures = list(df["measure"])
    assert "financing for P(loss) <= 5%" in measures
    assert "paths for +-0.5 yuan (95%) on break-even" in measures
    cap = scenario.funds["serious_illness"].contract.profit_cap_rate
    assert ("financing for a 2.5% expected margin" in measures) == (cap > 0.025)
