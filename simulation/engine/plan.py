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

from ..errors import FundsimError
from ..models.frequency import _sf_table, cell_rate, claim_probability  # the sampler's own table
from ..models.population import Group, roster_groups
from ..models.severity import (
    SplicedSeverity,
    beta_params,
    cost_trend_factor,
    lognormal_params,
    severity_from_config,
)
from ..rules.layers import CompiledCascade, compile_cascade
from ..scenario.resolve import scenario_for_year
from ..scenario.schema import (
    CLAIM_TYPES,
    LEVELS,
    BodyKind,
    ClaimType,
    FrequencyKind,
    Income,
    Scenario,
)
from .cascade import PackedCascade
from .paths import GroupArrays
from .quantiles import M as QUANTILE_CELLS
from .quantiles import beta_quantile_table
from .samplers import SEV_COLUMNS, gamma_constants


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
    tier: str | None = None
    """The financing tier of the group's cell (None: the cell has no tier)."""


@dataclass(frozen=True)
class GroupTables:
    """A group's claim laws as flat arrays for the compiled engine kernel (:mod:`.simulate`).

    One row per claim type the group has, in the order of ``GroupPlan.claims``:

    - ``claim_type`` (int64): claim type code; ``claim_probability``: ``P(N >= 1)``;
    - ``count_sf``: ``P(N > n)`` for ``n = 1, 2, ...`` (zero-padded; the table of
      :func:`~simulation.models.frequency.sample_positive_counts`);
    - ``seg_cum``: cumulative probability that a claim falls in each segment, 1 from the last
      segment with claims on (so a uniform below 1 never lands on an empty segment);
    - ``level_cum`` ``(n_ct, n_seg, n_levels)``: cumulative hospital-level mix by segment;
      ``fixed_level`` ``(n_ct, n_seg)``: the level when the mix has a single level (no draw), else -1;
    - ``share`` ``(n_ct, n_levels, 2)``: in-policy share ``(mean, a)``: ``a`` the first shape of its
      beta law (drawn through the year's ``share_tables``), or 0 for a constant share ``mean``;

    and per segment ``seg_start``, ``seg_end``, ``seg_category`` (int64); ``income`` = ``(mu,
    sigma)`` of the lognormal household income per person.
    """

    claim_type: np.ndarray
    claim_probability: np.ndarray
    count_sf: np.ndarray
    seg_cum: np.ndarray
    level_cum: np.ndarray
    fixed_level: np.ndarray
    share: np.ndarray
    seg_start: np.ndarray
    seg_end: np.ndarray
    seg_category: np.ndarray
    income: np.ndarray

    @property
    def arrays(self) -> GroupArrays:
        """The tables as the compiled pass takes them (:class:`~.paths.GroupArrays`)."""
        return GroupArrays(**{name: getattr(self, name) for name in GroupArrays._fields})


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
    severity_table: np.ndarray
    """The severities as rows for the kernel, ``(n_claim_types, n_levels, len(SEV_COLUMNS))``
    (:func:`severity_table`)."""
    share_tables: np.ndarray
    """Quantile tables of the in-policy shares' beta laws, ``(n_claim_types, n_levels, 5, M + 1)``
    (:func:`share_tables`; zeros for a constant share)."""
    tables: tuple[GroupTables, ...]
    """The kernel tables of each group (same order as ``groups``)."""
    premium: dict[str, float]
    """Yuan raised by each fund in the year (including last year's entrants' financing)."""
    financing: dict[str, dict[str | None, float]]
    """Each fund's financing per head in the year by financing tier (:func:`financing_per_head`
    under the year's rules; yuan)."""
    covered: dict[str, frozenset[str]]
    """The categories each fund covers under the year's rules (:func:`covered_categories`)."""
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


def financing_per_head(scenario: Scenario, fund: str, tier: str | None, year: int) -> float:
    """Financing per head of ``fund`` for a person of financing ``tier`` in ``year``, yuan (the
    one definition: the plan's premium, the cash-flow model's transfers; ``scenario`` the rules in
    force that year; ``tier`` is ignored by an untiered financing, and tiers are checked on load)."""
    fin = scenario.funds[fund].financing_per_head
    if isinstance(fin, dict):
        return fin[tier].at(year)
    return fin.at(year)


def _financing_by_tier(scenario: Scenario, year: int) -> dict[str, dict[str | None, float]]:
    """Each fund's financing per head in ``year`` by the tier of the population's cells (yuan)."""
    tiers = sorted({c.tier for c in scenario.population.cells.values()}, key=str)
    out = {}
    for fund, cfg in scenario.funds.items():
        fin = cfg.financing_per_head
        out[fund] = {
            tier: financing_per_head(scenario, fund, tier, year)
            for tier in tiers
            if not isinstance(fin, dict) or tier in fin
        }
    return out


def _premium(
    scenario: Scenario,
    groups: list[Group],
    year: int,
    receivable_groups: list[Group],
    rec_year: int,
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
                money += g.count * financing_per_head(scenario, fund, tier, year)
                persons += g.count
            person_years += g.count * sum(s.end - s.start for s in g.segments if s.category in cats)
        for g in receivable_groups:
            tier = scenario.population.cells[g.cell].tier
            if g.segments[0].category not in cats and g.segments[-1].category in cats:
                money += g.count * financing_per_head(scenario, fund, tier, rec_year)
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
                np.cumsum(
                    [mix.get(s.category, mix.get("default", {})).get(lvl, 0.0) for lvl in LEVELS]
                )
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
        tier=cell.tier,
    )


def _cumulative_weights(weights: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights)
    positive = np.flatnonzero(weights > 0)
    cum[positive[-1] if positive.size else 0 :] = 1.0
    return cum


def _share_row(mean: float, sd: float) -> list[float]:
    return [mean, 0.0 if sd == 0 else beta_params(mean, sd)[0]]


def group_tables(g: GroupPlan) -> GroupTables:
    """The kernel tables of a group (see :class:`GroupTables`)."""
    n_lev = len(LEVELS)
    n_ct, n_seg = len(g.claims), len(g.seg_start)
    sfs = [_sf_table(cp.mean, cp.kind, cp.dispersion) for cp in g.claims]
    count_sf = np.zeros((n_ct, max((t.size for t in sfs), default=1)))
    for t, table in enumerate(sfs):
        count_sf[t, : table.size] = table
    level_cum = np.zeros((n_ct, n_seg, n_lev))
    fixed = np.full((n_ct, n_seg), -1, dtype=np.int64)
    for t, cp in enumerate(g.claims):
        level_cum[t] = cp.level_cum
        for s in range(n_seg):
            probs = np.diff(cp.level_cum[s], prepend=0.0)
            if np.count_nonzero(probs > 0) == 1:
                fixed[t, s] = int(np.flatnonzero(probs > 0)[0])
    return GroupTables(
        claim_type=np.array([cp.claim_type for cp in g.claims], dtype=np.int64),
        claim_probability=np.array(
            [claim_probability(cp.mean, cp.kind, cp.dispersion) for cp in g.claims],
            dtype=np.float64,
        ),
        count_sf=count_sf,
        seg_cum=np.array([_cumulative_weights(cp.seg_weights) for cp in g.claims]).reshape(
            n_ct, n_seg
        ),
        level_cum=level_cum,
        fixed_level=fixed,
        share=np.array(
            [[_share_row(*cp.in_policy[lvl]) for lvl in range(n_lev)] for cp in g.claims]
        ).reshape(n_ct, n_lev, 2),
        seg_start=np.asarray(g.seg_start, dtype=np.float64),
        seg_end=np.asarray(g.seg_end, dtype=np.float64),
        seg_category=g.seg_category.astype(np.int64),
        income=np.array(lognormal_params(g.income.mean_yuan, g.income.cv)),
    )


def severity_row(sev: SplicedSeverity) -> list[float]:
    """A severity as the kernel's row (columns :data:`~.samplers.SEV_COLUMNS`)."""
    gamma = sev.body is BodyKind.GAMMA
    return [
        1.0 if gamma else 0.0,
        sev.p1,
        sev.p2,
        1.0 if sev.has_tail else 0.0,
        sev.tail_quantile if sev.has_tail else 1.0,
        sev.threshold,
        sev.tail_shape,
        sev.gpd_scale if sev.has_tail else 0.0,
        *(gamma_constants(sev.p1) if gamma else (0.0, 0.0)),
    ]


def severity_table(severities: tuple[tuple[SplicedSeverity, ...], ...]) -> np.ndarray:
    """Rows of :func:`severity_row` by claim type and level (zeros for a claim type without model)."""
    out = np.zeros((len(CLAIM_TYPES), len(LEVELS), len(SEV_COLUMNS)))
    for ct, by_level in enumerate(severities):
        for lvl, sev in enumerate(by_level):
            out[ct, lvl] = severity_row(sev)
    return out


def share_tables(scenario: Scenario) -> np.ndarray:
    """The quantile tables (:func:`~.quantiles.beta_quantile_table`) of the in-policy share of each
    claim type and level, ``(n_claim_types, n_levels, 5, M + 1)``; zeros where the share is constant
    or the claim type has no model."""
    out = np.zeros((len(CLAIM_TYPES), len(LEVELS), 5, QUANTILE_CELLS + 1))
    for ct, name in enumerate(CLAIM_TYPES):
        model = scenario.claims.get(name)
        if model is None:
            continue
        for lvl, level in enumerate(LEVELS):
            cfg = model.severity.levels[level]
            if cfg.in_policy_sd > 0:
                out[ct, lvl] = beta_quantile_table(
                    *beta_params(cfg.in_policy_mean, cfg.in_policy_sd)
                )
    return out


def build_plan(scenario: Scenario, years: int | None = None) -> RunPlan:
    """Work out the deterministic part of a run of ``years`` policy years (default: the horizon)."""
    if years is not None and years < 1:
        raise FundsimError(f"years must be at least 1, found {years}")
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
        cascade_old = (
            compile_cascade(scenario_for_year(scenario, year, with_changes=False), year)
            if changed
            else None
        )
        groups = roster_groups(s_year, year)
        receivable, rec_year = (
            (previous_groups, year - 1) if previous_groups is not None else (groups, year)
        )
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
        group_plans = tuple(_group_plan(s_year, g, year, cat_code) for g in groups if g.count > 0)
        plans.append(
            YearPlan(
                year=year,
                cascade=cascade,
                cascade_old=cascade_old,
                packed=PackedCascade(cascade, fund_index),
                packed_old=PackedCascade(cascade_old, fund_index)
                if cascade_old is not None
                else None,
                groups=group_plans,
                severities=tuple(severities),
                severity_table=severity_table(tuple(severities)),
                share_tables=share_tables(s_year),
                tables=tuple(group_tables(g) for g in group_plans),
                premium=premium,
                financing=_financing_by_tier(s_year, year),
                covered={f: frozenset(covered_categories(s_year, f)) for f in s_year.funds},
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


__all__ = [
    "ClaimPlan",
    "ClaimType",
    "GroupPlan",
    "GroupTables",
    "RunPlan",
    "YearPlan",
    "build_plan",
    "covered_categories",
    "financing_per_head",
    "group_tables",
    "severity_row",
    "severity_table",
    "share_tables",
]
