"""Output folders: a folder that is not fundsim output is never replaced (its files are never
deleted); every check runs before the work; a previous fundsim output is replaced in one step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_checks import fails, listing

import simulation.outputs as outputs
from simulation.cli import main
from simulation.errors import FundsimError

ROOT = Path(__file__).parent.parent
LAYERED = str(ROOT / "tests" / "data" / "engine" / "layered.toml")


@pytest.fixture
def no_engine(monkeypatch):
    """Any simulation is a failure: the output checks must refuse before the work."""
    import simulation.commands.cashflow as cashflow_command
    import simulation.commands.report as report_command
    import simulation.commands.run as run_command

    def no_run(*a, **k):
        raise AssertionError("the paths ran before the --out check")

    monkeypatch.setattr(run_command, "run_engine", no_run)
    monkeypatch.setattr(report_command, "run_engine", no_run)
    monkeypatch.setattr("simulation.cashflow.simulate.run_cashflow", no_run)
    return cashflow_command


@pytest.fixture
def users_folder(tmp_path) -> Path:
    """A folder of a user's own files (not fundsim output)."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.docx").write_text("years of work")
    (folder / "sub").mkdir()
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return folder


def untouched(folder: Path) -> None:
    assert listing(folder) == ["sub", "thesis.docx"]
    assert (folder / "thesis.docx").read_text() == "years of work"
    assert (folder / "sub" / "data.csv").read_text() == "a,b\n1,2\n"
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------- 1. never delete


def test_run_refuses_a_folder_of_other_files_before_the_run(users_folder, capsys, no_engine):
    line = fails(
        capsys,
        ["run", LAYERED, "--paths", "4", "--quiet", "--out", str(users_folder)],
        "--out",
        "thesis.docx",
        "left untouched",
    )
    assert "fundsim output" in line
    untouched(users_folder)


def test_report_refuses_a_folder_of_other_files_before_the_run(users_folder, capsys, no_engine):
    fails(
        capsys,
        ["report", LAYERED, "--paths", "4", "--quiet", "--out", str(users_folder)],
        "--out",
        "left untouched",
    )
    untouched(users_folder)


def test_cashflow_refuses_a_folder_of_other_files_before_the_run(users_folder, capsys, no_engine):
    argv = ["cashflow", LAYERED, "--paths", "2", "--quiet", "--out", str(users_folder)]
    fails(capsys, argv, "--out", "left untouched")
    untouched(users_folder)


def test_out_scenarios_keeps_every_scenario_file(tmp_path, capsys, no_engine):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    text = Path(LAYERED).read_text()
    (scenarios / "layered.toml").write_text(text)
    argv = ["run", str(scenarios / "layered.toml"), "--paths", "4", "--quiet"]
    fails(capsys, [*argv, "--out", str(scenarios)], "--out", "layered.toml")
    assert listing(scenarios) == ["layered.toml"]
    assert (scenarios / "layered.toml").read_text() == text


def test_a_foreign_manifest_is_not_a_fundsim_output(tmp_path, capsys, no_engine):
    web = tmp_path / "web"
    web.mkdir()
    (web / "manifest.json").write_text(json.dumps({"name": "my web app", "icons": []}))
    fails(capsys, ["run", LAYERED, "--quiet", "--out", str(web)], "--out", "manifest.json")
    (web / "manifest.json").write_text("[1, 2]")
    fails(capsys, ["run", LAYERED, "--quiet", "--out", str(web)], "--out")
    (web / "manifest.json").write_text("not json {")
    fails(capsys, ["run", LAYERED, "--quiet", "--out", str(web)], "--out")
    assert listing(web) == ["manifest.json"]


def test_a_symlinked_manifest_is_not_a_fundsim_output(tmp_path, capsys, no_engine):
    elsewhere = tmp_path / "real_manifest.json"
    elsewhere.write_text(json.dumps({"fundsim_version": "0"}))
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "manifest.json").symlink_to(elsewhere)
    (folder / "notes.txt").write_text("keep")
    fails(capsys, ["run", LAYERED, "--quiet", "--out", str(folder)], "--out")
    assert (folder / "notes.txt").read_text() == "keep"


def test_a_previous_fundsim_output_and_an_empty_folder_are_replaced(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(["run", LAYERED, "--paths", "4", "--seed", "1", "--quiet", "--out", str(empty)]) == 0
    )
    assert "manifest.json" in listing(empty)
    assert (
        main(["run", LAYERED, "--paths", "6", "--seed", "2", "--quiet", "--out", str(empty)]) == 0
    )
    assert json.loads((empty / "manifest.json").read_text())["paths"] == 6
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    capsys.readouterr()


def test_the_api_refuses_a_folder_of_other_files(users_folder):
    with (
        pytest.raises(FundsimError, match="left untouched"),
        outputs.atomic_dir(users_folder) as tmp,
    ):
        raise AssertionError(f"the work started in {tmp}")
    untouched(users_folder)


def test_a_folder_filled_during_the_work_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(FundsimError, match="left untouched"), outputs.atomic_dir(out) as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"fundsim_version": "x"}))
        out.mkdir()  # someone else's folder appears while the run works
        (out / "theirs.txt").write_text("keep")
    assert listing(out) == ["theirs.txt"]
    assert listing(tmp_path) == ["out"]  # the temporary folder is gone


def test_the_api_never_replaces_a_file_by_a_folder(tmp_path):
    target = tmp_path / "results"
    target.write_text("a file")
    with pytest.raises(FundsimError, match="found a file"), outputs.atomic_dir(target):
        raise AssertionError("the work started")
    assert target.read_text() == "a file"
    assert listing(tmp_path) == ["results"]


def test_is_fundsim_output():
    assert not outputs.is_fundsim_output(ROOT / "scenarios")
    assert not outputs.is_fundsim_output(ROOT / "no such folder")
