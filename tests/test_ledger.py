"""The ledger of forecasts: round trip, references, the diff of two scenarios, ``--against`` in the
report, and concurrent writers in separate processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.cli import main
from simulation.errors import FundsimError
from simulation.history.ledger import (
    QUANTILE_COLUMNS,
    Forecast,
    Ledger,
    default_ledger_path,
    diff_scenarios,
    forecast_values,
    movements,
)

BASE = Path(__file__).parent / "data" / "good" / "base.toml"


def fake_forecast(seed: int = 1, as_of: str = "2025-01-31", shift: float = 0.0, **kw) -> Forecast:
    rng = np.random.default_rng(seed)
    money = {
        m: rng.normal(1000.0 + shift, 50.0, size=(40, 2, 2))
        for m in ("claims", "insurer_result", "clawback", "balance", "premium", "subsidy")
    }
    return Forecast(
        scenario_name="s",
        scenario={"name": "s", "layers": {"a": {"bands": [{"from": 0, "ratio": 0.5}]}}},
        seed=seed,
        paths=40,
        years=2,
        method="monte_carlo",
        as_of=as_of,
        values=forecast_values(money, [2021, 2022], ["basic", "serious_illness"]),
        **kw,
    )


def test_round_trip(tmp_path):
    f = fake_forecast(output=str(tmp_path / "r1"), command="fundsim report x")
    with Ledger(tmp_path / "l.sqlite") as db:
        fid = db.record(f)
        back = db.get(fid)
    assert back.id == fid and back.created
    assert (back.scenario, back.seed, back.paths, back.years, back.method, back.as_of) == (
        f.scenario,
        f.seed,
        f.paths,
        f.years,
        f.method,
        f.as_of,
    )
    assert back.scenario_sha256 == f.scenario_sha256
    pd.testing.assert_frame_equal(back.values, f.values, check_dtype=False)
    assert set(back.values.columns) >= {"mean", "se", *QUANTILE_COLUMNS}
    # quantiles are the paths' quantiles, in order
    q = back.values[list(QUANTILE_COLUMNS)].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()


def test_find_last_date_id_and_folder(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as db:
        a = db.record(fake_forecast(1, "2025-01-31", output=str(tmp_path / "jan")))
        b = db.record(fake_forecast(2, "2025-02-28", output=str(tmp_path / "feb")))
        assert db.find("last").id == b
        assert db.find(f"#{a}").id == a
        assert db.find("2025-02-15").id == a  # the latest as of that date
        assert db.find("2025-03-01").id == b
        assert db.find(str(tmp_path / "jan")).id == a
        with pytest.raises(FundsimError, match="as of 2024-12-31 or before, found none"):
            db.find("2024-12-31")
        with pytest.raises(FundsimError, match="expected last, #N, a date"):
            db.find("nonsense")
        assert len(db.list()) == 2
        assert db.check() == "ok"


def test_diff_scenarios_by_key_path():
    a = {"name": "x", "layers": {"si": {"bands": [{"ratio": 0.5}, {"ratio": 0.6}], "cap": 1}}}
    b = {"name": "x", "layers": {"si": {"bands": [{"ratio": 0.5}, {"ratio": 0.65}]}}, "new": 2}
    changes = {c.path: (c.before, c.after) for c in diff_scenarios(a, b)}
    assert changes == {
        "layers.si.bands[1].ratio": (0.6, 0.65),
        "new": ("(absent)", 2),
        "layers.si.cap": (1, "(absent)"),
    }
    assert diff_scenarios(a, a) == []


def test_movements_are_differences_of_means():
    before, after = fake_forecast(1), fake_forecast(2, shift=100.0)
    m = movements(before, after)
    assert len(m) == 4 * 2 * 2  # headline measures x years x funds
    row = m[(m.fund == "basic") & (m.year == 2022) & (m.measure == "claims")].iloc[0]
    va, vb = before.values, after.values
    pick = (va.fund == "basic") & (va.year == 2022) & (va.measure == "claims")
    assert row.before == va[pick]["mean"].iloc[0]
    assert row.after == vb[pick]["mean"].iloc[0]
    assert row.change == pytest.approx(row.after - row.before)
    assert row.change == pytest.approx(100.0, abs=4 * row.change_se)


def test_default_ledger_beside_the_reports():
    assert default_ledger_path("reports/{scenario}/{date}") == Path("reports/fundsim-ledger.sqlite")
    assert default_ledger_path("out/r1") == Path("out/fundsim-ledger.sqlite")
    assert default_ledger_path("out/{date}-r") == Path("out/fundsim-ledger.sqlite")


def test_not_a_ledger_is_one_line(tmp_path):
    bad = tmp_path / "x.sqlite"
    bad.write_text("not a database " * 100)
    with pytest.raises(FundsimError, match=r"x.sqlite: ledger: not a fundsim ledger"):
        Ledger(bad)


WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_ledger import fake_forecast
    from simulation.history.ledger import Ledger
    start = float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.005)
    for i in range(int(sys.argv[3])):
        with Ledger(sys.argv[1]) as db:  # a fresh connection each time, as separate reports do
            db.record(fake_forecast(seed=i, output=sys.argv[4] + str(i)))
    """
)


def test_two_concurrent_writers_both_land(tmp_path):
    """Two processes write 25 forecasts each at the same moment: all 50 land, none is torn."""
    import time

    path = tmp_path / "ledger.sqlite"
    script = WRITER.format(tests=str(Path(__file__).parent))
    start = time.time() + 3.0
    n = 25
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(start), str(n), f"w{k}-"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with Ledger(path) as db:
        listed = db.list()
        assert db.check() == "ok"
        assert len(listed) == 2 * n
        assert sorted(listed["output"]) == sorted(f"w{k}-{i}" for k in range(2) for i in range(n))
        counts = db.db.execute(
            'SELECT forecast_id, COUNT(*) FROM "values" GROUP BY forecast_id'
        ).fetchall()
    assert len(counts) == 2 * n
    assert {c for _, c in counts} == {6 * 2 * 2}  # every forecast's rows, none lost


# --------------------------------------------------------------------------- through the CLI


def variant_file(tmp_path: Path, ratio: float) -> Path:
    """The base fixture with the serious illness layer's first band ratio changed."""
    text = textwrap.dedent(
        f"""
        extends = "{BASE.as_posix()}"
        [layers.serious_illness]
        bands = [
          {{ from = 10000, ratio = {ratio} }},
          {{ from = 20000, ratio = 0.6 }},
          {{ from = 30000, ratio = 0.7 }},
          {{ from = 50000, ratio = 0.8 }},
        ]
        """
    )
    p = tmp_path / f"variant_{ratio}.toml"
    p.write_text(text, encoding="utf-8")
    return p


REPORT = ["--paths", "16", "--seed", "7", "--no-exact", "--cashflow-paths", "0", "--quiet"]


def test_report_against_names_the_changed_key_path(tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    common = [*REPORT, "--ledger", str(ledger)]
    first = ["--out", str(tmp_path / "r1"), "--as-of", "2025-01-31"]
    assert main(["report", str(BASE), *common, *first]) == 0
    variant = variant_file(tmp_path, 0.55)
    out2 = tmp_path / "r2"
    assert (
        main(["report", str(variant), *common, "--out", str(out2), "--against", "2025-02-01"]) == 0
    )
    inputs = pd.read_csv(out2 / "against_inputs.csv", dtype=str)
    assert inputs["input"].tolist() == ["layers.serious_illness.bands[0].ratio"]
    assert (inputs["before"].iloc[0], inputs["after"].iloc[0]) == ("0.5", "0.55")
    moves = pd.read_csv(out2 / "against_movements.csv")
    s1 = pd.DataFrame(json.loads((tmp_path / "r1" / "summary.json").read_text()))
    s2 = pd.DataFrame(json.loads((out2 / "summary.json").read_text()))
    for measure in ("claims", "insurer_result", "clawback", "balance"):
        for r in moves[moves.measure == measure].itertuples():
            a = s1[(s1.fund == r.fund) & (s1.year == r.year)][f"{measure}_mean"].iloc[0]
            b = s2[(s2.fund == r.fund) & (s2.year == r.year)][f"{measure}_mean"].iloc[0]
            assert r.change == pytest.approx(b - a, rel=1e-9, abs=1e-6)
    claims = moves[moves.measure == "claims"].set_index(["fund", "year"])["change"]
    assert (claims.loc["basic"] == 0).all()  # common random numbers: the basic layer is untouched
    assert (claims.loc["serious_illness"] > 0).all()  # a higher ratio pays more
    page = (out2 / "index.html").read_text(encoding="utf-8")
    assert 'id="ledger"' in page and "layers.serious_illness.bands[0].ratio" in page
    with Ledger(ledger) as db:
        listed = db.list()
        assert len(listed) == 2 and listed["as_of"].iloc[0] == "2025-01-31"


def test_history_command_lists_and_compares(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite"
    with Ledger(ledger) as db:
        db.record(fake_forecast(1))
        db.record(fake_forecast(2, shift=10.0))
    assert main(["history", "--ledger", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert out.count("monte_carlo") == 2
    assert main(["history", "--ledger", str(ledger), "--show", "2", "--against", "1"]) == 0
    out = capsys.readouterr().out
    assert "seed" in out and "inputs that changed" in out


def test_history_without_a_ledger_is_one_line(tmp_path, capsys):
    assert main(["history", "--ledger", str(tmp_path / "none.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


@pytest.mark.slow
def test_two_concurrent_reports_both_land(tmp_path):
    """Two ``fundsim report`` processes at once on one ledger: both forecasts are recorded."""
    ledger = tmp_path / "ledger.sqlite"
    env = {**os.environ, "FUNDSIM_LEDGER": str(ledger), "FUNDSIM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "simulation.cli", "report", str(BASE), *REPORT,
             "--seed", str(k), "--out", str(tmp_path / f"r{k}")],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=900)
        assert p.returncode == 0, err
    with Ledger(ledger) as db:
        listed = db.list()
        assert db.check() == "ok"
    assert sorted(listed["seed"]) == [0, 1]
    assert sorted(Path(o).name for o in listed["output"]) == ["r0", "r1"]


def test_as_of_must_be_a_date(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["report", str(BASE), "--as-of", "January", "--out", str(tmp_path / "r")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected a date YYYY-MM-DD, found 'January'" in err
