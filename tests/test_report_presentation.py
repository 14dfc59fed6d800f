"""Issue 19: a report a director can read (honest precision, key messages in sentences, glossary,
comparisons in percentage points, Chinese throughout)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
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
            {
                "name": "richer",
                "funds": {"serious_illness": {"financing_per_head": {"2021": 70}}},
                "layers": {
                    "serious_illness": {
                        "bands": [{"from": 8000, "ratio": 0.6}, {"from": 30000, "ratio": 0.8}]
                    }
                },
            },
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


# ------------------------------------------------------------------ 1. director summary


def key_message_items(html: str) -> list[str]:
    block = html.split('<ul class="key-messages">', 1)[1].split("</ul>", 1)[0]
    return [re.sub(r"<[^>]+>", "", li) for li in block.split("<li>")[1:]]


def test_summary_opens_with_key_messages_in_sentences_with_numbers(report16, runs16):
    base, _ = runs16
    html = report16.html
    summary = html.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    assert "Key messages" in summary and summary.index("key-messages") < summary.index("<table")
    items = key_message_items(html)
    assert len(items) == len(base.plan.funds) + 1  # one per fund and one for the population
    insurer = [i for i in items if i.startswith("Serious illness fund")]
    assert len(insurer) == 1
    text = insurer[0]
    for words in ("expected claims", "financing", "result", "chance of a loss", "clawback"):
        assert words in text, (words, text)
    assert re.search(r"\d[\d,]*(\.\d+)?", text) and text.endswith(".")
    assert "catastrophic out-of-pocket cost" in items[-1] and "%" in items[-1]
    # the numbers are the run's: expected claims over both years in the money unit
    kf = report16.tables["key_figures"]
    row = kf[(kf["fund"] == "serious_illness") & (kf["measure"] == "claims")].iloc[0]
    assert row["mean"] == pytest.approx(base.money["claims"][:, :, 1].sum(axis=1).mean())


def test_every_term_links_to_a_glossary_entry_in_both_languages(report16, runs16):
    from simulation.report.i18n import Translator
    from simulation.report.keyfacts import GLOSSARY_TERMS

    html = report16.html
    linked = set(re.findall(r'href="#g-(\w+)"', html))
    defined = set(re.findall(r'<dt id="g-(\w+)">', html))
    assert {"claims", "financing", "p_loss", "clawback", "deficit"} & linked
    assert linked <= defined == set(GLOSSARY_TERMS)
    assert 'id="glossary"' in html.split('<section id="methods">', 1)[1]
    en, zh = Translator("en"), Translator("zh")
    for term in GLOSSARY_TERMS:
        assert en(f"gdef_{term}") != zh(f"gdef_{term}")
        assert re.search(r"[\u4e00-\u9fff]", zh(f"gdef_{term}")), term
    # "deficit" is defined, and says it is about the year, not the accumulated balance
    assert "whatever the accumulated balance" in en("gdef_deficit")


def test_a_fund_without_insurer_says_what_its_balance_means_from_the_scenario(runs16):
    base = load_scenario(LAYERED)
    raw, _ = resolve_raw(LAYERED)
    note = "Its deficit is the cross-subsidy the roster receives."
    noted = validate_raw(
        deep_merge(
            raw, {"funds": {"basic": {"balance_note": note, "balance_note_zh": "交叉补贴。"}}}
        ),
        "noted (test)",
    )
    assert base.funds["basic"].balance_note is None  # an optional field
    r = run(noted, paths=16, seed=7)
    html = build_report(r, [], lang="en", cashflow_paths=0, exact=False).html
    assert f'<tr class="row-note"><td colspan="3">What the balance means: {note}</td></tr>' in html
    assert note in key_message_items(html)[0]
    zh = build_report(r, [], lang="zh", cashflow_paths=0, exact=False).html
    assert "结余的含义: 交叉补贴。" in zh
    # without a note the message defines the fund's deficit itself
    plain_html = build_report(runs16[0], [], lang="en", cashflow_paths=0, exact=False).html
    assert "No insurer runs this fund" in key_message_items(plain_html)[0]


# ------------------------------------------------------------------ 3. comparisons


def test_probability_differences_are_in_percentage_points(report16):
    comparison = [c for c in cells(report16.html) if "variant" in c and "se" in c]
    probs = [c for c in comparison if c["measure"] in ("p_deficit", "catastrophic_share")]
    assert probs
    for c in probs:
        d = float(c["value"])
        assert c["text"].split(" ±")[0].endswith(" pp"), c
        assert c["text"].startswith("+" if d >= 0 else "-"), c
        shown = float(c["text"].split(" pp")[0])
        decimals = len(c["text"].split(" pp")[0].split(".")[1])
        assert abs(shown - 100 * d) <= 0.5 * 10.0**-decimals + 1e-9, c


def test_relative_change_only_against_a_material_base():
    import pandas as pd

    from simulation.report.compare import material_relative_change

    rows = [
        # variant, fund, measure, period, base_mean, relative_change
        ("v", "f", "premium", "2021", 1_000_000.0, 0.10),
        ("v", "f", "claims", "2021", 800_000.0, 0.05),
        ("v", "f", "clawback", "2021", 500.0, 8.198),  # 0.05% of financing: not material
        ("v", "f", "p_deficit", "2021", 0.20, 0.25),  # a probability: pp, never relative
        ("v", "population", "catastrophic_share", "2021", 0.04, 0.1),
    ]
    df = pd.DataFrame(
        rows, columns=["variant", "fund", "measure", "period", "base_mean", "relative_change"]
    )
    rel = material_relative_change(df)
    assert rel.tolist()[:2] == [0.10, 0.05]
    assert rel.iloc[2:].isna().all()


def test_what_changed_most_is_sorted_on_one_scale(report16):
    from simulation.report.compare import what_changed_most

    comparison = report16.tables["comparison"]
    horizon = "2021-2022"
    top = what_changed_most(comparison, horizon)
    assert not top.empty and "premium" not in set(top["measure"])
    impact = top["impact_pp"].abs().to_numpy()
    assert (impact[:-1] >= impact[1:]).all()
    # a money change is in points of the fund's financing
    r = top[top["measure"] == "claims"].iloc[0]
    fin = comparison[
        (comparison["measure"] == "premium")
        & (comparison["fund"] == r["fund"])
        & (comparison["period"] == horizon)
    ]["base_mean"].iloc[0]
    assert r["impact_pp"] == pytest.approx(100 * r["difference"] / fin)
    html = report16.html
    assert 'id="table-changed-most"' in html and "What changed most" in html
    assert html.index("table-changed-most") < html.index('id="table-comparison"')


# ------------------------------------------------------------------ 5. workbook


@pytest.fixture(scope="module")
def workbooks(report16, runs16, tmp_path_factory):
    from openpyxl import load_workbook

    from simulation.report import write_report

    base, richer = runs16
    zh = build_report(base, [richer], lang="zh", cashflow_paths=0)
    folder = tmp_path_factory.mktemp("wb")
    en_dir = write_report(report16, folder / "en")
    zh_dir = write_report(zh, folder / "zh")
    return load_workbook(en_dir / "report.xlsx"), load_workbook(zh_dir / "report.xlsx"), report16


def test_workbook_has_formats_units_tables_and_frozen_headers(workbooks):
    en, _, report = workbooks
    assert en.sheetnames[0] == "overview"
    ws = en["director_summary"]
    headers = [c.value for c in ws[1]]
    assert "mean (10k yuan, %)" in headers and "year" in headers
    assert ws.freeze_panes == "A2"
    assert ws.tables and list(ws.tables.values())[0].ref.startswith("A1:")
    col = {h: i for i, h in enumerate(headers)}
    director = report.tables["director_summary"]
    for row, r in zip(ws.iter_rows(min_row=2), director.itertuples(), strict=True):
        year, mean = row[col["year"]], row[col["mean (10k yuan, %)"]]
        assert isinstance(year.value, int) and year.number_format == "0"
        if r.measure in ("p_deficit", "catastrophic_share"):
            assert mean.number_format in ("0.0%", "0.00%") and mean.value == pytest.approx(r.mean)
        else:  # money in the page's unit, with thousands separators
            assert mean.number_format == "#,##0.0"
            assert mean.value == pytest.approx(r.mean / 10_000)
    widths = [ws.column_dimensions[c].width for c in "ABCDEFG"]
    assert all(w and w >= 8 for w in widths)
    # seed and paths are numbers, not text
    info = {r[0].value: r[1].value for r in en["run_info"].iter_rows(min_row=2)}
    assert info["Seed"] == 7 and info["Paths"] == 16
    # the summary sheet opens with the key messages, then the table by year
    ov = en["overview"]
    assert ov["A1"].value.startswith("Basic fund, 2021-2022: expected claims")
    assert [c.value for c in ov[ov.max_row - ov.max_row + len(report.workbook.messages) + 2]][
        :2
    ] == [
        "fund",
        "measure",
    ]


def test_workbook_in_chinese_has_chinese_sheet_names_and_headers(workbooks):
    _, zh, _ = workbooks
    assert "决策摘要表" in zh.sheetnames and "摘要" == zh.sheetnames[0]
    headers = [c.value for c in zh["决策摘要表"][1]]
    assert "均值 (万元, %)" in headers and "年度" in headers
    for name in zh.sheetnames:
        for h in zh[name][1 if name != "摘要" else 5]:
            if isinstance(h.value, str):
                assert not re.search(r"\b(mean|fund|year|claims)\b", h.value), (name, h.value)


# ------------------------------------------------------------------ 6. Chinese everywhere


class Visible(HTMLParser):
    """The text a reader sees (the resolved scenario's TOML and inline code left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.lines: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("pre", "style", "script", "code")

    def handle_endtag(self, tag):
        self.skip -= tag in ("pre", "style", "script", "code")

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.lines.append(data.strip())


ALLOWED_LATIN = re.compile(
    r"`[^`]*`|\b[0-9a-f]{40,64}\b|fundsim|T?VaR|PIT|CRPS|Git|SHA-256|TOML|CSV|\b\w+\.(?:csv|xlsx)\b|\bpp\b"
)


def english_left(html: str, identifiers: tuple[str, ...]) -> list[str]:
    """Every visible line of a Chinese page that still holds an English word (3+ letters), after
    the allowed names (hashes, fundsim, VaR/TVaR, file formats, the scenario's identifiers)."""
    p = Visible()
    p.feed(html)
    left = []
    for line in p.lines:
        rest = ALLOWED_LATIN.sub("", line)
        for ident in identifiers:
            rest = rest.replace(ident, "")
        if re.search(r"[A-Za-z]{3,}", rest):
            left.append(line)
    return left


def workbook_english_left(path: Path, identifiers: tuple[str, ...]) -> list[str]:
    """Every text cell of a workbook (sheet names and headers included) that still holds an
    English word, as :func:`english_left` judges a page's lines."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    left = []
    for ws in wb.worksheets:
        texts = [ws.title] + [
            c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)
        ]
        for text in texts:
            rest = ALLOWED_LATIN.sub("", text)
            for ident in identifiers:
                rest = rest.replace(ident, "")
            if re.search(r"[A-Za-z]{3,}", rest):
                left.append(f"{ws.title}: {text}")
    return left


def since_and_backtest_sections(s, r, tmp_path):
    """The zh "since the earlier forecast" section (against a forecast with another seed and one
    scenario value changed) and the back-test section, with their tables, as ``fundsim report
    --against ... --history ...`` adds them."""
    import io

    from simulation.commands.backtest import fan_figure
    from simulation.commands.history import scenario_names_of
    from simulation.history.backtest import backtest, summarise
    from simulation.history.ledger import forecast_from_result
    from simulation.history.synthetic import TruePars, draw_history
    from simulation.history.table import read_history, write_history
    from simulation.report.ledger import against_section, backtest_section

    names = scenario_names_of(s, "zh")
    raw, _ = resolve_raw(LAYERED)
    other = validate_raw(
        deep_merge(raw, {"funds": {"serious_illness": {"financing_per_head": {"2021": 70}}}}), "o"
    )
    before = forecast_from_result(run(other, paths=16, seed=8), output="reports/2026-11")
    now = forecast_from_result(r, output="reports/2026-12")
    ledger, ledger_tables = against_section(before, now, "zh", names)
    hist = tmp_path / "settled_years.csv"
    write_history(draw_history(s, "basic", 6, TruePars(), 4).frame, hist)
    scores = backtest(s, read_history(hist, s), "basic")
    buf = io.BytesIO()
    fan_figure(scores, buf, "zh", names)
    summary = summarise(scores)
    bt = backtest_section(summary, buf.getvalue(), str(hist), "basic", "zh", names)
    tables = {**ledger_tables, "backtest_scores": scores, "backtest_summary": summary}
    return [ledger, bt], tables


def test_the_chinese_report_leaves_no_english_with_translated_labels(runs16, tmp_path):
    raw, _ = resolve_raw(LAYERED)
    zh_fields = {
        "title": "Layered test",
        "title_zh": "分层测试",
        "description": "A test scenario.",
        "description_zh": "测试情景。",
        "categories": {
            "ordinary": {"label_zh": "普通居民"},
            "needy": {"label_zh": "低保对象"},
        },
        "layers": {"basic": {"label_zh": "基本医保"}, "serious_illness": {"label_zh": "大病保险"}},
        "funds": {
            "basic": {"label_zh": "基本医保基金"},
            "serious_illness": {"label_zh": "大病保险基金"},
        },
    }
    s = validate_raw(deep_merge(raw, zh_fields), "zh (test)")
    r = run(s, paths=16, seed=7)
    sections, tables = since_and_backtest_sections(s, r, tmp_path)
    report = build_report(
        r, [r], lang="zh", cashflow_paths=2, variant_names=["v2"], extra_sections=sections
    )
    report.tables.update(tables)
    html = report.html
    assert "分层测试" in html and "测试情景。" in html and "大病保险基金" in html
    assert 'id="ledger"' in html and 'id="backtest"' in html and "<code>seed</code>" not in html
    left = english_left(html, ("layered", "reports/"))  # the scenario's name, a folder
    assert left == [], "English left in the zh report:\n" + "\n".join(left)
    # the workbook too: every text cell of every sheet, read back with openpyxl
    from simulation.report import write_report

    folder = write_report(report, tmp_path / "zh")
    left = workbook_english_left(folder / "report.xlsx", ("layered", "v2", "reports/"))
    # the inputs that changed: run settings in Chinese; scenario key paths and values are the
    # scenario file's own text (as its TOML in the appendix)
    inputs = pd.read_excel(folder / "report.xlsx", sheet_name="变化的输入")
    assert "随机种子" in set(inputs.iloc[:, 0]) and "（无）" in set(inputs.iloc[:, 1])
    keys = set(inputs.iloc[:, 0]) | set(inputs.iloc[:, 1]) | set(inputs.iloc[:, 2])
    left = [line for line in left if line.split(": ", 1)[1] not in keys]
    assert left == [], "English left in the zh workbook:\n" + "\n".join(left)
    # and without the translations, the English labels are what is left (the test can fail)
    plain = build_report(runs16[0], [], lang="zh", cashflow_paths=0, exact=False)
    assert any("Basic fund" in line for line in english_left(plain.html, ("layered",)))
    left = workbook_english_left(write_report(plain, tmp_path / "plain") / "report.xlsx", ())
    assert any("Basic fund" in line for line in left)


def test_labels_fall_back_to_the_chinese_in_their_parentheses():
    from simulation.report.display import engine_text, localized

    assert localized("Extremely poor (特困人员)", None, "zh") == "特困人员"
    assert localized("Extremely poor (特困人员)", None, "en") == "Extremely poor (特困人员)"
    assert localized("Basic fund", "基本医保基金", "zh") == "基本医保基金"
    assert engine_text("in-process, 2 threads", "zh") == "进程内，2 个线程"


@pytest.mark.slow
def test_the_chinese_henan_report_leaves_no_english():
    s = load_scenario(ROOT / "scenarios" / "henan_supplementary_2019.toml")
    r = run(s, paths=16, seed=1, years=1)
    html = build_report(r, [], lang="zh", cashflow_paths=2).html
    left = english_left(html, (s.name,))
    assert left == [], "English left in the zh report:\n" + "\n".join(left)


# ------------------------------------------------------------------ 7. progress


def test_progress_names_every_stage_and_is_silent_without_it(runs16, capsys):
    base, richer = runs16
    capsys.readouterr()
    build_report(base, [richer], lang="en", cashflow_paths=2, progress=True)
    err = capsys.readouterr().err
    for stage in ("summary", "tender pricing", "cash flows", "comparison", "exact method"):
        assert f"report: {stage}" in err, stage
    build_report(base, [richer], lang="en", cashflow_paths=0, exact=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ 4. tender bid curve


def test_the_tender_section_has_a_bid_curve_spanning_break_even_and_targets(report16):
    from simulation.report.bidcurve import marks

    curve = report16.tables["tender_bid_curve"]
    pricing = report16.tables["tender_pricing"]
    m = marks(pricing, "serious_illness")
    assert "break-even financing per head" in m and len(m) >= 2
    d = curve[curve["fund"] == "serious_illness"]
    x = d["financing_per_head"].to_numpy()
    assert x.min() < min(m.values()) and x.max() > max(m.values())
    assert (np.diff(x) > 0).all()
    # the expected result rises with the bid, and is 0 at the break-even (same paths)
    at_be = d[np.isclose(d["financing_per_head"], round(m["break-even financing per head"], 4))]
    assert abs(at_be["result_mean"].iloc[0]) <= 4 * max(at_be["result_se"].iloc[0], 1e-9)
    assert (np.diff(d["result_mean"].to_numpy()) >= -1e-6).all()
    assert "bid_curve_serious_illness" in report16.figures
    html = report16.html
    assert 'id="figure-bid_curve_serious_illness"' in html
    if any(k.startswith("financing for a ") for k in m):
        assert "because the 3.0% cap includes the operating cost" in html


def test_the_exact_methods_reasons_are_in_chinese(tmp_path):
    """The exact method's real refusals (raised by it on scenarios it cannot handle) and notes,
    as the zh report's appendix shows them: no English left but the scenario's keys."""
    from test_exact import (
        CASCADE,
        CASCADE_FUNDS,
        cascade_scenario_text_with_basic_cap,
        load,
        scenario_toml,
    )

    from simulation.engine.exact import exact_claims_distribution
    from simulation.errors import FundsimError
    from simulation.report.display import engine_text

    names = {
        "fund": {"si": "大病保险基金", "supp": "补充保险基金", "basic": "基本医保基金"},
        "layer": {"basic": "基本医保", "si": "大病保险", "supp": "补充保险"},
        "category": {"ordinary": "普通居民", "poor": "困难群众"},
    }
    late = CASCADE.replace(
        '[layers.supp]\nlabel = "Supplementary"\nfund = "supp"\nsettlement = "annual_cumulative"',
        '[layers.supp]\nlabel = "Supplementary"\nfund = "supp"\nsettlement = "per_admission"',
    )
    mixed_base = CASCADE.replace(
        'fund = "supp"\nsettlement = "annual_cumulative"',
        'fund = "supp"\nbase = "total"\nsettlement = "annual_cumulative"',
    )
    cascade = '["basic", "si", "supp"]'
    cases = [
        (cascade_scenario_text_with_basic_cap(5000), "si"),
        (scenario_toml(count=5, layers=late, cascade=cascade, funds=CASCADE_FUNDS), "supp"),
        (scenario_toml(count=5, layers=mixed_base, cascade=cascade, funds=CASCADE_FUNDS), "supp"),
        (scenario_toml(count=5, layers=late, cascade=cascade, funds=CASCADE_FUNDS), "nope"),
    ]
    reasons = []
    for i, (text, fund) in enumerate(cases):
        with pytest.raises(FundsimError) as e:
            exact_claims_distribution(load(tmp_path, text, f"s{i}.toml"), fund, 2020)
        reasons.append(f"{fund}: {e.value}" if fund in names["fund"] else str(e.value))
    sc = load(tmp_path, cascade_scenario_text_with_basic_cap(5000), "n.toml")
    notes = list(exact_claims_distribution(sc, "si", 2020, cap_tolerance=100.0).notes)
    assert notes and len(reasons) == 4
    for line in [*reasons, *notes]:
        zh = engine_text(line, "zh", names)
        rest = re.sub(r"cap_tolerance|nope|groups", "", zh)
        assert not re.search(r"[A-Za-z]{3,}", rest), (line, zh)
        assert re.search(r"[\u4e00-\u9fff]", zh), zh
    assert "大病保险基金" in engine_text(reasons[0], "zh", names)
    # an unknown reason keeps its English after a Chinese lead (nothing is lost)
    odd = engine_text("exact method: something new", "zh", names)
    assert odd.startswith("精确方法无法处理") and "something new" in odd


def test_the_back_test_fan_is_drawn_in_chinese(tmp_path):
    """The back-test figure's titles and legend in zh: no English word left (the PNG's text is
    not seen by the HTML test above)."""
    import re

    from simulation.commands.backtest import backtest_fan
    from simulation.commands.history import scenario_names_of
    from simulation.history.backtest import backtest
    from simulation.history.synthetic import TruePars, draw_history
    from simulation.history.table import read_history, write_history

    raw, _ = resolve_raw(LAYERED)
    s = validate_raw(deep_merge(raw, {"funds": {"basic": {"label_zh": "基本医保基金"}}}), "zh")
    hist = tmp_path / "settled_years.csv"
    write_history(draw_history(s, "basic", 6, TruePars(), 4).frame, hist)
    scores = backtest(s, read_history(hist, s), "basic")
    texts = {}
    for lang in ("en", "zh"):
        fig = backtest_fan(scores, lang, scenario_names_of(s, lang))
        texts[lang] = [ax.get_title() for ax in fig.axes] + [
            t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()
        ]
    assert any("one year ahead" in t for t in texts["en"])
    assert any("基本医保基金" in t for t in texts["zh"])
    english = [t for t in texts["zh"] if re.search(r"[A-Za-z]{2,}", t)]
    assert not english, english
