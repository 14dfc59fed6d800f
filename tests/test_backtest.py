"""Back-test: with the model right, PITs are uniform and the 90% interval covers about 90%; with a
trend break injected, the PITs pile at the top."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation.cli import main
from simulation.history.backtest import Predictive, backtest, summarise
from simulation.history.synthetic import TruePars, draw_history
from simulation.history.table import write_history
from simulation.scenario import load_scenario

ANKANG = Path(__file__).parent.parent / "scenarios" / "ankang_serious_illness.toml"
TRUE = TruePars(freq_trend=0.02, freq_size=0.05, cost_trend=0.03, cost_size=0.04)


def test_crps_of_a_normal_matches_the_closed_form():
    p = Predictive(0.1, 0.2, float("inf"))
    y = 0.35
    z = (y - 0.1) / 0.2
    closed = 0.2 * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    assert p.crps(y) == pytest.approx(closed, rel=1e-6)


def test_backtest_table_and_summary():
    s = load_scenario(ANKANG)
    scores = backtest(s, draw_history(s, "basic", 8, TRUE, 3), "basic")
    # origins 2017..2022 (years from the third on), horizons up to 3 where the target exists
    h1 = scores[(scores.component == "frequency") & (scores.horizon == 1)]
    assert h1["year"].tolist() == list(range(2018, 2024))
    assert (h1["train_years"] == np.arange(2, 8)).all()
    q = scores[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert (np.diff(q, axis=1) > 0).all()
    summ = summarise(scores)
    assert set(summ["horizon"]) == {1, 2, 3}


def pits(pars: TruePars, seeds, n_years: int = 10) -> pd.DataFrame:
    s = load_scenario(ANKANG)
    out = [
        backtest(
            s, draw_history(s, "basic", n_years, pars, seed), "basic", min_train=4, horizons=(1,)
        )
        for seed in seeds
    ]
    return pd.concat(out, ignore_index=True)


@pytest.mark.slow
def test_pits_uniform_and_90_coverage_when_the_model_is_right():
    scores = pits(TRUE, range(60))
    for comp in ("frequency", "cost"):
        p = scores[scores.component == comp]["pit"].to_numpy()
        # origins of one history share their past: test one forecast per history for independence
        last = scores[scores.component == comp].groupby(np.arange(len(p)) // 6).tail(1)["pit"]
        assert stats.kstest(last, "uniform").pvalue > 0.01, comp  # KS at the 1% level
        cover = np.mean((p >= 0.05) & (p <= 0.95))
        n = len(p)
        assert abs(cover - 0.9) < 4 * np.sqrt(0.09 / n), (comp, cover)


def test_trend_break_piles_pits_at_the_top():
    broken = TruePars(freq_trend=0.02, freq_size=0.02, cost_size=0.02, break_year=2022)
    scores = pits(broken, range(5), n_years=9)
    after = scores[(scores.component == "frequency") & (scores.year >= 2023)]
    assert after["pit"].mean() > 0.85
    before = scores[(scores.component == "frequency") & (scores.year < 2022)]
    assert before["pit"].mean() < 0.8


def test_backtest_command(tmp_path, capsys):
    s = load_scenario(ANKANG)
    hist = tmp_path / "h.csv"
    write_history(draw_history(s, "basic", 7, TRUE, 2).frame, hist)
    out = tmp_path / "scores" / "bt.csv"  # a missing folder is created like run's
    fig = tmp_path / "fan.png"
    assert (
        main(
            [
                "backtest",
                str(ANKANG),
                "--history",
                str(hist),
                "--out",
                str(out),
                "--figure",
                str(fig),
            ]
        )
        == 0
    )
    assert "coverage90" in capsys.readouterr().out
    assert len(pd.read_csv(out)) > 0 and fig.read_bytes()[:4] == b"\x89PNG"


def test_report_with_history_has_a_backtest_section(tmp_path):
    base = Path(__file__).parent / "data" / "good" / "base.toml"
    s = load_scenario(base)
    hist = tmp_path / "h.csv"
    write_history(draw_history(s, "basic", 6, TRUE, 4).frame, hist)
    out = tmp_path / "r"
    args = ["--paths", "8", "--no-exact", "--cashflow-paths", "0", "--quiet", "--no-ledger"]
    assert main(["report", str(base), *args, "--out", str(out), "--history", str(hist)]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="backtest"' in page and "90% coverage" in page
    summary = pd.read_csv(out / "backtest_summary.csv")
    assert set(summary["component"]) == {"frequency", "cost"}


def test_report_with_a_bad_history_fails_before_the_runs(tmp_path, capsys):
    base = Path(__file__).parent / "data" / "good" / "base.toml"
    hist = tmp_path / "h.csv"
    hist.write_text("fund,year,admissions\nbasic,2021,lots\n", encoding="utf-8")
    out = tmp_path / "r"
    args = ["--paths", "8", "--no-exact", "--cashflow-paths", "0", "--quiet"]
    assert main(["report", str(base), *args, "--out", str(out), "--history", str(hist)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "admissions: expected a number" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [hist]
