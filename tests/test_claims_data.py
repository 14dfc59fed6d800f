"""Reading and validating claims and exposure tables: one broken file per kind of error.

Every error must name the file, the problem, the first line numbers as in the file (header = line 1)
and the number of offending rows; nothing is dropped silently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.claims_data import (
    AgeBand,
    parse_age_band,
    person_year_counts,
    read_claims,
    read_exposure,
    with_age_bands,
)
from simulation.errors import ClaimsDataError, FundsimError

DATA = Path(__file__).parent / "data" / "claims"
CATEGORIES = [
    "extremely_poor",
    "min_allowance_urban",
    "min_allowance_rural",
    "registered_poor",
    "children_in_distress",
    "ordinary",
]


def test_good_claims_are_read_with_types_and_file_lines():
    claims = read_claims(DATA / "good_claims.csv", CATEGORIES)
    assert len(claims) == 5  # the blank line (line 5) is not a record
    assert claims["line"].tolist() == [2, 3, 4, 6, 7]
    assert claims["claim_type"].eq("inpatient").all()  # no claim_type column: the default
    assert claims["total_cost"].dtype == np.float64 and claims["age"].dtype == np.int64
    assert claims["year"].tolist() == [2019, 2019, 2019, 2019, 2020]
    assert claims.loc[0, "in_policy_cost"] == 4800.0 and claims.loc[0, "total_cost"] == 5400.5


def test_good_exposure_is_read():
    exposure = read_exposure(DATA / "good_exposure.csv", CATEGORIES)
    assert exposure["person_years"].sum() == 890.0
    assert exposure["year"].dtype == np.int64


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing_column.csv", ["missing column in_policy_cost", "did you mean 'inpolicy_cost'"]),
        (
            "negative_cost.csv",
            ["negative total_cost", "7 rows", "lines 2, 4, 5, 6, 7, ...", "'-5400'"],
        ),
        (
            "in_policy_above_total.csv",
            ["in_policy_cost above total_cost", "1 row, line 3", "1200.5 > 1000"],
        ),
        (
            "unknown_category.csv",
            ["unknown category", "2 rows, lines 3, 4", "did you mean 'registered_poor'"],
        ),
        (
            "unknown_level.csv",
            ["unknown hospital_level", "primary, county, city", "line 3", "'township'"],
        ),
        (
            "bad_date.csv",
            ["admission_date is not a date", "YYYY-MM-DD", "2 rows, lines 3, 4", "'2019-02-30'"],
        ),
        (
            "bad_number.csv",
            ["total_cost is not a finite number", "2 rows, lines 2, 3", "'5,400'", "'abc'"],
        ),
        ("bad_age.csv", ["age is not a whole number", "3 rows, lines 2, 3, 4"]),
        (
            "bad_claim_type.csv",
            ["unknown claim_type", "inpatient, chronic", "line 3", "'outpatient'"],
        ),
        (
            "empty_value.csv",
            ["empty person_id: 1 row, line 3", "empty in_policy_cost: 1 row, line 3"],
        ),
        ("header_only.csv", ["header but no rows"]),
        ("empty.csv", ["the file is empty"]),
    ],
)
def test_bad_claims_file(name, expected):
    with pytest.raises(ClaimsDataError) as info:
        read_claims(DATA / name, CATEGORIES)
    message = str(info.value)
    assert message.startswith(str(DATA / name) + ": claims table: ")
    for part in expected:
        assert part in message, (part, message)
    assert isinstance(info.value, FundsimError)


def test_line_numbers_count_multiline_quoted_fields():
    # the second record spans lines 3-4, so the bad third record is on line 5
    with pytest.raises(ClaimsDataError, match=r"negative total_cost[^;]*: 1 row, line 5 "):
        read_claims(DATA / "with_claim_type.csv")


def test_every_problem_is_reported_at_once(tmp_path):
    bad = tmp_path / "two.csv"
    bad.write_text(
        "person_id,category,age,admission_date,hospital_level,total_cost,in_policy_cost\n"
        "P1,ordinary,30,2019-01-01,county,-5,0\n"
        "P2,ordinary,30,2019-13-01,county,5,0\n"
    )
    message = str(pytest.raises(ClaimsDataError, read_claims, bad).value)
    assert "negative total_cost" in message and "line 2" in message
    assert "admission_date is not a date" in message and "line 3" in message


def test_categories_are_only_checked_when_given():
    assert len(read_claims(DATA / "unknown_category.csv")) == 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("exposure_duplicate.csv", ["duplicate category, age_band and year", "2 rows, lines 2, 4"]),
        (
            "exposure_bad_band.csv",
            ["age_band is not like '0-15' or '60+'", "line 3", "negative person_years", "line 4"],
        ),
        ("exposure_overlap.csv", ["age bands '0-15' and '10-59' overlap"]),
        ("exposure_missing_column.csv", ["missing column age_band"]),
    ],
)
def test_bad_exposure_file(name, expected):
    with pytest.raises(ClaimsDataError) as info:
        read_exposure(DATA / name)
    message = str(info.value)
    assert message.startswith(str(DATA / name) + ": exposure table: ")
    for part in expected:
        assert part in message, (part, message)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(ClaimsDataError, match="nothere.csv: claims table: file not found"):
        read_claims(tmp_path / "nothere.csv")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(
        "person_id,category,age,admission_date,hospital_level,total_cost,in_policy_cost\n"
        "P1,低保,30,2019-01-01,county,5,0\n".encode("gbk")
    )
    with pytest.raises(ClaimsDataError, match="gbk.csv: claims table: not UTF-8"):
        read_claims(gbk)


def test_age_bands():
    assert parse_age_band("16-59") == AgeBand("16-59", 16, 59)
    assert parse_age_band("60+") == AgeBand("60+", 60, None)
    for bad, words in (
        ("16 to 59", r"age band '16 to 59' is not like '0-15' or '60\+'"),
        ("59-16", r"age band '59-16' ends \(16\) before it starts \(59\)"),
        ("", "age band '' is not like"),
        ("old", "age band 'old' is not like"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_age_band(bad)


def test_claims_outside_the_exposure_bands_or_years_are_errors():
    claims = read_claims(DATA / "good_claims.csv")
    with pytest.raises(
        ClaimsDataError, match=r"age is in no age band .*0-15, 16-59.*2 rows, lines 4, 7"
    ):
        with_age_bands(claims, read_exposure(DATA / "exposure_no_old.csv"))
    exposure = read_exposure(DATA / "good_exposure.csv")
    exposure = exposure[exposure["year"] == 2019]
    with pytest.raises(
        ClaimsDataError,
        match=r"no exposure .*: 1 row, line 7 \(found 'min_allowance_rural/60\+/2020'\)",
    ):
        with_age_bands(claims, exposure)


def test_person_year_counts_by_hand():
    claims = with_age_bands(
        read_claims(DATA / "good_claims.csv"), read_exposure(DATA / "good_exposure.csv")
    )
    counts = person_year_counts(claims, read_exposure(DATA / "good_exposure.csv"))
    got = {(r.category, r.age_band, r.year, r.claims): r.weight for r in counts.itertuples()}
    # P000001 has two admissions in 2019 (registered_poor, 16-59): one person-year with 2 claims
    assert got[("registered_poor", "16-59", 2019, 2)] == 1.0
    assert got[("registered_poor", "16-59", 2019, 0)] == 299.0
    assert got[("registered_poor", "0-15", 2019, 0)] == 100.0
    assert got[("extremely_poor", "60+", 2019, 1)] == 1.0
    assert counts["weight"].sum() == pytest.approx(890.0)  # every person-year, claimants or not


def test_more_claimants_than_person_years_is_an_error(tmp_path):
    claims = read_claims(DATA / "good_claims.csv")
    exposure = pd.read_csv(DATA / "good_exposure.csv", dtype={"person_years": float})
    exposure.loc[exposure["category"] == "extremely_poor", "person_years"] = 0.5
    path = tmp_path / "exposure.csv"
    exposure.to_csv(path, index=False)
    exposure = read_exposure(path)
    claims = with_age_bands(claims, exposure)
    with pytest.raises(
        ClaimsDataError,
        match=r"fewer person-years than persons with claims in 1 group \(extremely_poor/60\+/2019",
    ):
        person_year_counts(claims, exposure)
