"""Synthetic claims and exposure tables drawn from a scenario, so fitting can be tried end to end.

For each policy year from the scenario's start year, and each population group of the roster
(:func:`~simulation.models.population.roster_groups`: persons of one cell sharing one coverage
timeline of segments, each with a category), in this order:

1. the group's exposure: ``count * (segment end - segment start)`` person-years for each segment's
   category, in the cell's age band;
2. for each claim type, the persons with at least one claim
   (:func:`~simulation.models.frequency.sample_claimants`, with the group's expected claims per
   person ``sum over segments of cell_rate * segment length``) and their numbers of claims
   (:func:`~simulation.models.frequency.sample_positive_counts`); persons with claims of a second
   type overlap those of the first hypergeometrically (persons are exchangeable);
3. each claim's date (segment with probability proportional to its expected claims, uniform
   within it), hospital level (the segment category's level mix), total cost (the level's spliced
   severity, trended: :func:`~simulation.models.severity.severity_from_config` and
   :func:`~simulation.models.severity.cost_trend_factor`) and in-policy cost (total times a beta
   share, :func:`~simulation.models.severity.sample_in_policy_share`);
4. each claimant's age: uniform on the whole years of the cell's age band (an open band such as
   ``60+`` runs to 89, see :data:`OPEN_BAND_END`).

Identifiers are pseudonymous only: ``P`` and a running number (``P0000001``), one per person of a
group in a year (the same person in two years gets two identifiers). Costs are rounded to the fen
(0.01 yuan). ``scale`` shrinks every group (``round(count * scale)`` persons) for quick trials.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import FundsimError
from .models.frequency import cell_rate, sample_claimants, sample_positive_counts
from .models.population import roster_groups
from .models.severity import cost_trend_factor, sample_in_policy_share, severity_from_config
from .scenario.resolve import scenario_for_year
from .scenario.schema import CLAIM_TYPES, LEVELS, Scenario, parse_age_band

OPEN_BAND_YEARS = 30
OPEN_BAND_END = 90
"""An open age band ``a+`` is drawn uniformly on the whole ages ``a .. max(a + OPEN_BAND_YEARS,
OPEN_BAND_END) - 1``: ``60+`` on 60-89, ``80+`` on 80-109, ``0+`` and ``all`` on 0-89 (ASSUMPTION: a
synthetic-data convention, not a life table)."""
ID_DIGITS = 7

CLAIMS_COLUMNS = (
    "person_id",
    "category",
    "age",
    "admission_date",
    "hospital_level",
    "total_cost",
    "in_policy_cost",
    "claim_type",
)


@dataclass(frozen=True)
class SynthTables:
    """A synthetic claims table (one row per claim) and its exposure table."""

    claims: pd.DataFrame
    exposure: pd.DataFrame


def age_range(label: str) -> tuple[int, int]:
    """The whole ages ``(low, high)`` of a band (inclusive): ``60+`` -> (60, 89), ``all`` -> (0, 89)
    (:data:`OPEN_BAND_END`)."""
    band = parse_age_band(label)
    if band.high is not None:
        return band.low, band.high
    high = max(band.low + OPEN_BAND_YEARS, OPEN_BAND_END) - 1
    return band.low, high


def _dates(year: int, t: np.ndarray) -> np.ndarray:
    """Dates of year fractions ``t`` in [0, 1): day ``floor(t * days in the year)`` from January 1."""
    days = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    day = np.minimum(np.floor(np.asarray(t) * days).astype(np.int64), days - 1)
    return np.datetime64(f"{year}-01-01") + day.astype("timedelta64[D]")


def synth_claims(
    scenario: Scenario, years: int, rng: np.random.Generator, scale: float = 1.0
) -> SynthTables:
    """Claims and exposure of ``years`` policy years of ``scenario`` (see the module docstring)."""
    if years < 1:
        raise FundsimError(f"years must be at least 1, found {years}")
    if not scale > 0:
        raise FundsimError(f"scale must be positive, found {scale:g}")
    claim_frames: list[pd.DataFrame] = []
    exposure: dict[tuple[str, str, int], float] = {}
    next_id = 1
    for k in range(years):
        year = scenario.start_year + k
        s_year = scenario_for_year(scenario, year)
        severities = {}
        for ct in CLAIM_TYPES:
            model = s_year.claims.get(ct)
            if model is not None:
                factor = cost_trend_factor(model.severity, scenario.start_year, year)
                severities[ct] = [
                    severity_from_config(model.severity.levels[lvl], factor) for lvl in LEVELS
                ]
        for g in roster_groups(s_year, year):
            count = int(round(g.count * scale))
            if count <= 0:
                continue
            cell = s_year.population.cells[g.cell]
            start = np.array([s.start for s in g.segments], dtype=np.float64)
            end = np.array([s.end for s in g.segments], dtype=np.float64)
            cats = [s.category for s in g.segments]
            for cat, length in zip(cats, end - start, strict=True):
                key = (cat, cell.age_band, year)
                exposure[key] = exposure.get(key, 0.0) + count * float(length)
            frame, persons = _group_claims(
                rng,
                s_year,
                scenario.start_year,
                year,
                count,
                cell.age_band,
                cats,
                start,
                end,
                severities,
            )
            if frame is not None:
                frame["person_id"] = [f"P{next_id + i:0{ID_DIGITS}d}" for i in frame.pop("person")]
                claim_frames.append(frame)
            next_id += persons
    claims = (
        pd.concat(claim_frames, ignore_index=True)
        if claim_frames
        else pd.DataFrame({c: [] for c in CLAIMS_COLUMNS})
    )
    claims = claims[list(CLAIMS_COLUMNS)]
    exposure_df = pd.DataFrame(
        [(c, a, y, round(v, 6)) for (c, a, y), v in exposure.items() if v > 0],
        columns=["category", "age_band", "year", "person_years"],
    )
    return SynthTables(claims, exposure_df)


def _group_claims(
    rng: np.random.Generator,
    s_year: Scenario,
    start_year: int,
    year: int,
    count: int,
    age_band: str,
    cats: list[str],
    start: np.ndarray,
    end: np.ndarray,
    severities: dict,
) -> tuple[pd.DataFrame | None, int]:
    """One group's claims in a year (``person`` is an index within the group) and its claimants."""
    persons = 0
    parts = []
    for ct in CLAIM_TYPES:
        model = s_year.claims.get(ct)
        if model is None:
            continue
        freq = model.frequency
        rates = np.array([cell_rate(freq, c, age_band, start_year, year) for c in cats])
        seg_means = rates * (end - start)
        mean = float(seg_means.sum())
        if mean <= 0:
            continue
        k = int(sample_claimants(rng, count, mean, freq.distribution, freq.dispersion))
        if k == 0:
            continue
        overlap = int(rng.hypergeometric(persons, count - persons, k)) if persons else 0
        person_of = np.concatenate([np.arange(overlap), persons + np.arange(k - overlap)])
        persons += k - overlap
        counts = np.asarray(
            sample_positive_counts(rng, k, mean, freq.distribution, freq.dispersion)
        )
        owner = np.repeat(person_of, counts)
        n = owner.size
        cum = np.cumsum(seg_means / mean)
        seg = np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cats) - 1)
        t = start[seg] + rng.random(n) * (end[seg] - start[seg])
        mix = model.severity.level_mix
        level_cum = np.array(
            [
                np.cumsum([mix.get(c, mix.get("default", {})).get(lvl, 0.0) for lvl in LEVELS])
                for c in cats
            ]
        )
        level_cum[:, -1] = 1.0
        level = (rng.random(n)[:, None] >= level_cum[seg]).sum(axis=1)
        total = np.empty(n)
        in_pol = np.empty(n)
        for i, lvl in enumerate(LEVELS):
            idx = np.flatnonzero(level == i)
            if idx.size == 0:
                continue
            cost = np.asarray(severities[ct][i].sample(rng, idx.size), dtype=np.float64)
            cfg = model.severity.levels[lvl]
            total[idx] = cost
            in_pol[idx] = cost * np.asarray(
                sample_in_policy_share(rng, idx.size, cfg.in_policy_mean, cfg.in_policy_sd)
            )
        total = np.maximum(np.round(total, 2), 0.01)
        in_pol = np.minimum(np.round(in_pol, 2), total)
        parts.append(
            pd.DataFrame(
                {
                    "person": owner,
                    "category": np.array(cats, dtype=object)[seg],
                    "admission_date": pd.to_datetime(_dates(year, t)).strftime("%Y-%m-%d"),
                    "hospital_level": np.array([lv.value for lv in LEVELS], dtype=object)[level],
                    "total_cost": total,
                    "in_policy_cost": in_pol,
                    "claim_type": ct.value,
                }
            )
        )
    if not parts:
        return None, persons
    frame = pd.concat(parts, ignore_index=True)
    low, high = age_range(age_band)
    ages = rng.integers(low, high + 1, size=persons)
    frame["age"] = ages[frame["person"].to_numpy()]
    order = np.lexsort((frame["admission_date"].to_numpy(), frame["person"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True), persons
