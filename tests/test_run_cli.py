"""``fundsim run``: files written atomically, the summary printed, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from simulation.cli import main

LAYERED = str(Path(__file__).parent / "data" / "engine" / "layered.toml")


def test_run_writes_every_output_and_the_manifest(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", LAYERED, "--paths", "20", "--seed", "5", "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "categories.csv",
        "layers.csv",
        "manifest.json",
        "paths.parquet",
        "summary.csv",
        "summary.json",
    ]
    records = json.loads((out / "summary.json").read_text())
    assert {r["fund"] for r in records} == {"basic", "serious_illness"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["paths"] == 20
    assert len(manifest["scenario_sha256"]) == 64 and manifest["scenario"]["name"] == "layered"
    paths = pd.read_parquet(out / "paths.parquet")
    assert len(paths) == 20 * 2 * 2
    # the summary's claims mean is the mean of the per-path claims
    si = paths[(paths.fund == "serious_illness") & (paths.year == 2021)]
    rec = next(r for r in records if r["fund"] == "serious_illness" and r["year"] == 2021)
    assert abs(si["claims"].mean() - rec["claims_mean"]) < 1e-6
    assert "serious_illness" in capsys.readouterr().out


def test_failed_run_leaves_the_previous_output_untouched(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", LAYERED, "--paths", "4", "--out", str(out), "--quiet"]) == 0
    before = (out / "summary.json").read_text()
    bad = tmp_path / "bad.toml"
    base = LAYERED.replace("\\", "/")
    bad.write_text(f'extends = "{base}"\n[layers.basic.by_level.city]\nratio = 1.5\n')
    assert main(["run", str(bad), "--paths", "4", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        "bad.toml" in err and "layers.basic.by_level.city.ratio" in err and "Traceback" not in err
    )
    assert (out / "summary.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_threads_option_gives_the_same_results_and_is_recorded(tmp_path, capsys):
    outs = {}
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}"
        args = ["run", LAYERED, "--paths", "40", "--seed", "3", "--threads", threads]
        assert main([*args, "--out", str(out), "--quiet"]) == 0
        outs[threads] = out
    first, second = (pd.read_parquet(o / "paths.parquet") for o in outs.values())
    pd.testing.assert_frame_equal(first, second)
    runner = json.loads((outs["2"] / "manifest.json").read_text())["runner"]
    assert runner == "in-process, 2 threads"
    capsys.readouterr()


def test_bad_threads_option_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse's own usage error
        main(["run", LAYERED, "--threads", "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--threads" in err and "expected at least 1, found 0" in err
    assert main(["run", LAYERED, "--threads", "2", "--workers", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--threads sets the in-process runner's threads" in err
