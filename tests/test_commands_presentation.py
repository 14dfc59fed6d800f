"""Issue 19, the commands: --out for price/compare/sweep, sweep differences with their SE, a closed
pipe, true defaults in help texts, scheduled reports that keep the old one, and report --pdf."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.cli import main

ROOT = Path(__file__).parent.parent
LAYERED = ROOT / "tests" / "data" / "engine" / "layered.toml"
HENAN = ROOT / "scenarios" / "henan_supplementary_2019.toml"


def test_a_closed_pipe_ends_quietly_with_exit_0():
    # enough output to fill the pipe, read one line, close it (what `| head -1` does)
    cmd = [sys.executable, "-m", "simulation.cli", "validate", *[str(HENAN)] * 6]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout.readline().startswith(b"# ")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err


def test_compare_writes_csv_and_json_into_a_new_folder(tmp_path, capsys):
    variant = tmp_path / "richer.toml"
    variant.write_text(
        f'extends = "{LAYERED.as_posix()}"\nname = "richer"\n'
        "[funds.serious_illness]\nfinancing_per_head = { 2021 = 70 }\n",
        encoding="utf-8",
    )
    out = tmp_path / "a" / "b" / "cmp"  # missing parents are created, as run's --out does
    args = ["compare", str(LAYERED), str(variant), "--paths", "16", "--quiet", "--out", str(out)]
    assert main(args) == 0
    table = pd.read_csv(out / "compare.csv")
    records = json.loads((out / "compare.json").read_text())
    assert len(records) == len(table) > 0
    assert {"difference", "difference_se", "variant"} <= set(table.columns)
    assert records[0]["variant"] == "richer"
    capsys.readouterr()
    # an --out that cannot be a folder: one line, exit 2, before any run
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([*args[:-1], str(blocker / "sub")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_sweep_prints_differences_to_the_first_value_with_their_se(tmp_path, capsys):
    out = tmp_path / "new" / "sweep"
    param = "layers.serious_illness.bands[0].ratio"
    args = ["sweep", str(LAYERED), "--param", param, "--values", "0.5,0.6", "--paths", "16"]
    assert main([*args, "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"# difference to {param}=0.5 on the same paths, ± its standard error" in text
    table = pd.read_csv(out / "sweep.csv")
    first = table[table[param] == 0.5]
    assert (first["claims_diff"] == 0).all() and (first["claims_diff_se"] == 0).all()
    second = table[(table[param] == 0.6) & (table["fund"] == "serious_illness")]
    assert (second["claims_diff"] > 0).all() and (second["claims_diff_se"] > 0).all()
    # the difference is that of the two values' own means (common random numbers)
    means = table.pivot_table(index=["fund", "year"], columns=param, values="claims_mean")
    diff = (means[0.6] - means[0.5]).reset_index(name="d")
    merged = second.merge(diff, on=["fund", "year"])
    assert merged["claims_diff"].to_numpy() == pytest.approx(merged["d"].to_numpy())
    assert json.loads((out / "sweep.json").read_text())[0]["claims_diff"] == 0


def test_price_writes_csv_and_json(tmp_path, capsys):
    out = tmp_path / "p" / "price"
    args = ["price", str(LAYERED), "--fund", "serious_illness", "--target", "break-even"]
    assert main([*args, "--paths", "32", "--quiet", "--out", str(out)]) == 0
    doc = json.loads((out / "price.json").read_text())
    rows = pd.read_csv(out / "price.csv")
    assert doc["fund"] == "serious_illness" and list(rows.columns) == ["key", "value"]
    value = rows.set_index("key")["value"]["solution.value"]
    assert float(value) == pytest.approx(doc["solution"]["value"])


def test_help_states_the_true_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Monte Carlo paths (default 16)" in text and "(default 1000)" not in text
    for command in ("price", "compare", "sweep"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--out DIR" in capsys.readouterr().out


def test_a_scheduled_report_never_replaces_an_earlier_one(tmp_path, capsys):
    pattern = str(tmp_path / "reports" / "{scenario}" / "{month}")
    args = ["report", str(LAYERED), "--paths", "16", "--quiet", "--no-exact"]
    args += ["--cashflow-paths", "0", "--out", pattern]
    assert main(args) == 0
    month = next((tmp_path / "reports" / "layered").iterdir())
    first = (month / "index.html").read_bytes()
    assert main(args) == 0  # the same month again: written next to it, the first one kept
    folders = sorted(p.name for p in (tmp_path / "reports" / "layered").iterdir())
    assert folders == [month.name, f"{month.name}-2"]
    assert (month / "index.html").read_bytes() == first
    capsys.readouterr()
    assert main([*args, "--no-clobber"]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and err.count("\n") == 1
    assert len(list((tmp_path / "reports" / "layered").iterdir())) == 2


@pytest.mark.skipif(
    not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
    reason="no Chromium: run `make system-packages`",
)
def test_report_pdf_has_the_pages_and_text_of_the_report(tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "pdf"
    args = ["report", str(LAYERED), "--paths", "16", "--quiet", "--no-exact"]
    assert main([*args, "--cashflow-paths", "0", "--pdf", "--out", str(out)]) == 0
    reader = PdfReader(out / "report.pdf")
    # a section a page at least (summary, funds, insurer, pricing, claims, catastrophic,
    # comparison, methods)
    assert len(reader.pages) >= 8
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split())
    assert "Scenario report: layered" in text and "Key messages" in text
    assert "Glossary" in text and "needs 2,000 paths" in text


def test_report_pdf_without_chromium_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("FUNDSIM_CHROMIUM", raising=False)
    args = [
        "report",
        str(LAYERED),
        "--paths",
        "16",
        "--quiet",
        "--pdf",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "make system-packages" in err and not (tmp_path / "r").exists()
