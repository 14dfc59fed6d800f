"""Calibration to settled years: recovery of known levels, trends and factor sizes; the fragment is
a valid scenario; the command end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation.cli import main
from simulation.history.calibrate import calibrate, fit_component
from simulation.history.synthetic import TruePars, draw_history
from simulation.history.table import write_history
from simulation.scenario import load_scenario

ROOT = Path(__file__).parent.parent
ANKANG = ROOT / "scenarios" / "ankang_serious_illness.toml"
TRUE = TruePars(
    freq_level=0.08, freq_trend=0.03, freq_size=0.05, cost_level=-0.1, cost_trend=0.02,
    cost_size=0.04,
)  # fmt: skip


def test_gls_closed_form_without_factor():
    """With s = 0 forced by exact data, the fit is the weighted least squares line."""
    k = np.arange(6.0)
    y = 0.1 + 0.02 * k
    c = fit_component("x", k + 2016, k, y, np.full(6, 1e-4))
    assert c.level == pytest.approx(0.1, abs=1e-12)
    assert c.trend == pytest.approx(0.02, abs=1e-12)
    assert c.size == pytest.approx(0.0, abs=1e-3)
    # SE of the slope = sqrt(v / Sxx)
    assert c.se[1] == pytest.approx(np.sqrt(1e-4 / np.sum((k - k.mean()) ** 2)), rel=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovers_levels_and_trends_within_4_se(seed):
    s = load_scenario(ANKANG)
    cal = calibrate(s, draw_history(s, "basic", 20, TRUE, seed), "basic")
    for comp, (a, b, sz) in zip(
        cal.components(),
        [(TRUE.freq_level, TRUE.freq_trend, TRUE.freq_size),
         (TRUE.cost_level, TRUE.cost_trend, TRUE.cost_size)],
        strict=True,
    ):  # fmt: skip
        se = comp.se
        assert abs(comp.level - a) < 4 * se[0], (comp.name, comp.level, a, se)
        assert abs(comp.trend - b) < 4 * se[1], (comp.name, comp.trend, b, se)
        # a scale parameter: judged on the log scale, SE(log s) = SE(s) / s (delta method)
        assert abs(np.log(comp.size / sz)) < 4 * se[2] / comp.size, (comp.name, comp.size, sz, se)


@pytest.mark.slow
def test_reported_se_matches_the_spread_over_replications():
    s = load_scenario(ANKANG)
    fits = [calibrate(s, draw_history(s, "basic", 12, TRUE, seed), "basic") for seed in range(300)]
    for i, name in enumerate(("frequency", "cost")):
        trends = np.array([f.components()[i].trend for f in fits])
        ses = np.array([f.components()[i].se[1] for f in fits])
        # the SD of the estimates matches the mean reported SE within 15% (300 replications)
        assert np.std(trends) == pytest.approx(np.mean(ses), rel=0.15), name
        level = np.array([f.components()[i].level for f in fits])
        assert np.std(level) == pytest.approx(
            np.mean([f.components()[i].se[0] for f in fits]), rel=0.15
        )


def test_fragment_is_a_valid_scenario_and_the_command_writes_it(tmp_path, capsys):
    s = load_scenario(ANKANG)
    h = draw_history(s, "basic", 6, TRUE, 5)
    hist = tmp_path / "h.csv"
    write_history(h.frame, hist)
    frag = tmp_path / "frag.toml"
    fit_table = tmp_path / "new" / "fit.csv"  # a missing folder is created like run's
    code = main(
        ["calibrate", str(ANKANG), "--history", str(hist), "--out", str(frag),
         "--fit-table", str(fit_table), "--figure", str(tmp_path / "fit.png")]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "goodness of fit" in out and "std_residual" in out
    assert (tmp_path / "fit.png").read_bytes()[:4] == b"\x89PNG"
    assert "std_residual" in fit_table.read_text()
    variant = tmp_path / "calibrated.toml"
    variant.write_text(f'extends = "{ANKANG.as_posix()}"\n' + frag.read_text(), encoding="utf-8")
    cal_s = load_scenario(variant)
    assert cal_s.systematic.enabled
    cal = calibrate(s, h, "basic")
    # the calibrated scenario expects what the fit says
    from simulation.history.expected import expected_aggregates

    e0 = expected_aggregates(s, "basic", 2016)["admissions"].iloc[0]
    e1 = expected_aggregates(cal_s, "basic", 2016)["admissions"].iloc[0]
    assert e1 / e0 == pytest.approx(cal.frequency.mean_multiplier, rel=1e-5)
    c0 = expected_aggregates(s, "basic", 2018)["cost_per_admission"].iloc[2]
    c1 = expected_aggregates(cal_s, "basic", 2018)["cost_per_admission"].iloc[2]
    assert c1 / c0 == pytest.approx(cal.cost.mean_multiplier * np.exp(2 * cal.cost.trend), rel=1e-4)


def test_gaps_are_used_and_said(tmp_path):
    s = load_scenario(ANKANG)
    h = draw_history(s, "basic", 6, TRUE, 7)
    h.frame.loc[2, "total_cost"] = np.nan
    cal = calibrate(s, h, "basic")
    assert len(cal.frequency.years) == 6 and len(cal.cost.years) == 5
    assert any("cost: no total_cost in 2018" in n for n in cal.notes)


def test_bad_history_through_the_command_is_one_line(tmp_path, capsys):
    hist = tmp_path / "h.csv"
    hist.write_text("fund,year,admissions\nbasic,2016,-3\n", encoding="utf-8")
    code = main(
        ["calibrate", str(ANKANG), "--history", str(hist), "--out", str(tmp_path / "f.toml")]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "admissions: expected a number at least 0" in err
    assert not (tmp_path / "f.toml").exists()


def test_national_data_set_calibrates_and_says_its_gaps(tmp_path):
    from simulation.history.national import national_history

    h = national_history("residents")
    assert h.frame["year"].tolist() == list(range(2018, 2024))
    assert np.isnan(h.frame["total_cost"].iloc[0])  # 2018 residents' inpatient cost: not published
    assert h.frame["insured"].iloc[3] == pytest.approx(100865.9e4)
    s = load_scenario(ROOT / "scenarios" / "national_residents_2018.toml")
    cal = calibrate(s, h, "basic")
    assert cal.notes == ["cost: no total_cost in 2018 (not used)"]
    assert cal.frequency.years.tolist() == list(range(2018, 2024))
    # the fragment is a valid scenario
    from simulation.history.fragment import to_fragment

    frag = to_fragment(cal, s, "national.csv")
    variant = tmp_path / "v.toml"
    path = (ROOT / "scenarios" / "national_residents_2018.toml").as_posix()
    variant.write_text(f'extends = "{path}"\n' + frag, encoding="utf-8")
    assert load_scenario(variant).systematic.frequency


@pytest.mark.slow
def test_recovers_the_engines_systematic_factors(tmp_path):
    """Histories drawn by the engine with systematic risk on (lognormal frequency and cost
    factors of known CV, no trend): the calibration recovers the log levels (-s^2/2), the trends
    (0) and the sizes ``s = sqrt(log(1 + cv^2))`` within 4 SE of their mean over 48 paths, and the
    reported SEs match the spread of the estimates."""
    from simulation.engine.run import run
    from simulation.history.table import History

    base = ROOT / "tests" / "data" / "good" / "base.toml"
    cvs = {"frequency": 0.10, "cost": 0.06}
    path = tmp_path / "systematic.toml"
    path.write_text(
        f'extends = "{base.as_posix()}"\nhorizon_years = 14\n[systematic]\nenabled = true\n'
        + "".join(
            f'[systematic.{k}.inpatient]\ncv = {cv}\nsource = "test"\n' for k, cv in cvs.items()
        ),
        encoding="utf-8",
    )
    s = load_scenario(path)
    r = run(s, paths=48, seed=11)
    years = np.array(r.years)
    insured = [y.insured["basic"] for y in r.plan.years]
    fits = []
    for p in range(r.n_paths):
        frame = __import__("pandas").DataFrame(
            {"line": 2 + np.arange(len(years)), "fund": "basic", "year": years,
             "category": "all", "hospital_level": "all", "insured": insured,
             "admissions": r.sims["admissions"][p, :, 0],
             "total_cost": r.sims["total_cost"][p, :, 0]}
        )  # fmt: skip
        fits.append(calibrate(s, History("engine", frame), "basic"))
    for i, (name, cv) in enumerate(cvs.items()):
        size = np.sqrt(np.log1p(cv**2))
        est = np.array(
            [
                [f.components()[i].level, f.components()[i].trend, f.components()[i].size]
                for f in fits
            ]
        )
        ses = np.array([f.components()[i].se for f in fits])
        truth = np.array([-(size**2) / 2, 0.0, size])
        spread = est.std(axis=0, ddof=1)
        assert (np.abs(est.mean(axis=0) - truth) < 4 * spread / np.sqrt(len(fits))).all(), (
            name,
            est.mean(axis=0),
            truth,
        )
        # reported SEs of level and trend against the spread of the estimates (48 paths: +-35%)
        assert np.mean(ses[:, :2], axis=0) == pytest.approx(spread[:2], rel=0.35), name
