"""Leaks and injection: outputs hold no absolute path of the machine (the executable, the scenario
as typed), and CSV cells a spreadsheet would run as formulas are escaped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.outputs import command_line, display_path, escape_formula, escape_formulas

ROOT = Path(__file__).parent.parent
LAYERED = (ROOT / "tests" / "data" / "engine" / "layered.toml").as_posix()
FUNDSIM = str(Path(sys.executable).parent / "fundsim")


def fundsim(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    out = subprocess.run([FUNDSIM, *argv], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> tuple[Path, Path]:
    """A report of a scenario named like a formula, given by its absolute path."""
    work = tmp_path_factory.mktemp("leaks")
    scenario = work / "in" / "formula.toml"
    scenario.parent.mkdir()
    scenario.write_text(f'extends = "{LAYERED}"\nname = "=HYPERLINK(\\"http://x\\")"\n')
    fundsim(
        work,
        "report",
        str(scenario),
        "--paths",
        "16",
        "--quiet",
        "--no-exact",
        "--cashflow-paths",
        "0",
        "--out",
        str(work / "rep"),
        "--log",
        str(work / "r.log"),
    )
    return work, work / "rep"


def machine_paths(work: Path) -> list[str]:
    return [str(work), str(Path(sys.executable).parent), str(ROOT)]


def test_the_report_holds_no_absolute_path(report_dir):
    work, rep = report_dir
    for name in ("manifest.json", "report.log", "index.html", "run_info.csv"):
        text = (rep / name).read_text(encoding="utf-8")
        for p in machine_paths(work):
            assert p not in text, (name, p)
    manifest = json.loads((rep / "manifest.json").read_text())
    assert manifest["command"].startswith("fundsim report in/formula.toml")
    assert manifest["scenario_files"] == ["in/formula.toml"]


def test_the_log_file_holds_no_absolute_path(report_dir):
    work, _ = report_dir
    text = (work / "r.log").read_text()
    assert "fundsim report in/formula.toml" in text
    assert FUNDSIM not in text and str(work) not in text


def test_a_formula_name_is_text_in_the_csv(report_dir):
    _, rep = report_dir
    info = pd.read_csv(rep / "run_info.csv")
    cells = [str(v) for v in info["value"]]
    assert '\'=HYPERLINK("http://x")' in cells
    assert not any(c.startswith("=") for c in cells)


def test_the_run_manifest_holds_no_absolute_path(tmp_path):
    fundsim(tmp_path, "run", LAYERED, "--paths", "4", "--quiet", "--out", str(tmp_path / "o"))
    text = (tmp_path / "o" / "manifest.json").read_text()
    for p in machine_paths(tmp_path):
        assert p not in text
    doc = json.loads(text)
    assert doc["command"] == "fundsim run layered.toml --paths 4 --quiet --out o"
    assert doc["scenario_file"] == "layered.toml"


@pytest.mark.parametrize(
    ("cell", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("-1,234", "-1,234"),
        ("-5.5%", "-5.5%"),
        ("plain", "plain"),
        (-3.0, -3.0),
    ],
)
def test_escape_formula(cell, escaped):
    assert escape_formula(cell) == escaped


def test_escape_formulas_keeps_numbers_and_escapes_headers():
    df = pd.DataFrame({"=h": ["=a", "b"], "n": [-1.0, 2.0]})
    out = escape_formulas(df)
    assert list(out.columns) == ["'=h", "n"] and list(out["'=h"]) == ["'=a", "b"]
    assert out["n"].tolist() == [-1.0, 2.0] and df["=h"].tolist() == ["=a", "b"]


def test_display_path_and_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s").mkdir()
    assert display_path(tmp_path / "s" / "x.toml") == "s/x.toml"
    assert display_path("/etc/elsewhere/y.toml") == "y.toml"
    argv = ["/home/someone/.venv/bin/fundsim", "run", str(tmp_path / "s" / "x.toml")]
    assert command_line(argv) == "fundsim run s/x.toml"
    assert os.sep + "someone" not in command_line(argv)
