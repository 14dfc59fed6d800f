"""The settled-years table: a good file reads; every broken one is one line naming the file, the
column, what was expected and the row, and the CLI exits 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation.history.table import HistoryDataError, read_history
from simulation.scenario import load_scenario

ANKANG = Path(__file__).parent.parent / "scenarios" / "ankang_serious_illness.toml"

GOOD = """fund,year,insured,admissions,claimants,total_cost,in_policy_cost,fund_payments,financing,source
basic,2016,2600000,440000,330000,2900000000,2400000000,1500000000,,bureau
basic,2017,2610000,452000,,3100000000,2550000000,1600000000,,bureau
basic,2018,2590000,470000,350000,3350000000,2760000000,1720000000,,bureau
serious_illness,2016,2600000,,,,,46000000,65000000,
serious_illness,2017,2610000,,,,,50000000,65250000,
"""


def write(tmp_path: Path, text: str, name: str = "h.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def edit(line: int, column: str, value: str) -> str:
    """GOOD with one cell replaced (``line`` as in the file, the header being 1)."""
    rows = GOOD.splitlines()
    header = rows[0].split(",")
    cells = rows[line - 1].split(",")
    cells[header.index(column)] = value
    rows[line - 1] = ",".join(cells)
    return "\n".join(rows) + "\n"


def test_good_table_reads(tmp_path):
    h = read_history(write(tmp_path, GOOD), load_scenario(ANKANG))
    assert h.funds == ["basic", "serious_illness"]
    basic = h.totals("basic")
    assert basic["year"].tolist() == [2016, 2017, 2018]
    assert basic["admissions"].tolist() == [440000, 452000, 470000]
    assert np.isnan(basic["claimants"][1])  # a gap, not an error
    assert h.frame["category"].eq("all").all()


def test_xlsx_reads_like_csv(tmp_path):
    import pandas as pd

    csv = write(tmp_path, GOOD)
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    xlsx = tmp_path / "h.xlsx"
    frame.to_excel(xlsx, index=False)
    a = read_history(csv).frame.drop(columns="source")
    b = read_history(xlsx).frame.drop(columns="source")
    pd.testing.assert_frame_equal(a, b)


def test_xlsx_error_names_the_sheet_row(tmp_path):
    import pandas as pd

    frame = pd.read_csv(write(tmp_path, edit(3, "admissions", "-5")), dtype=str)
    xlsx = tmp_path / "h.xlsx"
    frame.to_excel(xlsx, index=False)
    with pytest.raises(HistoryDataError, match=r"admissions: expected a number at least 0.*line 3"):
        read_history(xlsx)


BROKEN = {
    "missing year (a gap)": (
        "\n".join(line for line in GOOD.splitlines() if not line.startswith("basic,2017")) + "\n",
        r"year: expected every year from 2016 to 2018 for fund 'basic', found no row for 2017",
    ),
    "duplicate fund-year": (
        GOOD + "basic,2017,2610000,452000,,3100000000,2550000000,1600000000,,again\n",
        r"expected each once, found a duplicate: 2 rows, lines 3, 7",
    ),
    "negative admissions": (
        edit(2, "admissions", "-440000"),
        r"admissions: expected a number at least 0 \(admissions\): 1 row, line 2 \(found '-440000'\)",
    ),
    "text in a number column": (
        edit(4, "total_cost", "about 3 billion"),
        r"total_cost: expected a number \(yuan\): 1 row, line 4 \(found 'about 3 billion'\)",
    ),
    "more admissions than could be": (
        edit(2, "admissions", "44000000"),
        r"admissions: expected at most 5 admissions per insured person: 1 row, line 2",
    ),
    "a year before the scenario's start": (
        GOOD.replace("serious_illness,2016", "serious_illness,2015").replace(
            "serious_illness,2017", "serious_illness,2016"
        ),
        r"year: expected a year from the scenario's start year 2016 on: 1 row, line 5 \(found '2015'\)",
    ),
    "a year that is not whole": (
        edit(3, "year", "2017.5"),
        r"year: expected a whole calendar year 1990-2100: 1 row, line 3 \(found '2017.5'\)",
    ),
    "an unknown fund": (
        edit(5, "fund", "serious_ilness"),
        r"fund: expected a fund of the scenario \(basic, serious_illness\): 1 row, line 5 "
        r"\(found 'serious_ilness'\)",
    ),
    "in-policy cost above total cost": (
        edit(2, "in_policy_cost", "3000000000"),
        r"in_policy_cost: expected at most total_cost: 1 row, line 2",
    ),
    "fund payments above total cost": (
        edit(4, "fund_payments", "4000000000"),
        r"fund_payments: expected at most total_cost: 1 row, line 4",
    ),
    "more claimants than admissions": (
        edit(2, "claimants", "500000"),
        r"claimants: expected at most the admissions: 1 row, line 2",
    ),
    "a fraction of a person": (
        edit(2, "insured", "2600000.5"),
        r"insured: expected a whole number \(persons\): 1 row, line 2",
    ),
    "a misspelt column": (
        GOOD.replace("admissions", "admisions", 1),
        r"header: expected columns among .*, found 'admisions' \(did you mean 'admissions'\?\)",
    ),
    "no year column": (
        GOOD.replace("fund,year,", "fund,yr,", 1),
        r"header: expected columns among .*found 'yr'",
    ),
    "an empty fund": (
        edit(3, "fund", ""),
        r"fund: expected a fund name: 1 row, line 3",
    ),
    "a header only": ("fund,year,insured\n", r"expected at least one row, found a header only"),
    "an empty file": ("", r"the file is empty"),
    "an unknown hospital level": (
        GOOD.replace("source\n", "source,hospital_level\n", 1)
        .replace("bureau\n", "bureau,city\n")
        .replace(
            "basic,2017,2610000,452000,,3100000000,2550000000,1600000000,,bureau,city",
            "basic,2017,2610000,452000,,3100000000,2550000000,1600000000,,bureau,tertiary",
        ),
        r"hospital_level: expected one of primary, county, city, all: 1 row, line 3 "
        r"\(found 'tertiary'\)",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_history_is_one_line(tmp_path, case):
    text, pattern = BROKEN[case]
    path = write(tmp_path, text)
    with pytest.raises(HistoryDataError) as info:
        read_history(path, load_scenario(ANKANG))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: history table: ")
    assert __import__("re").search(pattern, message), message


def test_not_a_workbook(tmp_path):
    path = write(tmp_path, "not a zip", "h.xlsx")
    with pytest.raises(HistoryDataError, match=r"h.xlsx: history table: cannot read the file"):
        read_history(path)


def test_missing_file(tmp_path):
    with pytest.raises(HistoryDataError, match="file not found"):
        read_history(tmp_path / "nope.csv")
