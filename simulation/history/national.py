"""The national basic medical insurance aggregates 2018-2023 as a history table.

The package ships ``data/national_medical_insurance_2018_2023.csv`` (one row per published number
with its source URL and quote; see the README beside it for vintages, definitions, the 2020
epidemic year and the gaps). :func:`national_history` reads one consistent vintage of it, the
national healthcare security administration's data bank (``*_nhsa_databank``), for one scheme:

=========================  ========================================  ======
history column             quantity in the data set                  unit
=========================  ========================================  ======
``insured``                ``participants_nhsa_databank``            万人 -> persons
``admissions``             ``discharges_nhsa_databank``              万人次 -> admissions
``total_cost``             ``inpatient_medical_cost_nhsa_databank``  亿元 -> yuan
``financing``              ``fund_revenue`` (final bulletins)        亿元 -> yuan
=========================  ========================================  ======

A year a quantity has no number for is left empty (a gap the calibration reports); nothing is
estimated or filled. The fund is named ``basic`` (the scenario ``national_residents_2018``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .table import TOTAL, History

DATA_FILE = "national_medical_insurance_2018_2023.csv"
UNITS = {"万人": 1e4, "万人次": 1e4, "亿元": 1e8, "亿人": 1e8, "元": 1.0}
MAPPING = {
    "insured": "participants_nhsa_databank",
    "admissions": "discharges_nhsa_databank",
    "total_cost": "inpatient_medical_cost_nhsa_databank",
    "financing": "fund_revenue",
}


def data_path() -> Path:
    """The shipped data set's path."""
    return Path(str(resources.files("simulation.history") / "data" / DATA_FILE))


def read_national(path: str | Path | None = None) -> pd.DataFrame:
    """The data set as published (columns ``year, quantity, value, unit, scheme, source_url,
    source_quote``) with ``value_si``: the value in persons, admissions or yuan."""
    df = pd.read_csv(path or data_path(), dtype={"year": np.int64})
    df["value_si"] = df["value"] * df["unit"].map(UNITS)
    return df


def national_history(scheme: str = "residents", path: str | Path | None = None) -> History:
    """One row per year 2018-2023 of ``scheme`` (module docstring)."""
    df = read_national(path)
    df = df[df["scheme"] == scheme]
    years = sorted(df["year"].unique())
    frame = pd.DataFrame({"year": np.array(years, dtype=np.int64)})
    for col, quantity in MAPPING.items():
        sel = df[df["quantity"] == quantity].set_index("year")["value_si"]
        frame[col] = frame["year"].map(sel).astype(float)
    frame.insert(0, "fund", "basic")
    frame.insert(0, "line", np.arange(2, 2 + len(frame)))
    frame["category"] = TOTAL
    frame["hospital_level"] = TOTAL
    frame["source"] = "national bulletins, nhsa data bank vintage (" + DATA_FILE + ")"
    return History(path=str(path or data_path()), frame=frame)


__all__ = ["DATA_FILE", "MAPPING", "data_path", "national_history", "read_national"]
