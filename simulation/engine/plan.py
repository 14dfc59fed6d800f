"""Everything deterministic about a run, worked out once before any path is drawn.

A :class:`RunPlan` holds, for each policy year, the compiled layer cascade (and the cascade of the
rules before any declared change, for the policy-change subsidy), the population groups with their
claim rates and severities, and each fund's premium. Blocks of paths only read it, so it is shipped
once to every worker.

Premium convention (RULES.md section 2, seed 000): a fund is financed, per head and by tier, for
the persons whose category at the start of the year it covers; an entrant whose category before
verification the fund does not cover is financed in the next year (a receivable). In the first
simulated year the receivable from the year before is taken equal to this year's entrants (the
roster is assumed in steady state before the window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.frequency import cell_rate
from ..models.population import Group, roster_groups
from ..models.severity import SplicedSeverity, cost_trend_factor, severity_from_config
from ..rules.layers import CompiledCascade, compile_cascade
from .kernel import PackedCascade
from ..scenario.resolve import scenario_for_year
from ..scenario.schema import (
    CLAIM_TYPES,
    LEVELS,
    ClaimType,
    FrequencyKind,
    Income,
    Scenario,
)


@dataclass(frozen=True)
class ClaimPlan:
    """One claim type for one group: expected claims per person and where they fall."""

    claim_type: int
    """Index in CLAIM_TYPES."""
    mean: float
    """Expected claims per person in the year (sum over the person's segments)."""
    seg_weights: np.ndarray
    """Probability that a claim falls in each segment (proportional to rate x length)."""
    kind: FrequencyKind
    dispersion: float
    level_cum: np.ndarray
    """Cumulative hospital-level mix by segment, shape (n_segments, n_levels)."""
    in_policy: tuple[tuple[float, float], ...]
    """(mean, sd) of the in-policy share by level."""


@dataclass(frozen=True)
class GroupPlan:
    """A group of exchangeable persons (one cell, one coverage timeline) in one year."""

    key: str
    cell: str
    count: int
    start_category: int
    """Category code at the start of the year (used to report by category)."""
    seg_start: np.ndarray
    seg_end: np.ndarray
    seg_category: np.ndarray
    """Category code of each segment (int16)."""
    income: Income
    claims: tuple[ClaimPlan, ...]


@dataclass(frozen=True)
class YearPlan:
    year: int
    cascade: CompiledCascade
    cascade_old: CompiledCascade | None
    """The rules before any declared change, when a change is in force this year."""
    packed: PackedCascade
    packed_old: PackedCascade | None
    groups: tuple[GroupPlan, ...]
    severities: tuple[tuple[SplicedSeverity, ...], ...]
    """Severity by claim type index and level index (None where a claim type has no model)."""
    premium: dict[str, float]
    """Yuan raised by each fund in the year (including last year's entrants' financing)."""
    insured: dict[str, float]
    """Persons financed by each fund in the year."""
    exposure: dict[str, float]
    """Covered person-years of each fund in the year."""
    population: int
    """Persons in the population at any time of the year (roster at start plus entrants)."""


@dataclass(frozen=True)
class RunPlan:
    scenario: Scenario
    years: tuple[YearPlan, ...]
    categories: tuple[str, ...]
    funds: tuple[str, ...]
    layers: tuple[str, ...]
    layer_fund: np.ndarray
    """Fund index of each layer."""

    @property
    def year_labels(self) -> list[int]:
        return [y.year for y in self.years]


def covered_categories(scenario: Scenario, fund: str) -> set[str]:
    """Categories covered by at least one layer the fund pays."""
    out: set[str] = set()
    for layer in scenario.layers.values():
        if layer.fund == fund:
            out |= set(scenario.categories) if "all" in layer.covers else set(layer.covers)
    return out


def _per_head(scenario: Scenario, fund: str, tier: str | None, year: int) -> float:
    fin = scenario.funds[fund].financing_per_head
    if isinstance(fin, dict):
        return fin[tier].at(year)  # tiers are checked on load
    return fin.at(year)


def _premium(
    scenario: Scenario, groups: list[Group], year: int, receivable_groups: list[Group], rec_year: int
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    premium: dict[str, float] = {}
    insured: dict[str, float] = {}
    exposure: dict[str, float] = {}
    for fund in scenario.funds:
        cats = covered_categories(scenario, fund)
        money = persons = person_years = 0.0
        for g in groups:
            tier = scenario.population.cells[g.cell].tier
            if g.segments[0].category in cats:
                money += g.count * _per_head(scenario, fund, tier, year)
                persons += g.count
            person_years += g.count * sum(s.end - s.start for s in g.segments if s.category in cats)
        for g in receivable_groups:
            tier = scenario.population.cells[g.cell].tier
            if g.segments[0].category not in cats and g.segments[-1].category in cats:
                money += g.count * _per_head(scenario, fund, tier, rec_year)
                persons += g.count
        premium[fund], insured[fund], exposure[fund] = money, persons, person_years
    return premium, insured, exposure


def _group_plan(scenario: Scenario, g: Group, year: int, cat_code: dict[str, int]) -> GroupPlan:
    cell = scenario.population.cells[g.cell]
    seg_start = np.array([s.start for s in g.segments])
    seg_end = np.array([s.end for s in g.segments])
    seg_cat = np.array([cat_code[s.category] for s in g.segments], dtype=np.int16)
    claims = []
    for ct_index, ct in enumerate(CLAIM_TYPES):
        model = scenario.claims.get(ct)
        if model is None:
            continue
        rates = np.array(
            [
                cell_rate(model.frequency, s.category, cell.age_band, scenario.start_year, year)
                for s in g.segments
            ]
        )
        seg_means = rates * (seg_end - seg_start)
        mean = float(seg_means.sum())
        weights = seg_means / mean if mean > 0 else np.full(len(seg_means), 1.0 / len(seg_means))
        mix = model.severity.level_mix
        level_cum = np.array(
            [
                np.cumsum([mix.get(s.category, mix.get("default", {})).get(lvl, 0.0) for lvl in LEVELS])
                for s in g.segments
            ]
        )
        level_cum[:, -1] = 1.0
        in_policy = tuple(
            (model.severity.levels[lvl].in_policy_mean, model.severity.levels[lvl].in_policy_sd)
            for lvl in LEVELS
        )
        claims.append(
            ClaimPlan(
                claim_type=ct_index,
                mean=mean,
                seg_weights=weights,
                kind=model.frequency.distribution,
                dispersion=model.frequency.dispersion,
                level_cum=level_cum,
                in_policy=in_policy,
            )
        )
    return GroupPlan(
        key=g.key,
        cell=g.cell,
        count=int(g.count),
        start_category=cat_code[g.segments[0].category],
        seg_start=seg_start,
        seg_end=seg_end,
        seg_category=seg_cat,
        income=cell.income,
        claims=tuple(claims),
    )


def build_plan(scenario: Scenario, years: int | None = None) -> RunPlan:
    """Work out the deterministic part of a run of ``years`` policy years (default: the horizon)."""
    horizon = years if years is not None else scenario.horizon_years
    categories = tuple(scenario.categories)
    cat_code = {c: i for i, c in enumerate(categories)}
    funds = tuple(scenario.funds)
    fund_index = {f: i for i, f in enumerate(funds)}
    plans = []
    previous_groups: list[Group] | None = None
    for k in range(horizon):
        year = scenario.start_year + k
        s_year = scenario_for_year(scenario, year)
        changed = any(int(y) <= year for y in scenario.changes)
        cascade = compile_cascade(s_year, year)
        cascade_old = compile_cascade(scenario_for_year(scenario, year, with_changes=False), year) if changed else None
        groups = roster_groups(s_year, year)
        receivable, rec_year = (previous_groups, year - 1) if previous_groups is not None else (groups, year)
        premium, insured, exposure = _premium(s_year, groups, year, receivable, rec_year)
        severities = []
        for ct in CLAIM_TYPES:
            model = s_year.claims.get(ct)
            if model is None:
                severities.append(())
                continue
            factor = cost_trend_factor(model.severity, scenario.start_year, year)
            severities.append(
                tuple(severity_from_config(model.severity.levels[lvl], factor) for lvl in LEVELS)
            )
        plans.append(
            YearPlan(
                year=year,
                cascade=cascade,
                cascade_old=cascade_old,
                packed=PackedCascade(cascade, fund_index),
                packed_old=PackedCascade(cascade_old, fund_index) if cascade_old is not None else None,
                groups=tuple(_group_plan(s_year, g, year, cat_code) for g in groups if g.count > 0),
                severities=tuple(severities),
                premium=premium,
                insured=insured,
                exposure=exposure,
                population=int(sum(g.count for g in groups)),
            )
        )
        previous_groups = groups
    layer_names = tuple(plans[0].cascade.layer_names)
    layer_fund = np.array([funds.index(f) for f in plans[0].cascade.fund_of_layer], dtype=np.int64)
    return RunPlan(
        scenario=scenario,
        years=tuple(plans),
        categories=categories,
        funds=funds,
        layers=layer_names,
        layer_fund=layer_fund,
    )


__all__ = ["ClaimPlan", "GroupPlan", "RunPlan", "YearPlan", "build_plan", "covered_categories", "ClaimType"]
