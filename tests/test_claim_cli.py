"""``fundsim claim``: table and JSON output for a hand-worked case; bad input exits with code 2."""

import json
from pathlib import Path

import pytest

from simulation.cli import main

SCENARIO = str(Path(__file__).parent.parent / "scenarios" / "henan_supplementary_2019.toml")

# Extremely poor person, Henan 2019 (arithmetic in tests/test_layers_examples.py):
# admission 1, county, 80,000 total / 70,000 in-policy, inpatient:
#   basic 0.75*(70,000 - 500) = 52,125; SI 0.55*10,000 + 0.65*2,875 = 7,368.75;
#   supplementary 0.5*(10,506.25 - 3,000) = 3,753.125; assistance 0.9*6,753.125 = 6,077.8125;
#   OOP 10,675.3125.
# admission 2, city, 50,000 / 40,000, chronic:
#   basic 0.65*39,000 = 25,350 -> left 14,650; SI year-to-date 17,875 -> 32,525:
#   B = 5,500 + 6,500 + 0.75*7,525 = 17,643.75, minus 7,368.75 = 10,275 -> left 4,375;
#   supplementary year-to-date 10,506.25 -> 14,881.25: 0.5*11,881.25 - 3,753.125 = 2,187.5
#   -> left 2,187.5; assistance 0.9*2,187.5 = 1,968.75; OOP 10,000 + 218.75 = 10,218.75.
ARGS = [
    "claim",
    SCENARIO,
    "--category",
    "extremely_poor",
    "--admission",
    "county:80000:70000",
    "city:50000:40000:chronic",
]


def test_claim_json(capsys):
    assert main([*ARGS, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["year"] == 2019 and data["category"] == "extremely_poor"
    assert [la["name"] for la in data["layers"]] == [
        "basic",
        "serious_illness",
        "supplementary",
        "assistance",
    ]
    first, second = data["admissions"]
    assert first["level"] == "county" and first["claim_type"] == "inpatient"
    assert second["level"] == "city" and second["claim_type"] == "chronic"
    assert first["paid"] == {
        "basic": 52125.0,
        "serious_illness": 7368.75,
        "supplementary": 3753.12,  # 3,753.125 rounded to the cent
        "assistance": 6077.81,
    }
    assert first["oop"] == 10675.31
    assert second["paid"] == {
        "basic": 25350.0,
        "serious_illness": 10275.0,
        "supplementary": 2187.5,
        "assistance": 1968.75,
    }
    assert second["oop"] == 10218.75
    year = data["year_total"]
    assert year["total"] == 130000.0 and year["in_policy"] == 110000.0
    assert year["paid"]["serious_illness"] == 17643.75
    assert year["oop"] == pytest.approx(20894.06)
    assert year["paid_total"] + year["oop"] == pytest.approx(130000.0, abs=0.011)


def test_claim_table(capsys):
    assert main(ARGS) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "extremely_poor" in lines[0] and "2019" in lines[0]
    header = lines[1].split()
    assert header == [
        "#",
        "level",
        "type",
        "total",
        "in_policy",
        "basic",
        "serious_illness",
        "supplementary",
        "assistance",
        "oop",
    ]
    row1 = next(line for line in lines if line.startswith("1 ")).split()
    assert row1 == [
        "1",
        "county",
        "inpatient",
        "80,000.00",
        "70,000.00",
        "52,125.00",
        "7,368.75",
        "3,753.12",
        "6,077.81",
        "10,675.31",
    ]
    row2 = next(line for line in lines if line.startswith("2 ")).split()
    assert row2[-5:] == ["25,350.00", "10,275.00", "2,187.50", "1,968.75", "10,218.75"]
    year = next(line for line in lines if line.startswith("year")).split()
    assert year[1:3] == ["130,000.00", "110,000.00"] and year[-1] == "20,894.06"


def test_claim_year_and_repeated_admission_option(capsys):
    # ordinary resident, two city admissions of 20,000 given as two --admission options:
    # basic 12,350 each; SI 0 then 0.5*(15,300 - 10,000) = 2,650 (deductible counted once).
    argv = [
        "claim",
        SCENARIO,
        "--category",
        "ordinary",
        "--year",
        "2020",
        "--json",
        "--admission",
        "city:20000:20000",
        "--admission",
        "city:20000:20000",
    ]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["year"] == 2020
    assert [a["paid"]["serious_illness"] for a in data["admissions"]] == [0.0, 2650.0]


@pytest.mark.parametrize(
    ("admission", "category", "message"),
    [
        ("tertiary:5000:4000", "ordinary", "not one of primary, county, city"),
        ("city:5000", "ordinary", "expected LEVEL:TOTAL:IN_POLICY"),
        ("city:5000:4000:dental", "ordinary", "not one of inpatient, chronic"),
        ("city:abc:4000", "ordinary", "must be an amount in yuan"),
        ("city:5000:-1", "ordinary", "non-negative"),
        ("city:4000:5000", "ordinary", "above the total"),
        ("city:5000:4000", "poor", "categories: extremely_poor"),
    ],
)
def test_claim_bad_input_exits_2(capsys, admission, category, message):
    assert main(["claim", SCENARIO, "--category", category, "--admission", admission]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fundsim: error:") and message in err
    assert len(err.strip().splitlines()) == 1


def test_claim_year_before_dated_value_exits_2(tmp_path, capsys):
    scenario = tmp_path / "dated.toml"
    scenario.write_text(
        f'extends = "{SCENARIO}"\n[layers.serious_illness]\ndeductible = {{ 2019 = 10000 }}\n'
    )
    assert (
        main(
            [
                "claim",
                str(scenario),
                "--category",
                "ordinary",
                "--year",
                "2018",
                "--admission",
                "city:5000:4000",
            ]
        )
        == 2
    )
    assert "2018" in capsys.readouterr().err
