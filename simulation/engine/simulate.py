"""Monte Carlo simulation of one block of paths: claimants, admissions, the cascade, aggregates.

Order of steps for each path, policy year and population group (exchangeable persons of one cell
with one coverage timeline), all drawn from the group's own stream (see :mod:`.streams`):

1. for each claim type, the number of persons with at least one claim, Binomial(n, P(N >= 1));
   persons with claims of a second type overlap those of the first hypergeometrically (persons are
   exchangeable, so who they are does not matter, only how many are shared);
2. each claimant's number of claims from the zero-truncated frequency distribution;
3. each claim's time (segment with probability proportional to its expected claims, uniform in it),
   hospital level (by the category's level mix), total cost (spliced severity of the level, trended)
   and in-policy share (beta);
4. each claimant's household income (lognormal), for the catastrophic out-of-pocket measure;
5. the admissions, sorted by person and time, go through the layer cascade (the compiled kernel of
   :mod:`.kernel`, tested against :func:`simulation.rules.layers.apply_cascade`), and through the
   rules before any declared change, for the policy-change subsidy; only per-path aggregates are
   kept.

Persons without claims cost no work: they pay nothing and have no out-of-pocket cost.
"""

from __future__ import annotations

import numpy as np

from ..models.frequency import sample_claimants, sample_positive_counts
from ..models.income import sample_income
from ..models.severity import sample_in_policy_share
from ..rules.layers import Admissions
from .kernel import cascade_kernel, per_person
from .plan import GroupPlan, RunPlan, YearPlan
from .streams import BLOCK_PATHS, block_paths, stream

Arrays = dict[str, np.ndarray]


def measure_shapes(plan: RunPlan) -> dict[str, int]:
    """Per path and year: the measures a block returns and their widths."""
    nf, nl, nc = len(plan.funds), len(plan.layers), len(plan.categories)
    return {
        "fund_claims": nf,
        "fund_claims_old": nf,
        "fund_beneficiaries": nf,
        "layer_claims": nl,
        "category_claims": nc,
        "category_catastrophic": nc,
        "category_claimants": nc,
        "catastrophic": 1,
        "oop": 1,
        "total_cost": 1,
        "admissions": 1,
        "claimants": 1,
    }


def _draw_group(
    rng: np.random.Generator, g: GroupPlan, yp: YearPlan
) -> tuple[Admissions, np.ndarray, int] | None:
    """Draw one path's admissions of a group: (admissions, their times in the year, persons)."""
    persons = 0
    owners, times, segs, levels, totals, in_pols, ctypes = [], [], [], [], [], [], []
    for cp in g.claims:
        k = int(sample_claimants(rng, g.count, cp.mean, cp.kind, cp.dispersion))
        if persons == 0 or k == 0:
            overlap = 0
        else:
            overlap = int(rng.hypergeometric(persons, max(g.count - persons, 0), k)) if k else 0
        person_of = np.empty(k, dtype=np.int64)
        person_of[:overlap] = np.arange(overlap)
        person_of[overlap:] = persons + np.arange(k - overlap)
        persons += k - overlap
        if k == 0:
            continue
        counts = sample_positive_counts(rng, k, cp.mean, cp.kind, cp.dispersion)
        owner = np.repeat(person_of, counts)
        n = owner.size
        cum = np.cumsum(cp.seg_weights)
        seg = np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)
        t = g.seg_start[seg] + rng.random(n) * (g.seg_end[seg] - g.seg_start[seg])
        level = (rng.random(n)[:, None] >= cp.level_cum[seg]).sum(axis=1).astype(np.int8)
        total = np.empty(n)
        in_pol = np.empty(n)
        sev = yp.severities[cp.claim_type]
        for lvl in range(len(sev)):
            idx = np.flatnonzero(level == lvl)
            if idx.size == 0:
                continue
            cost = sev[lvl].sample(rng, idx.size)
            mean, sd = cp.in_policy[lvl]
            total[idx] = cost
            in_pol[idx] = cost * sample_in_policy_share(rng, idx.size, mean, sd)
        owners.append(owner)
        times.append(t)
        segs.append(seg)
        levels.append(level)
        totals.append(total)
        in_pols.append(in_pol)
        ctypes.append(np.full(n, cp.claim_type, dtype=np.int8))
    if persons == 0:
        return None
    owner = np.concatenate(owners)
    time_of = np.concatenate(times)
    order = np.argsort(owner + time_of, kind="stable")
    seg = np.concatenate(segs)[order]
    adm = Admissions(
        person=owner[order],
        category=g.seg_category[seg].astype(np.int16),
        level=np.concatenate(levels)[order],
        claim_type=np.concatenate(ctypes)[order],
        total=np.concatenate(totals)[order],
        in_policy=np.concatenate(in_pols)[order],
    )
    return adm, time_of[order], persons


def _path_year(
    plan: RunPlan, yp: YearPlan, gens: dict[str, np.random.Generator], out: Arrays, i: int, y: int
) -> None:
    """Simulate path row ``i`` of the block in year index ``y``, adding into ``out``."""
    share = plan.scenario.economy.catastrophic_share
    for g in yp.groups:
        rng = gens[g.key]
        drawn = _draw_group(rng, g, yp)
        if drawn is None:
            continue
        adm, _times, persons = drawn
        income = sample_income(rng, persons, g.income)
        paid, oop = cascade_kernel(yp.packed, adm)
        fund_pp, oop_pp, layer_sum = per_person(yp.packed, adm.person, paid, oop, persons)
        catastrophic = int(np.count_nonzero(oop_pp > share * income))
        fund_sum = fund_pp.sum(axis=0)
        out["fund_claims"][i, y] += fund_sum
        out["fund_beneficiaries"][i, y] += np.count_nonzero(fund_pp > 0, axis=0)
        out["layer_claims"][i, y] += layer_sum
        c = g.start_category
        out["category_claims"][i, y, c] += fund_sum.sum()
        out["category_catastrophic"][i, y, c] += catastrophic
        out["category_claimants"][i, y, c] += persons
        out["catastrophic"][i, y, 0] += catastrophic
        out["oop"][i, y, 0] += oop_pp.sum()
        out["total_cost"][i, y, 0] += adm.total.sum()
        out["admissions"][i, y, 0] += adm.person.size
        out["claimants"][i, y, 0] += persons
        if yp.packed_old is not None:
            paid_old, oop_old = cascade_kernel(yp.packed_old, adm)
            fund_old, _, _ = per_person(yp.packed_old, adm.person, paid_old, oop_old, persons)
            out["fund_claims_old"][i, y] += fund_old.sum(axis=0)
        else:
            out["fund_claims_old"][i, y] += fund_sum


def simulate_block(plan: RunPlan, seed: int, block: int, paths: int) -> tuple[int, Arrays]:
    """Simulate the paths of block ``block`` (of a run of ``paths`` paths).

    Returns the block index and arrays of shape (paths in block, years, width) per measure.
    A pure function of its arguments: any worker computes the same numbers.
    """
    rows = block_paths(block, paths)
    n_years = len(plan.years)
    out: Arrays = {
        name: np.zeros((len(rows), n_years, width)) for name, width in measure_shapes(plan).items()
    }
    gens = [{g.key: stream(seed, block, yp.year, g.key) for g in yp.groups} for yp in plan.years]
    for i in range(len(rows)):
        for y, yp in enumerate(plan.years):
            _path_year(plan, yp, gens[y], out, i, y)
    return block, out




def path_claims(plan: RunPlan, seed: int, path: int, paths: int | None = None) -> list[dict[str, np.ndarray]]:
    """The admissions of one path, year by year, exactly as the engine drew and paid them.

    Returns per policy year a dict of arrays, one row per admission: ``group`` (index into the
    year's groups), ``person`` (within the group), ``time`` (fraction of the year), ``category``,
    ``level``, ``claim_type``, ``total``, ``in_policy``, ``paid_<fund>`` (yuan, each fund), ``oop``.
    Used by the cash-flow model, which adds timing to the same claims. ``paths`` (the run's path
    count) does not change the numbers; it is accepted for symmetry with :func:`simulate_block`.
    """
    block = path // BLOCK_PATHS
    offset = path - block * BLOCK_PATHS
    years = []
    for yp in plan.years:
        rows: dict[str, list[np.ndarray]] = {}
        for gi, g in enumerate(yp.groups):
            rng = stream(seed, block, yp.year, g.key)
            for _ in range(offset + 1):
                drawn = _draw_group(rng, g, yp)
                if drawn is not None:
                    sample_income(rng, drawn[2], g.income)
            if drawn is None:
                continue
            adm, times, _persons = drawn
            paid, oop = cascade_kernel(yp.packed, adm)
            cols = {
                "group": np.full(len(adm), gi),
                "person": adm.person,
                "time": times,
                "category": adm.category,
                "level": adm.level,
                "claim_type": adm.claim_type,
                "total": adm.total,
                "in_policy": adm.in_policy,
                "oop": oop,
            }
            fund_paid = np.zeros((len(adm), len(plan.funds)))
            np.add.at(fund_paid.T, plan.layer_fund, paid.T)
            for f, name in enumerate(plan.funds):
                cols[f"paid_{name}"] = fund_paid[:, f]
            for k, v in cols.items():
                rows.setdefault(k, []).append(v)
        years.append({k: np.concatenate(v) for k, v in rows.items()})
    return years


__all__ = ["BLOCK_PATHS", "measure_shapes", "path_claims", "simulate_block"]
