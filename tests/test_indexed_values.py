"""Policy values indexed to an economic series (issue: seeds 003/004, item 1): hand-worked years,
the identity with the series for any series and share (property), and one-line errors."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scenario_variants import base_raw

from simulation.errors import ScenarioError
from simulation.params import Dated
from simulation.rules.layers import compile_layer
from simulation.scenario import load_scenario, validate_raw
from simulation.scenario.indexed import resolve_index

ROOT = Path(__file__).parent.parent
HENAN = ROOT / "scenarios" / "henan_supplementary_2019.toml"


def _indexed(raw: dict, index: dict, series: dict) -> dict:
    raw.setdefault("economy", {})["series"] = series
    layer = raw["layers"]["serious_illness"]
    layer["deductible"] = index
    return raw


def test_an_indexed_threshold_in_two_years_of_income_growth():
    """Income 20,000 in 2018 growing 10% a year; threshold 50% of the previous year's income:
    2019: 0.5 x 20,000 = 10,000; 2020: 0.5 x 22,000 = 11,000 (and the bands move with it)."""
    raw = base_raw()
    start = raw["start_year"]
    series = {"disposable_income": {"rural": {str(start - 1): 20000, "growth": 0.1}}}
    index = {"share": 0.5, "of": "disposable_income.rural", "lag": 1}
    s = validate_raw(_indexed(raw, index, series), "x.toml")
    d = s.layers["serious_illness"].deductible
    assert d.at(start) == pytest.approx(10000.0, abs=1e-6)
    assert d.at(start + 1) == pytest.approx(11000.0, abs=1e-6)
    cats = tuple(s.categories)
    first = s.layers["serious_illness"].bands[0].from_yuan
    for year, want in ((start, 10000.0), (start + 1, 11000.0)):
        lay = compile_layer("serious_illness", s.layers["serious_illness"], cats, year)
        ordinary = cats.index("ordinary") if "ordinary" in cats else 0
        assert lay.lower[ordinary, 0, 0] == pytest.approx(want, abs=1e-6)
        # band widths kept: the second band starts as far above as it was written
        if lay.lower.shape[2] > 1:
            gap = s.layers["serious_illness"].bands[1].from_yuan - first
            assert lay.lower[ordinary, 0, 1] == pytest.approx(want + gap, abs=1e-6)


def test_the_henan_assistance_deductible_is_ten_percent_of_rural_income():
    s = load_scenario(HENAN)
    income = s.economy.series["disposable_income"]["rural"]
    d = s.layers["assistance"].preferential["registered_poor"].deductible
    for year in range(s.start_year, s.start_year + 6):
        assert d.at(year) == pytest.approx(0.1 * income.at(year), abs=1e-6)
    assert d.at(2019) == pytest.approx(1516.4)  # 10% of 15,164 yuan (the 2019 bulletin)


@given(
    values=st.lists(st.floats(100, 1e6), min_size=1, max_size=4),
    first=st.integers(1995, 2030),
    growth=st.one_of(st.none(), st.floats(-0.5, 0.5)),
    share=st.floats(0, 2),
    lag=st.integers(0, 3),
    offset=st.integers(0, 20),
)
def test_an_index_equals_share_times_the_lagged_series(values, first, growth, share, lag, offset):
    raw = {str(first + 2 * i): v for i, v in enumerate(values)}
    if growth is not None:
        raw["growth"] = growth
    series = Dated.parse(raw)
    resolved = Dated.parse(
        resolve_index({"share": share, "of": "x", "lag": lag}, series, ("k",), first + lag)
    )
    year = first + lag + offset
    want = share * series.at(year - lag)
    # each listed value is rounded to 1e-6 yuan (error <= 5e-7); growth beyond the last listed
    # year carries that error forward in proportion to the value, at most value / min(values)
    carried = max(1.0, abs(series.at(year - lag)) / min(values))
    assert math.isclose(resolved.at(year), want, rel_tol=1e-9, abs_tol=1e-6 * carried)


@pytest.mark.parametrize(
    ("index", "series", "where", "words"),
    [
        (
            {"share": 0.5, "of": "disposable_income.rurl"},
            {"disposable_income": {"rural": 20000}},
            "layers.serious_illness.deductible.of",
            ["unknown series 'disposable_income.rurl'", "did you mean 'disposable_income.rural'"],
        ),
        (
            {"share": -0.5, "of": "income"},
            {"income": 20000},
            "layers.serious_illness.deductible.share",
            ["expected a share of the series from 0 to 10, found -0.5"],
        ),
        (
            {"share": 0.5, "of": "income", "lag": 3},
            {"income": {"START": 20000}},
            "layers.serious_illness.deductible.lag",
            ["income starts in", "with lag 3", "after the scenario's first year"],
        ),
        (
            {"share": 0.5, "of": "income", "lag": 1.5},
            {"income": 20000},
            "layers.serious_illness.deductible.lag",
            ["expected a lag of 0 to 10 whole years, found 1.5"],
        ),
        (
            {"of": "income"},
            {"income": 20000},
            "layers.serious_illness.deductible",
            ["needs a 'share'"],
        ),
        (
            {"share": 0.5, "of": "income"},
            {"income": {"2015": -3}},
            "economy.series.income.2015",
            ["expected a series value of at least 0", "found -3"],
        ),
        (
            {"share": 0.5, "of": "income"},
            {},
            "layers.serious_illness.deductible.of",
            ["unknown series 'income'", "add an [economy.series] table"],
        ),
    ],
    ids=["unknown", "negative share", "lag before start", "lag not whole", "no share",
         "negative series", "no series"],
)  # fmt: skip
def test_a_wrong_index_is_one_line(index, series, where, words):
    raw = base_raw()
    series = {
        k: ({str(raw["start_year"] - 1): v["START"]} if isinstance(v, dict) and "START" in v else v)
        for k, v in series.items()
    }
    with pytest.raises(ScenarioError) as e:
        validate_raw(_indexed(raw, index, series), "x.toml")
    message = str(e.value)
    assert message.startswith(f"x.toml: {where}: "), message
    for w in words:
        assert w in message, (w, message)
    assert "\n" not in message


def test_validate_says_it_in_one_line_and_exits_2(tmp_path):
    text = HENAN.read_text().replace(
        'of = "disposable_income.rural", lag = 0', 'of = "disposable_income.urban", lag = 0'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "simulation.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "unknown series 'disposable_income.urban'" in done.stderr
