"""``fundsim claim``: what each layer pays for one person's admissions in a year.

    fundsim claim SCENARIO --category NAME [--year Y] --admission LEVEL:TOTAL:IN_POLICY[:TYPE] ...

The admissions are one person's, in time order; ``TYPE`` is ``inpatient`` unless given. The
command runs exactly :func:`~simulation.rules.layers.compile_cascade` and
:func:`~simulation.rules.layers.apply_cascade`, and prints a table per admission and for the year
(``--json`` for the same as JSON).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass

import numpy as np

from ..errors import FundsimError
from ..rules.layers import (
    Admissions,
    CascadeResult,
    CompiledCascade,
    apply_cascade,
    compile_cascade,
)
from ..scenario import CLAIM_TYPES, LEVELS, Scenario, load_scenario

ADMISSION_FORMAT = "LEVEL:TOTAL:IN_POLICY[:TYPE]"


@dataclass(frozen=True)
class AdmissionText:
    """One admission as typed on the command line, parsed."""

    level: int
    total: float
    in_policy: float
    claim_type: int


def _amount(text: str, what: str, raw: str) -> float:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise FundsimError(
            f"admission {raw!r}: {what} must be an amount in yuan, found {text!r} "
            f"(expected {ADMISSION_FORMAT}, e.g. city:50000:40000)"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise FundsimError(
            f"admission {raw!r}: {what} must be a non-negative amount, found {text!r}"
        )
    return value


def parse_admission(raw: str) -> AdmissionText:
    """Parse ``LEVEL:TOTAL:IN_POLICY[:TYPE]`` (e.g. ``city:50000:40000:chronic``)."""
    parts = raw.split(":")
    if len(parts) not in (3, 4):
        raise FundsimError(
            f"admission {raw!r}: expected {ADMISSION_FORMAT} (3 or 4 fields separated by ':'), "
            f"found {len(parts)} field{'s' if len(parts) != 1 else ''}"
        )
    levels = [lv.value for lv in LEVELS]
    types = [ct.value for ct in CLAIM_TYPES]
    level = parts[0].strip().lower()
    if level not in levels:
        raise FundsimError(
            f"admission {raw!r}: hospital level {parts[0]!r} is not one of {', '.join(levels)}"
        )
    total = _amount(parts[1].strip(), "the total cost", raw)
    in_policy = _amount(parts[2].strip(), "the in-policy cost", raw)
    if in_policy > total:
        raise FundsimError(
            f"admission {raw!r}: in-policy cost {in_policy:,.2f} is above the total cost {total:,.2f}"
        )
    ctype = parts[3].strip().lower() if len(parts) == 4 else types[0]
    if ctype not in types:
        raise FundsimError(
            f"admission {raw!r}: claim type {parts[3]!r} is not one of {', '.join(types)}"
        )
    return AdmissionText(levels.index(level), total, in_policy, types.index(ctype))


def person_admissions(category_code: int, admissions: list[AdmissionText]) -> Admissions:
    """One person's admissions (person 0, in the given order) as an :class:`Admissions` table."""
    n = len(admissions)
    return Admissions(
        person=np.zeros(n, dtype=np.int64),
        category=np.full(n, category_code, dtype=np.int16),
        level=np.array([a.level for a in admissions], dtype=np.int8),
        claim_type=np.array([a.claim_type for a in admissions], dtype=np.int8),
        total=np.array([a.total for a in admissions]),
        in_policy=np.array([a.in_policy for a in admissions]),
    )


def calculate(
    scenario: Scenario, category: str, year: int, admissions: list[AdmissionText]
) -> tuple[CompiledCascade, Admissions, CascadeResult]:
    """Compile the cascade for ``year`` and run one person's admissions through it."""
    cats = list(scenario.categories)
    if category not in cats:
        raise FundsimError(
            f"category {category!r} is not in the scenario; categories: {', '.join(cats)}"
        )
    if not admissions:
        raise FundsimError(f"give at least one --admission {ADMISSION_FORMAT}")
    cc = compile_cascade(scenario, year)
    adm = person_admissions(cats.index(category), admissions).validate(len(cats))
    return cc, adm, apply_cascade(cc, adm)


def _cents(x: float) -> float:
    return round(float(x), 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def as_json(
    scenario: Scenario, category: str, cc: CompiledCascade, adm: Admissions, res: CascadeResult
) -> dict:
    """The calculation as a JSON-ready dict (amounts in yuan, rounded to the cent)."""
    names = cc.layer_names

    def row(total: float, in_policy: float, paid: np.ndarray, oop: float) -> dict:
        return {
            "total": _cents(total),
            "in_policy": _cents(in_policy),
            "paid": {n: _cents(v) for n, v in zip(names, paid, strict=True)},
            "paid_total": _cents(paid.sum()),
            "oop": _cents(oop),
        }

    rows = []
    for i in range(len(adm)):
        r = {
            "level": LEVELS[adm.level[i]].value,
            "claim_type": CLAIM_TYPES[adm.claim_type[i]].value,
        }
        r.update(row(adm.total[i], adm.in_policy[i], res.paid[i], res.oop[i]))
        rows.append(r)
    return {
        "scenario": scenario.name,
        "year": cc.year,
        "category": category,
        "layers": [
            {"name": layer.name, "label": layer.label, "fund": layer.fund} for layer in cc.layers
        ],
        "admissions": rows,
        "year_total": row(
            adm.total.sum(), adm.in_policy.sum(), res.paid.sum(axis=0), res.oop.sum()
        ),
    }


def as_table(data: dict) -> str:
    """The calculation as a plain-text table, one row per admission and one for the year."""
    names = [layer["name"] for layer in data["layers"]]
    header = ["#", "level", "type", "total", "in_policy", *names, "oop"]

    def money(x: float) -> str:
        return f"{x:,.2f}"

    def cells(label: str, level: str, ctype: str, r: dict) -> list[str]:
        paid = [money(r["paid"][n]) for n in names]
        return [
            label,
            level,
            ctype,
            money(r["total"]),
            money(r["in_policy"]),
            *paid,
            money(r["oop"]),
        ]

    body = [
        cells(str(i + 1), r["level"], r["claim_type"], r) for i, r in enumerate(data["admissions"])
    ]
    body.append(cells("year", "", "", data["year_total"]))
    widths = [max(len(row[k]) for row in [header, *body]) for k in range(len(header))]
    left = {0, 1, 2}

    def fmt(row: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if k in left else c.rjust(w)
            for k, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [
        f"{data['scenario']}, {data['year']}, category {data['category']} (amounts in yuan)",
        fmt(header),
        rule,
        *(fmt(r) for r in body[:-1]),
        rule,
        fmt(body[-1]),
        "",
        "layers (in the order they pay):",
        *(f"  {la['name']}: {la['label']} (fund {la['fund']})" for la in data["layers"]),
    ]
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "claim",
        help="what each layer pays for one person's admissions",
        description="What each layer of cover pays for one person's admissions in a year, and the "
        "out-of-pocket cost left to the person.",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file")
    p.add_argument(
        "--category", required=True, help="the person's category (a key of [categories])"
    )
    p.add_argument("--year", type=int, help="policy year (default: the scenario's start year)")
    p.add_argument(
        "--admission",
        dest="admissions",
        action="extend",
        nargs="+",
        required=True,
        metavar=ADMISSION_FORMAT,
        help="an admission, in time order: hospital level (primary, county, city), total and "
        "in-policy cost in yuan, claim type (inpatient by default, or chronic); repeatable",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    admissions = [parse_admission(a) for a in args.admissions]
    year = scenario.start_year if args.year is None else args.year
    cc, adm, res = calculate(scenario, args.category, year, admissions)
    data = as_json(scenario, args.category, cc, adm, res)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(as_table(data))
    return 0
