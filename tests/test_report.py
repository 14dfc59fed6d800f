"""Scenario reports, comparisons on common random numbers, and the report/compare/demo commands."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import load_scenario
from simulation.cli import main
from simulation.commands.report import resolve_out, safe_name
from simulation.engine.run import run
from simulation.errors import FundsimError
from simulation.pricing import pricing_summary
from simulation.report import OPTIONAL_SECTIONS, SECTIONS, build_report, compare, write_report
from simulation.report.build import write_workbook
from simulation.report.cashflows import BASES
from simulation.report.compare import paired_difference
from simulation.report.figures import money_unit
from simulation.report.fonts import FontSetup, font_setup
from simulation.report.i18n import MESSAGES, Translator
from simulation.report.tender import pricing_label
from simulation.scenario import deep_merge, resolve_raw, validate_raw

ROOT = Path(__file__).parent.parent
LAYERED = ROOT / "tests" / "data" / "engine" / "layered.toml"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
PNG = b"\x89PNG\r\n\x1a\n"
CASHFLOW_TABLES = {
    "cashflow_balance",
    "cashflow_liquidity",
    "cashflow_settlement",
    "cashflow_summary",
}
ALWAYS = [s for s in SECTIONS if s not in OPTIONAL_SECTIONS]


def variant_of(path: Path, override: dict, name: str):
    raw, _ = resolve_raw(path)
    return validate_raw(deep_merge(raw, {"name": name, **override}), f"{name} (test)")


@pytest.fixture(scope="module")
def runs():
    """The layered scenario and a variant with more financing and richer bands, same draws."""
    base = load_scenario(LAYERED)
    richer = variant_of(
        LAYERED,
        {
            "funds": {"serious_illness": {"financing_per_head": {"2021": 70}}},
            "layers": {
                "serious_illness": {
                    "bands": [{"from": 8000, "ratio": 0.6}, {"from": 30000, "ratio": 0.8}]
                }
            },
        },
        "richer",
    )
    return run(base, paths=64, seed=7), run(richer, paths=64, seed=7)


@pytest.fixture(scope="module")
def full_report(runs, tmp_path_factory):
    """The base and variant report with the cash-flow section on 3 paths, written to a folder."""
    base, richer = runs
    report = build_report(base, [richer], lang="en", cashflow_paths=3)
    return report, write_report(report, tmp_path_factory.mktemp("full") / "r")


def write_variant_file(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'extends = "{LAYERED.as_posix()}"\n{body}\n', encoding="utf-8")
    return path


class PageParser(HTMLParser):
    """Collects what the tests check: element ids, images, links, scripts, data attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.images: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.cells: list[dict[str, str]] = []
        self.links: list[str] = []
        self._cell: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and (a.get("href") or "").startswith("#") and a.get("class") != "term":
            self.links.append(a["href"][1:])
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("src", "href", "action", "data", "poster"):
            if key in a:
                self.refs.append((tag, key, a[key] or ""))
        if tag == "td" and "data-value" in a:
            self._cell = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
            self._cell["text"] = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None


def parse(html: str) -> PageParser:
    p = PageParser()
    p.feed(html)
    p.close()
    return p


# --------------------------------------------------------------------------- comparison


def test_paired_difference_matches_the_formula():
    rng = np.random.default_rng(1)
    b = rng.gamma(2.0, 1000.0, size=500)
    v = b * 1.1 + rng.normal(0, 10, size=500)
    out = paired_difference(b, v)
    d = v - b
    assert out["difference"] == pytest.approx(d.mean())
    assert out["difference_se"] == pytest.approx(d.std(ddof=1) / math.sqrt(500))
    assert out["independent_se"] == pytest.approx(
        math.hypot(b.std(ddof=1), v.std(ddof=1)) / math.sqrt(500)
    )
    assert out["relative_change"] == pytest.approx(d.mean() / b.mean())


def test_compare_on_common_random_numbers(runs):
    base, richer = runs
    table = compare(base, richer)
    si = table[table["fund"] == "serious_illness"].set_index(["measure", "period"])
    # financing per head 60 -> 70 yuan for 4,500 persons in 2021: +45,000 yuan, no uncertainty
    row = si.loc[("premium", "2021")]
    assert row["difference"] == pytest.approx(4500 * 10.0)
    assert row["difference_se"] == 0.0
    # claims: the same people and costs under richer bands: every path pays at least as much
    f = base.plan.funds.index("serious_illness")
    d = richer.money["claims"][:, :, f] - base.money["claims"][:, :, f]
    assert (d >= -1e-6).all()
    claims = si.loc[("claims", "2021-2022")]
    total = d.sum(axis=1)
    assert claims["difference"] == pytest.approx(total.mean())
    assert claims["difference_se"] == pytest.approx(total.std(ddof=1) / math.sqrt(64))
    # the paired standard error is well below that of two independent runs
    assert claims["difference_se"] < 0.5 * claims["independent_se"]
    # the basic fund's rules did not change: no difference at all on any path
    basic = table[(table["fund"] == "basic") & (table["measure"] == "claims")]
    assert (basic["difference"] == 0).all() and (basic["difference_se"] == 0).all()


def test_compare_a_run_with_itself_is_zero(runs):
    base, _ = runs
    table = compare(base, base)
    assert (table["difference"] == 0).all()
    assert (table["difference_se"].fillna(0) == 0).all()


def test_compare_needs_the_same_seed_and_paths(runs):
    base, richer = runs
    other = run(richer.plan.scenario, paths=64, seed=8)
    with pytest.raises(FundsimError, match="same seed"):
        compare(base, other)


# --------------------------------------------------------------------------- the page


def test_every_message_has_both_languages_with_the_same_fields():
    import string

    for key, (en, zh) in MESSAGES.items():
        assert en and zh, key
        fields = {f for _, f, _, _ in string.Formatter().parse(en) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(zh) if f}, key


def test_report_html_is_complete_and_self_contained(full_report):
    report, out = full_report
    html = (out / "index.html").read_text(encoding="utf-8")
    page = parse(html)
    for section in SECTIONS:
        assert section in page.ids, section
    # the table of contents lists every section, in order
    assert page.links == list(SECTIONS)
    # every figure is embedded as a PNG; none is fetched from anywhere
    assert len(page.images) == len(report.figures) == len(list((out / "figures").glob("*.png")))
    # 2 fan charts, result, layers, categories, catastrophic, tornado, cash-flow balance
    assert len(page.images) >= 8
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    for tag, key, value in page.refs:
        assert value.startswith(("data:", "#")), (tag, key, value)
    assert "http://" not in html and "https://" not in html
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    # the data behind every table and figure: a CSV each and one workbook with a sheet each
    from openpyxl import load_workbook

    sheets = load_workbook(out / "report.xlsx", read_only=True).sheetnames
    assert sorted(sheets) == sorted(report.tables)
    assert {"tender_pricing", *CASHFLOW_TABLES} <= set(sheets)
    for name, df in report.tables.items():
        back = pd.read_csv(out / f"{name}.csv")
        assert list(back.columns) == list(df.columns)
        assert len(back) == len(df)
    assert {"summary.json", "summary.csv", "manifest.json"} <= {p.name for p in out.iterdir()}


def test_report_escapes_markup_in_scenario_strings(tmp_path):
    path = write_variant_file(
        tmp_path,
        "evil",
        'name = "<script>alert(1)</script>"\n'
        'title = "Evil <img src=x onerror=alert(2)> title"\n'
        'description = "a & b <b>bold</b>"\n'
        '[categories.needy]\nlabel = "<script>alert(3)</script>"\nneedy = true',
    )
    res = run(load_scenario(path), paths=16, seed=1, years=1)
    html = build_report(res, [res], exact=False, cashflow_paths=0).html
    assert "<script" not in html.lower()
    assert "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "a &amp; b &lt;b&gt;bold&lt;/b&gt;" in html
    # as a folder name the scenario cannot escape the reports folder
    when = dt.datetime(2024, 5, 1, 3, 4, 5)
    out = resolve_out("reports/{scenario}/{date}", res.plan.scenario.name, when, 1, 16, "en")
    assert out == Path("reports/script_alert_1_script/2024-05-01")
    assert safe_name("../..") == "scenario"


def test_out_pattern_fields_and_errors():
    when = dt.datetime(2024, 12, 31, 23, 59, 1)
    out = resolve_out(
        "r/{scenario}/{month}/{date}-{time}-s{seed}-k{paths}-{lang}", "henan", when, 5, 100, "zh"
    )
    assert out == Path("r/henan/2024-12/2024-12-31-235901-s5-k100-zh")
    with pytest.raises(FundsimError, match="fields allowed"):
        resolve_out("r/{nope}", "x", when, 1, 1, "en")


def test_summary_table_equals_summary_json(tmp_path, capsys):
    run_dir, report_dir = tmp_path / "run", tmp_path / "report"
    args = ["--paths", "40", "--seed", "11", "--quiet"]
    assert main(["run", str(LAYERED), *args, "--out", str(run_dir)]) == 0
    no_cashflow = ["--no-exact", "--cashflow-paths", "0"]
    assert main(["report", str(LAYERED), *args, "--out", str(report_dir), *no_cashflow]) == 0
    records = json.loads((run_dir / "summary.json").read_text())
    assert json.loads((report_dir / "summary.json").read_text()) == records
    by_key = {(r["fund"], r["year"]): r for r in records}
    cells = [c for c in parse((report_dir / "index.html").read_text()).cells if c.get("measure")]
    measures = {"premium", "claims", "p_deficit", "clawback", "subsidy", "catastrophic_share"}
    assert {c["measure"] for c in cells} == measures
    assert len(cells) == 2 * 2 * 5 + 2  # funds x years x measures + the population's share per year
    first_fund = records[0]["fund"]
    unit = money_unit(max(r["premium_mean"] for r in records)).divisor
    for c in cells:
        fund = first_fund if c["fund"] == "population" else c["fund"]
        r = by_key[(fund, int(c["year"]))]
        m = c["measure"]
        mean_key, se_key = (m, f"{m}_se") if m == "p_deficit" else (f"{m}_mean", f"{m}_se")
        assert float(c["value"]) == r[mean_key]
        assert float(c["se"]) == r[se_key]
        # the number shown is the same value, rounded to the decimals shown, in the report's unit
        shown = c["text"].split("±")[0].split("[")[0].strip()
        if shown == "—":
            assert m in ("clawback", "subsidy") and r[mean_key] == 0
            continue
        if shown.startswith(("<", ">")):  # every path agrees: a bound from the paths (issue 19)
            assert r[se_key] == 0 and r[mean_key] == (0.0 if shown.startswith("<") else 1.0)
            continue
        pct = shown.endswith("%")
        number = shown.rstrip("%").replace(",", "")
        decimals = len(number.split(".")[1]) if "." in number else 0
        scale = 100.0 if pct else 1.0 / unit
        assert abs(float(number) - scale * r[mean_key]) <= 0.5 * 10.0**-decimals + 1e-9, (
            c,
            r[mean_key],
        )


def test_failed_run_leaves_the_previous_report_untouched(tmp_path, capsys, monkeypatch):
    out = tmp_path / "reports" / "layered"
    args = [
        str(LAYERED),
        "--paths",
        "16",
        "--years",
        "1",
        "--no-exact",
        "--quiet",
        "--cashflow-paths",
        "0",
        "--out",
        str(out),
    ]
    assert main(["report", *args]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert "report.log" in before and b"report complete" in before["report.log"]
    capsys.readouterr()
    # an invalid variant: exit code 2, one line, nothing replaced, no temporary folder left
    bad = ROOT / "tests" / "data" / "bad" / "ratio_above_one.toml"
    log = tmp_path / "cron.log"
    assert main(["report", *args[:1], str(bad), *args[1:], "--log", str(log)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("fundsim: error:") and "ratio" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["fundsim-ledger.sqlite", "layered"]
    assert "ERROR" in log.read_text()

    # a failure while writing (after the runs): exit code 1, one line, the old report intact
    import simulation.report.build as build_module

    def broken(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(build_module, "write_workbook", broken)
    assert main(["report", *args, "--log", str(log)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "disk on fire" in err and str(log) in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["fundsim-ledger.sqlite", "layered"]
    assert "Traceback" in log.read_text()


def test_quiet_report_prints_nothing(tmp_path, capsys):
    args = [str(LAYERED), "--paths", "16", "--years", "1", "--no-exact", "--cashflow-paths", "0"]
    args.append("--quiet")
    assert main(["report", *args, "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().out == ""
    assert main(["report", *args[:-1], "--out", str(tmp_path / "v")]) == 0
    assert capsys.readouterr().out.strip() == f"report written to {tmp_path / 'v' / 'index.html'}"


def test_exact_method_failure_is_reported_not_raised(runs, monkeypatch):
    import simulation.engine.exact as exact

    def unavailable(scenario, fund, year, **kw):
        raise FundsimError(f"no exact method for {fund} (test)")

    monkeypatch.setattr(exact, "exact_claims_distribution", unavailable)
    html = build_report(runs[0], exact=True, cashflow_paths=0).html
    assert (
        "exact method not available for this scenario: basic: no exact method for basic (test)"
        in html
    )


def test_exact_check_table(runs):
    report = build_report(runs[0], exact=True, cashflow_paths=0)
    ex = report.tables["exact_check"]
    assert set(ex["fund"]) == {"basic", "serious_illness"}
    assert set(ex["quantity"]) == {"mean", "sd", "q95", "q995", "p_deficit"}
    mean = ex[ex["quantity"] == "mean"].set_index("fund")
    s = report.summary[report.summary["year"] == 2021].set_index("fund")
    for fund in ("basic", "serious_illness"):
        assert mean.loc[fund, "mc"] == s.loc[fund, "claims_mean"]
        assert mean.loc[fund, "z"] == pytest.approx(
            (mean.loc[fund, "mc"] - mean.loc[fund, "exact"]) / s.loc[fund, "claims_se"]
        )
    assert 'id="table-exact"' in report.html


def test_chinese_report_and_the_font_fallback(runs):
    base, richer = runs
    report = build_report(base, [richer], lang="zh", exact=False, cashflow_paths=2)
    assert '<html lang="zh-CN">' in report.html
    assert "决策摘要" in report.html and "方法附录" in report.html
    assert "承办机构投标定价" in report.html and "盈亏平衡筹资标准（每人）" in report.html
    assert (
        "年内现金流与年终结算" in report.html and "已付赔款 + 链梯法（已付三角形）" in report.html
    )
    # the CJK font is a declared dependency (pylopdf-fonts-zh-cn, Noto Sans SC): always there
    fonts = font_setup()
    assert fonts.has_cjk, fonts.source
    assert report.warnings == []
    assert "@font-face" in report.html  # the page carries the glyphs it uses
    # without a CJK font: figures fall back to English labels, with one clear warning
    latin = FontSetup(
        families=("DejaVu Sans",),
        cjk_family=None,
        source="test",
        charset=frozenset(range(32, 0x2E80)),
    )
    fallback = build_report(base, [richer], lang="zh", exact=False, fonts=latin, cashflow_paths=2)
    assert len(fallback.warnings) == 1 and "no CJK font" in fallback.warnings[0]
    assert "决策摘要" in fallback.html
    assert len(fallback.figures) == len(report.figures)


def test_translator_rejects_an_unknown_language():
    assert Translator("zh")("p_deficit") == "当年赤字概率"
    with pytest.raises(FundsimError, match="supported"):
        Translator("fr")


def test_workbook_keeps_text_as_text(tmp_path):
    from openpyxl import load_workbook

    tables = {"a/b:c": pd.DataFrame({"x": ["=1+1", "plain"], "y": [1.5, float("nan")]})}
    write_workbook(tables, tmp_path / "w.xlsx")
    ws = load_workbook(tmp_path / "w.xlsx")["a_b_c"]
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s"
    assert ws["B2"].value == 1.5 and ws["B3"].value is None


def test_compare_command_prints_the_table(tmp_path, capsys):
    richer = write_variant_file(
        tmp_path,
        "richer",
        'name = "richer"\n[funds.serious_illness]\nfinancing_per_head = { 2021 = 70 }',
    )
    assert main(["compare", str(LAYERED), str(richer), "--paths", "16", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "difference" in out and "richer" in out and "2021-2022" in out
    assert (
        main(
            [
                "compare",
                str(LAYERED),
                str(richer),
                "--paths",
                "16",
                "--quiet",
                "--format",
                "csv",
                "--by-year",
            ]
        )
        == 0
    )
    table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    row = table[
        (table["fund"] == "serious_illness")
        & (table["measure"] == "premium")
        & (table["period"] == "2021")
    ]
    assert row["difference"].item() == pytest.approx(45000.0)


def test_demo_variants_change_what_they_say():
    base = load_scenario(ROOT / "scenarios" / "henan_supplementary_2019.toml")
    growth = load_scenario(ROOT / "scenarios" / "henan_variant_cost_growth.toml")
    ratio = load_scenario(ROOT / "scenarios" / "henan_variant_higher_ratio.toml")
    assert growth.claims["inpatient"].severity.trend.at(2020) == 0.08
    assert base.claims["inpatient"].severity.trend.at(2020) == 0.06
    assert ratio.layers == base.layers  # the change is declared from 2020 on
    from simulation.scenario import scenario_for_year

    new = scenario_for_year(ratio, 2020).layers["supplementary"].bands
    old = base.layers["supplementary"].bands
    assert [b.ratio for b in new] == pytest.approx([b.ratio + 0.1 for b in old])


def test_demo_options():
    from simulation.cli import build_parser

    args = build_parser().parse_args(["demo"])
    assert args.paths == 16 and args.out == "reports/demo"
    assert args.scenario.endswith("henan_supplementary_2019.toml") and len(args.variants) == 2


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_report_for_each_shipped_scenario(path, tmp_path):
    # a few paths of one year: the rosters are millions of persons (Guangxi 45 million)
    # and one cash-flow path (none for Guangxi: 12 s a path for its 45 million persons)
    out = tmp_path / "r"
    big = "guangxi" in path.name
    paths = "1" if big else "2"
    code = main(
        [
            "report",
            str(path),
            "--paths",
            paths,
            "--years",
            "1",
            "--no-exact",
            "--quiet",
            "--cashflow-paths",
            "0" if big else "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    page = parse((out / "index.html").read_text(encoding="utf-8"))
    assert set(SECTIONS if not big else ALWAYS) <= page.ids
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)


@pytest.mark.slow
def test_report_henan_with_its_variants(tmp_path):
    # the demo's configuration on 2 paths and 2 years (the ratio change starts in 2020)
    out = tmp_path / "demo"
    code = main(
        [
            "demo",
            *("--paths", "2", "--years", "2", "--cashflow-paths", "1"),
            *("--no-exact", "--quiet", "--out", str(out)),
        ]
    )
    assert code == 0
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["variant"]) == {"henan_variant_cost_growth", "henan_variant_higher_ratio"}
    sup = comparison[
        (comparison["fund"] == "supplementary") & (comparison["measure"] == "claims")
    ].set_index(["variant", "period"])
    # higher ratios from 2020: the same claims in 2019, more in 2020
    assert sup.loc[("henan_variant_higher_ratio", "2019"), "difference"] == 0
    assert sup.loc[("henan_variant_higher_ratio", "2020"), "difference"] > 0
    # faster cost growth from the second year: the first year is the base's exactly
    assert sup.loc[("henan_variant_cost_growth", "2019"), "difference"] == 0
    assert sup.loc[("henan_variant_cost_growth", "2020"), "difference"] > 0
    assert "figure-tornado" in parse((out / "index.html").read_text()).ids


# --------------------------------------------------------------------------- tender pricing


def test_pricing_section_equals_pricing_summary_and_no_cashflow_section(tmp_path):
    # the report's pricing numbers are pricing_summary's on an engine run of the same seed and
    # paths (a separate run: the engine is reproducible), in the page, the CSV and the workbook
    out = tmp_path / "r"
    args = ["--paths", "40", "--seed", "11", "--no-exact", "--quiet", "--cashflow-paths", "0"]
    assert main(["report", str(LAYERED), *args, "--out", str(out)]) == 0
    scenario = load_scenario(LAYERED)
    expected = pricing_summary(scenario, "serious_illness", run(scenario, paths=40, seed=11))
    assert len(expected) > 10
    html = (out / "index.html").read_text(encoding="utf-8")
    page = parse(html)
    cells = {c["pricing"]: c for c in page.cells if "pricing" in c}
    assert set(cells) == set(expected["measure"])
    csv = pd.read_csv(out / "tender_pricing.csv")
    assert list(csv.columns) == ["fund", "measure", "value", "se", "unit"]
    assert (csv["fund"] == "serious_illness").all()  # the basic fund has no insurer
    for r, c in zip(expected.itertuples(), csv.itertuples(), strict=True):
        assert (c.measure, c.unit) == (r.measure, r.unit)
        for got in (float(cells[r.measure]["value"]), c.value):
            assert got == pytest.approx(float(r.value), rel=1e-12)
        se = float("nan") if r.se is None else float(r.se)
        for got in (float(cells[r.measure]["se"]), c.se):
            assert (math.isnan(got) and math.isnan(se)) or got == pytest.approx(se, rel=1e-12)
    # the lead states the expected cost per head, the break-even and the gap as in the table
    v = dict(zip(expected["measure"], expected["value"], strict=True))
    assert f"come to {v['expected claims + operating cost per head']:.2f} yuan per head" in html
    assert f"break-even financing is {v['break-even financing per head']:.2f}" in html
    assert f"{v['gap: what the profit cap costs']:.2f} yuan more" in html
    assert v["break-even financing per head"] > v["expected claims + operating cost per head"]
    # --cashflow-paths 0: no cash-flow section, link, table or figure; every other section there
    assert "cashflow" not in page.ids and "cashflow" not in page.links
    assert page.links == ALWAYS and set(ALWAYS) <= page.ids
    assert not any((out / f"{name}.csv").exists() for name in CASHFLOW_TABLES)
    assert not (out / "figures" / "cashflow_balance.png").exists()
    from openpyxl import load_workbook

    sheets = set(load_workbook(out / "report.xlsx", read_only=True).sheetnames)
    assert "tender_pricing" in sheets and not sheets & CASHFLOW_TABLES
    assert json.loads((out / "manifest.json").read_text())["cashflow_paths"] == 0


def test_pricing_labels_are_translated():
    measures = [
        "scenario financing per head",
        "expected net result at it (term)",
        "probability of a loss at it (term)",
        "VaR 99.5% at it (term)",
        "TVaR 95.0% at it (term)",
        "expected clawback given up at it (term)",
        "break-even management rate",
        "expected claims per head",
        "expected claims + operating cost per head",
        "break-even financing per head",
        "gap: what the profit cap costs",
        "financing for a 2% expected margin",
        "financing for P(loss) <= 10%",
        "paths for +-0.1 yuan (95%) on break-even",
    ]
    zh = Translator("zh")
    for m in measures:
        label = pricing_label(zh, m)
        assert label != m and any(ord(ch) > 0x2E80 for ch in label), m
    assert "99.5%" in pricing_label(zh, "VaR 99.5% at it (term)")
    assert pricing_label(Translator("en"), "financing for P(loss) <= 10%") == (
        "Financing keeping P(loss) ≤ 10%"
    )
    assert pricing_label(zh, "a measure added later") == "a measure added later"


def test_scenario_without_insurer_has_empty_sections(tmp_path):
    public = variant_of(
        LAYERED, {"funds": {"serious_illness": {"contract": {"kind": "none"}}}}, "public"
    )
    res = run(public, paths=8, seed=3, years=1)
    report = build_report(res, exact=False)
    page = parse(report.html)
    assert {"pricing", "cashflow"} <= page.ids
    assert report.tables["tender_pricing"].empty and report.tables["cashflow_liquidity"].empty
    assert "No fund in this scenario is run by an insurer: no special account" in report.html
    assert "cashflow_balance" not in report.figures
    out = write_report(report, tmp_path / "r")
    assert list(pd.read_csv(out / "tender_pricing.csv").columns) == [
        "fund",
        "measure",
        "value",
        "se",
        "unit",
    ]


# --------------------------------------------------------------------------- cash flows


def test_cashflow_section_matches_the_cashflow_model(runs, full_report):
    from simulation.cashflow import simulate_cashflow
    from simulation.cashflow.output import balance_quantiles

    base, _ = runs
    report, out = full_report
    page = parse(report.html)
    assert "cashflow" in page.ids and "figure-cashflow_balance" in page.ids
    assert {"table-cashflow-liquidity", "table-cashflow-settlement"} <= page.ids
    for name in CASHFLOW_TABLES:
        back = pd.read_csv(out / f"{name}.csv")
        assert len(back) == len(report.tables[name]) > 0, name
    # the same model on the same 3 paths of the same run (default fund: the first with an insurer)
    cf = simulate_cashflow(
        base.plan, "serious_illness", 3, base.info.seed, base.plan.scenario.cashflow
    )
    summary = cf.summary().set_index("year")
    f = base.plan.funds.index("serious_illness")
    settlement = report.tables["cashflow_settlement"]
    assert set(settlement["fund"]) == {"serious_illness"}
    assert set(settlement["basis"]) == set(BASES)
    assert settlement.groupby("year")["used_by_contract"].sum().eq(1).all()  # default: paid
    for y, year in enumerate(base.years):
        s = settlement[settlement["year"] == year].set_index("basis")
        # claims incurred are the engine's, path by path (only dates are added)
        assert s.loc["true", "claims_mean"] == pytest.approx(base.money["claims"][:3, y, f].mean())
        for basis in BASES:
            assert s.loc[basis, "clawback_mean"] == summary.loc[year, f"clawback_{basis}_mean"]
            if basis != "true":
                err = summary.loc[year, f"clawback_error_{basis}_mean"]
                assert s.loc[basis, "error_mean"] == err
                assert err == pytest.approx(
                    s.loc[basis, "clawback_mean"] - s.loc["true", "clawback_mean"], abs=1e-6
                )
        # paid claims never exceed the incurred: settling on them never claws back less
        assert s.loc["paid", "claims_mean"] <= s.loc["true", "claims_mean"] + 1e-6
        assert s.loc["paid", "error_mean"] >= -1e-6
    liquidity = report.tables["cashflow_liquidity"].set_index("year")
    for year in base.years:
        r = liquidity.loc[year]
        assert r["p_negative"] == summary.loc[year, "p_negative"]
        assert r["lowest_balance_mean"] == summary.loc[year, "lowest_balance_mean"]
        assert r["lowest_balance_min"] <= r["lowest_balance_q05"] <= r["lowest_balance_mean"]
        assert str(r["lowest_balance_min_date"]).startswith(str(year))
    balance = report.tables["cashflow_balance"].drop(columns="fund").reset_index(drop=True)
    pd.testing.assert_frame_equal(balance, balance_quantiles(cf)[list(balance.columns)])
    # the page shows the same numbers
    shown = {
        (c["cashflow"], int(c["year"])): float(c["value"]) for c in page.cells if "cashflow" in c
    }
    for year in base.years:
        assert shown[("p_negative", year)] == summary.loc[year, "p_negative"]
        assert shown[("clawback_paid", year)] == summary.loc[year, "clawback_paid_mean"]
    assert json.loads((out / "manifest.json").read_text())["cashflow_paths"] == 3


def test_cashflow_failure_is_reported_not_raised(runs, monkeypatch):
    import simulation.cashflow.simulate as cashflow_simulate

    def broken(*a, **k):
        raise ValueError("need at least one array to concatenate")

    monkeypatch.setattr(cashflow_simulate, "simulate_cashflow", broken)
    report = build_report(runs[0], exact=False, cashflow_paths=1)
    assert any("cash flows not available" in w for w in report.warnings)
    assert "cashflow" in parse(report.html).ids
    assert "need at least one array to concatenate" in report.html
    assert report.tables["cashflow_settlement"].empty


def test_cashflow_options_are_checked(tmp_path, capsys):
    args = [str(LAYERED), "--paths", "4", "--quiet", "--out", str(tmp_path / "r")]
    assert main(["report", *args, "--cashflow-paths", "-1"]) == 2
    assert "--cashflow-paths" in capsys.readouterr().err
    assert main(["report", *args, "--cashflow-fund", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "serious_illness" in err
    assert not (tmp_path / "r").exists()
