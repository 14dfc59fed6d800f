"""Issue 19: a report a director can read (honest precision, key messages in sentences, glossary,
comparisons in percentage points, Chinese throughout)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from simulation import load_scenario
from simulation.engine.run import run
from simulation.report import build_report
from simulation.report.precision import bounded_probability, paths_needed, supports
from simulation.scenario import deep_merge, resolve_raw, validate_raw

ROOT = Path(__file__).parent.parent
LAYERED = ROOT / "tests" / "data" / "engine" / "layered.toml"


class Cells(HTMLParser):
    """Every table cell: its classes, data attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self._cell: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td":
            self._cell = {"class": a.get("class") or "", "text": ""}
            self._cell.update({k[5:]: v or "" for k, v in a.items() if k.startswith("data-")})

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None


def cells(html: str) -> list[dict[str, str]]:
    p = Cells()
    p.feed(html)
    return p.cells


@pytest.fixture(scope="module")
def runs16():
    base = load_scenario(LAYERED)
    raw, _ = resolve_raw(LAYERED)
    richer = validate_raw(
        deep_merge(
            raw,
            {"name": "richer", "funds": {"serious_illness": {"financing_per_head": {"2021": 70}}}},
        ),
        "richer (test)",
    )
    return run(base, paths=16, seed=7), run(richer, paths=16, seed=7)


@pytest.fixture(scope="module")
def report16(runs16):
    base, richer = runs16
    return build_report(base, [richer], lang="en", cashflow_paths=0)


# ------------------------------------------------------------------ 2. honest precision


def test_paths_needed_for_tail_measures():
    assert paths_needed(0.995) == 2000
    assert paths_needed(0.99) == 1000
    assert paths_needed(0.95) == paths_needed(0.05) == 200
    assert supports(0.995, 2000) and not supports(0.995, 1999)
    with pytest.raises(ValueError):
        paths_needed(1.0)


def test_bounded_probability_only_when_every_path_agrees():
    assert bounded_probability(0.0, 0.0, 16) == "< 1/16"
    assert bounded_probability(1.0, 0.0, 16) == "> 1 − 1/16"
    assert bounded_probability(0.25, 0.1, 16) is None
    assert bounded_probability(0.0, 0.0, 0) is None


def test_tail_measures_at_16_paths_are_greyed_with_the_paths_they_need(report16):
    found = {c["pricing"]: c for c in cells(report16.html) if "pricing" in c}
    tails = {m: c for m, c in found.items() if re.match(r"^T?VaR", m)}
    assert tails, "the pricing table has VaR/TVaR rows"
    for measure, c in tails.items():
        level = float(re.search(r"(\S+)%", measure)[1]) / 100
        assert "muted" in c["class"], measure
        assert c["text"] == f"needs {paths_needed(level):,} paths", measure
    # no 5-95% interval is printed from 16 paths: every bracket says what it needs
    html = report16.html
    assert "[5–95%: needs 200 paths]" in html
    layers = [c for c in cells(html) if "muted" in c["class"] and c["text"] == "needs 200 paths"]
    assert layers


def test_probabilities_every_path_agrees_on_show_as_bounds(report16):
    summary = [c for c in cells(report16.html) if c.get("measure") == "p_deficit"]
    assert summary
    for c in summary:
        value, se = float(c["value"]), float(c["se"])
        if se == 0 and value in (0.0, 1.0):
            assert c["text"] in ("< 1/16", "> 1 − 1/16"), c
            assert "100.0%" not in c["text"] and "0.0%" not in c["text"]
    assert any(c["text"].startswith(("< 1/16", "> 1 − 1/16")) for c in summary)
    p_loss = [c for c in cells(report16.html) if c.get("pricing", "").startswith("probability")]
    for c in p_loss:
        if float(c["se"]) == 0 or c["se"] == "nan":
            assert "±" not in c["text"]
