"""Monte Carlo simulation of one block of paths: claimants, admissions, the cascade, aggregates.

Each population group (exchangeable persons of one cell with one coverage timeline) of each policy
year draws from its own stream ``stream(seed, block, year, group.key)`` (:mod:`.streams`), in this
fixed order, so a path's numbers depend only on (scenario, seed, its block):

1. for the block's :data:`~.streams.BLOCK_PATHS` paths at once (always all of them, however many
   paths the run has): for each claim type, the number of persons with at least one claim,
   ``Binomial(n, P(N >= 1))``; the persons with claims of a later type overlap those of the
   earlier ones hypergeometrically (persons are exchangeable, so who they are does not matter,
   only how many are shared). Persons are numbered so that those of the first type come first and
   the overlap of a later type is the first persons.
2. then path by path, person by person (one compiled pass, :func:`_group_paths`): for each claim
   type the person has, the number of claims from the zero-truncated frequency law; for each
   claim its time (one uniform: segment with probability proportional to its expected claims,
   uniform within it), hospital level (the category's level mix; no draw when the mix has a
   single level), total cost (spliced severity of the level, trended) and in-policy share (beta,
   by inversion through a quantile table, :mod:`.quantiles`; no draw when its sd is 0); then the person's household income (lognormal).
3. as soon as a person's admissions are drawn (in time order, in buffers of one person's size),
   they go through the layer cascade (:func:`.kernel.pay_admission`, tested against
   :func:`simulation.rules.layers.apply_cascade`) and, when a rule change is in force, through the
   rules before it (for the policy-change subsidy); only per-path sums are kept, added person by
   person and admission by admission in a fixed order.

Persons without claims cost no work: they pay nothing and have no out-of-pocket cost. The draws
do not depend on the layers, contracts or financing (common random numbers), and a group's draws
do not depend on any other group. The samplers (:mod:`.kernel`) are numpy's algorithms on the
stream's own PCG64DXSM generator; ``tests/test_engine_draws.py`` checks them against numpy and
against the models of :mod:`simulation.models`.

Cost (measured by ``make bench``, one thread): about 56 ns per admission for the reference fund
and 100-110 ns for the Henan scenario (four layers, two claim types, spliced tails, beta shares).
On Henan, removing one stage at a time saves: the cascade ~24 ns (about 6 ns a layer; within one
admission the layers form a chain of dependent steps, so exits that give the same numbers early,
such as a schedule below its first threshold, pay), the share's table lookup ~5-10 ns, the time
draw ~5 ns, the income ~3.5 ns, the generic severity sampler against a plain lognormal ~3.5 ns,
the per-person sums and the time-order insertion less than the noise; what remains (counts,
levels, costs, claim types, buffers) is ~43 ns. Drawing alone (every path drawn as here and none
paid, ``benchmarks/draws.py``) takes 48 of Henan's ~100 ns and 28 of the reference fund's 56.
The draws stay written out in :func:`_group_paths`: moved into a helper taking the group's arrays
(inlined or not), the pass was 1.7-2.3x slower, from the helper's reference counting (atomic
operations) at every person. Paying a batch of persons' admissions layer by layer (256 or more
at a time) gave the same numbers, 4-5% slower. The default runner puts one thread per core on
the blocks. Memory is a few buffers of one person's admissions and the per-path sums: flat in
paths and population.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numba as nb
import numpy as np

from ..interrupts import check as check_interrupt
from ..interrupts import deferred as deferred_interrupts
from ..models.frequency import claim_probability, count_sf, sample_claimants
from ..scenario.schema import CLAIM_TYPES
from .factors import FactorPaths, draw_factors
from .kernel import (
    next_double,
    pay_admission,
    pcg_state,
    sample_cost,
    set_pcg_state,
    standard_normal,
    start_person,
    table_quantile,
)
from .plan import GroupPlan, GroupTables, RunPlan, YearPlan, _cumulative_weights
from .streams import BLOCK_PATHS, block_paths, stream

Arrays = dict[str, np.ndarray]

# columns of the per-path sums a group returns, after 3 * n_funds + n_layers fund and layer columns
_CATASTROPHIC, _OOP, _TOTAL, _ADMISSIONS, _CLAIMANTS = range(5)
# columns of a recorded admission (path_claims), before the n_layers payments
_REC_COLUMNS = ("person", "time", "category", "level", "claim_type", "total", "in_policy", "oop")


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


# --------------------------------------------------------------------------- the compiled pass


@nb.njit(cache=True)
def _grow(rec, need):
    if need <= rec.shape[0]:
        return rec
    bigger = np.empty((max(2 * rec.shape[0], need), rec.shape[1]))
    bigger[: rec.shape[0]] = rec
    return bigger


@nb.njit(cache=True, nogil=True)
def _group_paths(
    s, n_paths, record, k, overlap, tables, sev, share_tab, cascade, cascade_old, has_old,
    n_funds, catastrophic_share, agg, tix, cscale,
):  # fmt: skip
    """Draw and pay ``n_paths`` paths of one group (see the module docstring), adding each path's
    sums into ``agg[path]``: fund claims, the same under the old rules, beneficiaries by fund,
    layer claims, then catastrophic, OOP, total cost, admissions and claimants.

    ``s``: the stream's PCG64DXSM state (:func:`.kernel.pcg_state`). ``k``, ``overlap``:
    claimants by path and claim type, and how many of them are among the persons of the earlier
    types. One pass, person by person: the person's admissions are drawn into small buffers (in
    time order), paid through the cascade (:func:`.kernel.pay_admission`) and added into the
    path's sums, admission by admission and layer by layer, in a fixed order.
    The count, segment and level tables have a leading axis of table sets: path ``p`` uses set
    ``tix[p]`` (one set for process risk alone; one per path under systematic factors), and its
    costs are multiplied by ``cscale[tix[p], claim type, level]`` (exactly 1 without factors).
    Returns the new state and the admissions of path ``record`` (columns ``_REC_COLUMNS`` then the
    payments by layer; none when ``record < 0``); the paths before ``record`` are drawn (to advance
    the stream) but not paid.
    """
    (claim_type, s0, count_sf, seg_cum, level_cum, fixed_level, share, seg_start, seg_end,
     seg_category, income) = tables  # fmt: skip
    fund = cascade[8]
    fund_old = cascade_old[8]
    n_layers = fund.shape[0]
    n_layers_old = fund_old.shape[0]
    n_ct = claim_type.shape[0]
    n_seg = seg_start.shape[0]
    n_lev = level_cum.shape[3]  # hospital levels (a schedule row is category * n_lev + level)
    n_sf = count_sf.shape[2]
    cap = (n_sf + 1) * n_ct  # one person's most admissions
    b_time = np.empty(cap)
    b_cat = np.empty(cap, dtype=np.int64)
    b_level = np.empty(cap, dtype=np.int64)
    b_ct = np.empty(cap, dtype=np.int64)
    b_total = np.empty(cap)
    b_in = np.empty(cap)
    b_oop = np.empty(cap)
    paid = np.empty((n_layers, cap))
    paid_old = np.empty((n_layers_old, cap))
    # the person's running sums per layer (see pay_admission), for the rules and the old rules
    s_run, b_run, c_run = np.zeros(n_layers), np.zeros(n_layers), np.zeros(n_layers)
    b_row = np.full(n_layers, -1, dtype=np.int64)
    s_old, b_old, c_old = np.zeros(n_layers_old), np.zeros(n_layers_old), np.zeros(n_layers_old)
    b_row_old = np.full(n_layers_old, -1, dtype=np.int64)
    # the path's running sums, and the person's by fund
    layer_sum = np.empty(n_layers)
    fund_sum = np.empty(n_funds)
    fund_old_sum = np.empty(n_funds)
    fund_ben = np.empty(n_funds)
    fp = np.empty(n_funds)
    fp_old = np.empty(n_funds)
    c_fold, c_ben, c_layer = n_funds, 2 * n_funds, 3 * n_funds
    c_tail = 3 * n_funds + n_layers
    first = np.empty(n_ct, dtype=np.int64)
    last = np.empty(n_ct, dtype=np.int64)
    shared = np.empty(n_ct, dtype=np.int64)
    rec = np.empty((0, 8 + n_layers))
    n_rec = 0
    mu, sigma = income[0], income[1]
    for path in range(n_paths):
        ti = tix[path]
        persons = 0
        for t in range(n_ct):
            shared[t] = overlap[path, t]
            first[t] = persons
            persons += k[path, t] - shared[t]
            last[t] = persons
        recording = path == record
        settling = path >= record  # paths before the recorded one are only drawn
        if recording:
            rec = np.empty((max(2 * persons, 16), 8 + n_layers))
        row = agg[path]
        for j in range(n_layers):
            layer_sum[j] = row[c_layer + j]
        for f in range(n_funds):
            fund_sum[f] = row[f]
            fund_old_sum[f] = row[c_fold + f]
            fund_ben[f] = row[c_ben + f]
        oop_sum = row[c_tail + _OOP]
        total_sum = row[c_tail + _TOTAL]
        catastrophic = row[c_tail + _CATASTROPHIC]
        n_adm = 0
        for i in range(persons):
            n = 0
            for t in range(n_ct):
                if not (i < shared[t] or (first[t] <= i and i < last[t])):
                    continue
                # number of claims: min {n >= 1: P(N > n) <= W}, W = P(N >= 1) (1 - V)
                # (the first comparison, and those of segments and levels below, are added up
                # rather than branched on: mispredicted branches cost more than the draws)
                v, s = next_double(s)
                w = s0[ti, t] * (1.0 - v)
                count = 1 + np.int64(count_sf[ti, t, 0] > w)
                if count == 2:
                    while count <= n_sf and count_sf[ti, t, count - 1] > w:
                        count += 1
                ct = claim_type[t]
                for _ in range(count):
                    # time: segment by cumulative weight, uniform within it (one uniform)
                    u, s = next_double(s)
                    g = 0
                    for h in range(n_seg - 1):
                        g += np.int64(u >= seg_cum[ti, t, h])
                    below = seg_cum[ti, t, g - 1] if g > 0 else 0.0
                    frac = (u - below) / (seg_cum[ti, t, g] - below)
                    lvl = fixed_level[t, g]
                    if lvl < 0:
                        v, s = next_double(s)
                        lvl = 0
                        for h in range(n_lev - 1):
                            lvl += np.int64(v >= level_cum[ti, t, g, h])
                    cost, s = sample_cost(
                        s,
                        (sev[ct, lvl, 0], sev[ct, lvl, 1], sev[ct, lvl, 2], sev[ct, lvl, 3],
                         sev[ct, lvl, 4], sev[ct, lvl, 5], sev[ct, lvl, 6], sev[ct, lvl, 7],
                         sev[ct, lvl, 8], sev[ct, lvl, 9]),
                    )  # fmt: skip
                    cost *= cscale[ti, ct, lvl]
                    if share[t, lvl, 1] == 0.0:
                        part = share[t, lvl, 0]
                    else:
                        v, s = next_double(s)
                        part = table_quantile(v, share_tab, ct, lvl)
                    # insert in time order among the person's admissions so far
                    when = seg_start[g] + frac * (seg_end[g] - seg_start[g])
                    b = n
                    while b > 0 and b_time[b - 1] > when:
                        b_time[b] = b_time[b - 1]
                        b_cat[b] = b_cat[b - 1]
                        b_level[b] = b_level[b - 1]
                        b_ct[b] = b_ct[b - 1]
                        b_total[b] = b_total[b - 1]
                        b_in[b] = b_in[b - 1]
                        b -= 1
                    b_time[b] = when
                    b_cat[b] = seg_category[g]
                    b_level[b] = lvl
                    b_ct[b] = ct
                    b_total[b] = cost
                    b_in[b] = cost * part
                    n += 1
            z, s = standard_normal(s)
            person_income = math.exp(mu + sigma * z)
            if not settling:
                continue
            # pay the person's admissions and add them up, admission by admission
            for f in range(n_funds):
                fp[f] = 0.0
                fp_old[f] = 0.0
            oop_p = 0.0
            r0 = b_cat[0] * n_lev + b_level[0]
            start_person(cascade, r0, s_run, b_run, b_row, c_run)
            if has_old:
                start_person(cascade_old, r0, s_old, b_old, b_row_old, c_old)
            for a in range(n):
                cat = b_cat[a]
                r = cat * n_lev + b_level[a]
                o = pay_admission(
                    cascade, cat, b_ct[a], r, b_total[a], b_in[a], s_run, b_run, b_row, c_run,
                    paid, a,
                )  # fmt: skip
                b_oop[a] = o
                for j in range(n_layers):
                    p = paid[j, a]
                    fp[fund[j]] += p
                    layer_sum[j] += p
                if has_old:
                    pay_admission(
                        cascade_old, cat, b_ct[a], r, b_total[a], b_in[a], s_old, b_old,
                        b_row_old, c_old, paid_old, a,
                    )  # fmt: skip
                    for j in range(n_layers_old):
                        fp_old[fund_old[j]] += paid_old[j, a]
                oop_p += o
                total_sum += b_total[a]
            # (counts added as 0/1 rather than branched on: these branches are unpredictable)
            for f in range(n_funds):
                fund_sum[f] += fp[f]
                fund_ben[f] += np.float64(fp[f] > 0.0)
                fund_old_sum[f] += fp_old[f] if has_old else fp[f]
            oop_sum += oop_p
            catastrophic += np.float64(oop_p > catastrophic_share * person_income)
            n_adm += n
            if recording:
                rec = _grow(rec, n_rec + n)
                for a in range(n):
                    q = n_rec + a
                    rec[q, 0] = i
                    rec[q, 1] = b_time[a]
                    rec[q, 2] = b_cat[a]
                    rec[q, 3] = b_level[a]
                    rec[q, 4] = b_ct[a]
                    rec[q, 5] = b_total[a]
                    rec[q, 6] = b_in[a]
                    rec[q, 7] = b_oop[a]
                    for j in range(n_layers):
                        rec[q, 8 + j] = paid[j, a]
                n_rec += n
        if settling:
            for j in range(n_layers):
                row[c_layer + j] = layer_sum[j]
            for f in range(n_funds):
                row[f] = fund_sum[f]
                row[c_fold + f] = fund_old_sum[f]
                row[c_ben + f] = fund_ben[f]
            row[c_tail + _CATASTROPHIC] = catastrophic
            row[c_tail + _OOP] = oop_sum
            row[c_tail + _TOTAL] = total_sum
            row[c_tail + _ADMISSIONS] += n_adm
            row[c_tail + _CLAIMANTS] += persons
    return s, rec[:n_rec]


# --------------------------------------------------------------------------- one group, one block


@dataclass(frozen=True)
class PathTables:
    """A group's kernel tables for some paths: ``arrays`` as :attr:`GroupTables.arrays` but with a
    leading axis of table sets on ``claim_probability``, ``count_sf``, ``seg_cum`` and
    ``level_cum``; ``cscale`` ``(n_sets, n_claim_types, n_levels)`` the cost multipliers; ``means``
    ``(n_sets, n_ct)`` the expected claims per person (None: the plan's, one set for all paths)."""

    arrays: tuple
    cscale: np.ndarray
    means: np.ndarray | None


def process_tables(tab: GroupTables) -> PathTables:
    """Process risk alone: one table set (the plan's), costs multiplied by exactly 1."""
    a = tab.arrays
    arrays = (a[0], a[1][None], a[2][None], a[3][None], a[4][None], *a[5:])
    return PathTables(arrays, np.ones((1, len(CLAIM_TYPES), tab.level_cum.shape[2])), None)


def _sf_tables(means: np.ndarray, kind, dispersion: float) -> np.ndarray:
    """``P(N > n)``, ``n = 1, 2, ...`` for each mean (rows), as far as the largest needs
    (:func:`simulation.models.frequency._sf_table`'s rule)."""
    s0 = np.asarray(claim_probability(means, kind, dispersion))
    size = 16
    while True:
        table = count_sf(np.arange(1, size + 1)[None, :], means[:, None], kind, dispersion)
        if (table[:, -1] <= s0 * 1e-17).all() or size >= 1 << 24:
            return table
        size *= 4


def factor_tables(
    g: GroupPlan, tab: GroupTables, fac: FactorPaths, y: int, cell: int
) -> PathTables:
    """One table set per path of ``fac`` under its factors for year index ``y`` (cell index
    ``cell`` of the factors' cell axis): the expected claims at level ``l`` of a segment are
    multiplied by ``frequency[p, y, t, l, cell]`` (the segment weights and level mixes follow),
    costs by ``cost[p, y, t, l, cell]``."""
    n, n_lev = len(fac.paths), tab.level_cum.shape[2]
    n_ct, n_seg = len(g.claims), len(g.seg_start)
    c = cell if fac.frequency.shape[4] > 1 else 0
    means = np.empty((n, n_ct))
    seg_cum = np.broadcast_to(tab.seg_cum, (n, n_ct, n_seg)).copy()
    level_cum = np.broadcast_to(tab.level_cum, (n, n_ct, n_seg, n_lev)).copy()
    sfs = []
    for t, cp in enumerate(g.claims):
        fm = fac.frequency[:, y, cp.claim_type, :, c]
        if fm.shape[1] == 1:
            means[:, t] = cp.mean * fm[:, 0]
        else:
            probs = np.diff(cp.level_cum, prepend=0.0, axis=1)  # (n_seg, n_lev)
            weighted = probs[None, :, :] * fm[:, None, :]  # (n, n_seg, n_lev)
            seg_means = cp.mean * cp.seg_weights[None, :] * weighted.sum(axis=2)
            means[:, t] = seg_means.sum(axis=1)
            for i in range(n):
                if means[i, t] > 0:
                    seg_cum[i, t] = _cumulative_weights(seg_means[i] / means[i, t])
            lc = np.cumsum(weighted, axis=2) / np.maximum(
                weighted.sum(axis=2, keepdims=True), 1e-300
            )
            lc[:, :, -1] = 1.0
            level_cum[:, t] = lc
        sfs.append(_sf_tables(means[:, t], cp.kind, cp.dispersion))
    width = max(t.shape[1] for t in sfs)
    sf = np.zeros((n, n_ct, width))
    s0 = np.empty((n, n_ct))
    for t, cp in enumerate(g.claims):
        sf[:, t, : sfs[t].shape[1]] = sfs[t]
        s0[:, t] = claim_probability(means[:, t], cp.kind, cp.dispersion)
    cscale = np.ascontiguousarray(
        np.broadcast_to(fac.cost[:, y, :, :, c], (n, len(CLAIM_TYPES), n_lev))
    )
    a = tab.arrays
    return PathTables((a[0], s0, sf, seg_cum, level_cum, *a[5:]), cscale, means)


def _claimants(
    rng: np.random.Generator, g: GroupPlan, means: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Step 1 for the whole block: claimants ``k`` and overlaps, each ``(BLOCK_PATHS, n_ct)``
    (``means``: expected claims per person by path and claim type, default the plan's)."""
    n_ct = len(g.claims)
    k = np.zeros((BLOCK_PATHS, n_ct), dtype=np.int64)
    overlap = np.zeros((BLOCK_PATHS, n_ct), dtype=np.int64)
    persons = np.zeros(BLOCK_PATHS, dtype=np.int64)
    for t, cp in enumerate(g.claims):
        mean = cp.mean if means is None else means[:, t]
        k[:, t] = sample_claimants(rng, g.count, mean, cp.kind, cp.dispersion, size=BLOCK_PATHS)
        if t > 0:
            overlap[:, t] = rng.hypergeometric(persons, g.count - persons, k[:, t])
        persons += k[:, t] - overlap[:, t]
    return k, overlap


def _draw_paths(
    plan: RunPlan, yp: YearPlan, tab: PathTables, state: tuple, k: np.ndarray,
    overlap: np.ndarray, record: int = -1, tix: np.ndarray | None = None,
) -> tuple[tuple, np.ndarray, np.ndarray]:  # fmt: skip
    """Draw and pay a group's paths from the stream state ``state`` (``k``, ``overlap``: the
    claimants of those paths, :func:`_claimants`). Returns the state after them (``uint64``), the
    per-path sums ``(paths, 3 n_funds + n_layers + 5)`` and the admissions of path ``record``.
    ``tix``: the table set of each path (default: set 0 for every path with one set, else set i
    for path i)."""
    nf = len(plan.funds)
    if isinstance(tab, GroupTables):
        tab = process_tables(tab)
    if tix is None:
        n_sets = tab.cscale.shape[0]
        tix = np.zeros(k.shape[0], np.int64) if n_sets == 1 else np.arange(k.shape[0])
    agg = np.zeros((k.shape[0], 3 * nf + len(plan.layers) + 5))
    old = yp.packed_old if yp.packed_old is not None else yp.packed
    state, rec = _group_paths(
        state, k.shape[0], record, k, overlap, tab.arrays, yp.severity_table, yp.share_tables,
        yp.packed.arrays, old.arrays, yp.packed_old is not None, nf,
        plan.scenario.economy.catastrophic_share, agg, tix, tab.cscale,
    )  # fmt: skip
    # (numba returns the state as Python ints: back to uint64 for the next call)
    return tuple(np.uint64(v) for v in state), agg, rec


def _run_group(
    plan: RunPlan, yp: YearPlan, g: GroupPlan, tab: PathTables, rng: np.random.Generator,
    n_paths: int, record: int = -1,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per-path sums ``(n_paths, 3 n_funds + n_layers + 5)`` of a group, and the admissions of path
    ``record`` of the block (see :func:`_group_paths`)."""
    if not g.claims:
        width = 3 * len(plan.funds) + len(plan.layers) + 5
        return np.zeros((n_paths, width)), np.empty((0, len(_REC_COLUMNS) + len(plan.layers)))
    if isinstance(tab, GroupTables):
        tab = process_tables(tab)
    k, overlap = _claimants(rng, g, tab.means)
    state, agg, rec = _draw_paths(
        plan, yp, tab, pcg_state(rng), k[:n_paths], overlap[:n_paths], record
    )
    set_pcg_state(rng, state)
    return agg, rec


def _add_group(out: Arrays, y: int, category: int, agg: np.ndarray, nf: int, nl: int) -> None:
    """Add a group's per-path sums into the block's measures for year index ``y``."""
    tail = 3 * nf + nl
    claims = agg[:, :nf]
    out["fund_claims"][:, y] += claims
    out["fund_claims_old"][:, y] += agg[:, nf : 2 * nf]
    out["fund_beneficiaries"][:, y] += agg[:, 2 * nf : 3 * nf]
    out["layer_claims"][:, y] += agg[:, 3 * nf : tail]
    out["category_claims"][:, y, category] += claims.sum(axis=1)
    out["category_catastrophic"][:, y, category] += agg[:, tail + _CATASTROPHIC]
    out["category_claimants"][:, y, category] += agg[:, tail + _CLAIMANTS]
    for name, col in (
        ("catastrophic", _CATASTROPHIC),
        ("oop", _OOP),
        ("total_cost", _TOTAL),
        ("admissions", _ADMISSIONS),
        ("claimants", _CLAIMANTS),
    ):
        out[name][:, y, 0] += agg[:, tail + col]


def block_factors(plan: RunPlan, seed: int, block: int) -> FactorPaths | None:
    """The systematic factors of a block's :data:`BLOCK_PATHS` paths (all of them: the claimants
    are drawn for the whole block), or None when systematic risk is off."""
    if not plan.scenario.systematic.enabled:
        return None
    return draw_factors(plan, seed, range(block * BLOCK_PATHS, (block + 1) * BLOCK_PATHS))


def simulate_block(plan: RunPlan, seed: int, block: int, paths: int) -> tuple[int, Arrays]:
    """Simulate the paths of block ``block`` (of a run of ``paths`` paths).

    Returns the block index and arrays of shape (paths in block, years, width) per measure.
    A pure function of its arguments: any worker computes the same numbers.
    """
    check_interrupt()  # between blocks: never inside the compiled kernel
    rows = block_paths(block, paths)
    n_years = len(plan.years)
    out: Arrays = {
        name: np.zeros((len(rows), n_years, width)) for name, width in measure_shapes(plan).items()
    }
    nf, nl = len(plan.funds), len(plan.layers)
    fac = block_factors(plan, seed, block)
    cells = {c: i for i, c in enumerate(plan.scenario.population.cells)}
    with deferred_interrupts():  # a signal during the kernel is raised after it
        for y, yp in enumerate(plan.years):
            for g, tab in zip(yp.groups, yp.tables, strict=True):
                rng = stream(seed, block, yp.year, g.key)
                pt = (
                    factor_tables(g, tab, fac, y, cells[g.cell])
                    if fac is not None and g.claims
                    else process_tables(tab)
                )
                agg, _ = _run_group(plan, yp, g, pt, rng, len(rows))
                _add_group(out, y, g.start_category, agg, nf, nl)
    return block, out


def _claims_columns(plan: RunPlan, gi: int, rec: np.ndarray) -> dict[str, np.ndarray]:
    """A group's recorded admissions (:data:`_REC_COLUMNS`, then payments by layer) as named
    columns, with the payments summed by fund."""
    nl = len(plan.layers)
    cols = {
        "group": np.full(rec.shape[0], gi),
        "person": rec[:, 0].astype(np.int64),
        "time": rec[:, 1].copy(),
        "category": rec[:, 2].astype(np.int16),
        "level": rec[:, 3].astype(np.int8),
        "claim_type": rec[:, 4].astype(np.int8),
        "total": rec[:, 5].copy(),
        "in_policy": rec[:, 6].copy(),
        "oop": rec[:, 7].copy(),
    }
    paid = rec[:, len(_REC_COLUMNS) : len(_REC_COLUMNS) + nl]
    fund_paid = np.zeros((rec.shape[0], len(plan.funds)))
    np.add.at(fund_paid.T, plan.layer_fund, paid.T)
    for f, name in enumerate(plan.funds):
        cols[f"paid_{name}"] = fund_paid[:, f]
    return cols


def block_claims(
    plan: RunPlan, seed: int, block: int, paths: int | None = None
) -> Iterator[tuple[int, list[dict[str, np.ndarray]], dict[str, np.ndarray]]]:
    """The admissions of each path of block ``block``, in path order: ``(path, years, sums)`` with
    ``years`` as :func:`path_claims` returns them and ``sums`` the path's ``fund_claims`` and
    ``fund_claims_old`` (claims under the rules before a change in force, else the same), each
    ``(n_years, n_funds)`` yuan, as :func:`simulate_block` adds them up.

    Each group's stream is drawn once: a group's paths are consecutive in its stream, so the
    stream's state after one path (and the block's claimant counts) is kept and the next path
    continues from it, exactly as :func:`simulate_block` draws them. Only one path's admissions
    are held at a time. ``paths`` (the run's path count, default: the whole block) limits the
    last block.
    """
    rows_of_block = block_paths(block, paths if paths is not None else (block + 1) * BLOCK_PATHS)
    streams: dict[tuple[int, int], tuple] = {}
    nf = len(plan.funds)
    fac = block_factors(plan, seed, block)
    cells = {c: i for i, c in enumerate(plan.scenario.population.cells)}
    for offset, path in enumerate(rows_of_block):
        years = []
        sums = {
            "fund_claims": np.zeros((len(plan.years), nf)),
            "fund_claims_old": np.zeros((len(plan.years), nf)),
        }
        for y, yp in enumerate(plan.years):
            rows: dict[str, list[np.ndarray]] = {}
            for gi, (g, tab) in enumerate(zip(yp.groups, yp.tables, strict=True)):
                if not g.claims:
                    continue
                if (y, gi) not in streams:
                    rng = stream(seed, block, yp.year, g.key)
                    pt = (
                        factor_tables(g, tab, fac, y, cells[g.cell])
                        if fac is not None
                        else process_tables(tab)
                    )
                    k, overlap = _claimants(rng, g, pt.means)
                    streams[y, gi] = (pcg_state(rng), k, overlap, pt)
                state, k, overlap, pt = streams[y, gi]
                one = slice(offset, offset + 1)
                tix = np.array([offset if pt.means is not None else 0], dtype=np.int64)
                state, agg, rec = _draw_paths(plan, yp, pt, state, k[one], overlap[one], 0, tix)
                streams[y, gi] = (state, k, overlap, pt)
                sums["fund_claims"][y] += agg[0, :nf]
                sums["fund_claims_old"][y] += agg[0, nf : 2 * nf]
                if rec.shape[0] == 0:
                    continue
                for key, v in _claims_columns(plan, gi, rec).items():
                    rows.setdefault(key, []).append(v)
            years.append({key: np.concatenate(v) for key, v in rows.items()})
        yield path, years, sums


def path_claims(
    plan: RunPlan, seed: int, path: int, paths: int | None = None
) -> list[dict[str, np.ndarray]]:
    """The admissions of one path, year by year, exactly as the engine drew and paid them.

    Returns per policy year a dict of arrays, one row per admission: ``group`` (index into the
    year's groups), ``person`` (within the group), ``time`` (fraction of the year), ``category``,
    ``level``, ``claim_type``, ``total``, ``in_policy``, ``paid_<fund>`` (yuan, each fund), ``oop``.
    Rows are by group, then person, then time. Used by the cash-flow model, which adds timing to
    the same claims. ``paths`` (the run's path count) does not change the numbers; it is accepted
    for symmetry with :func:`simulate_block`. The paths before it in its block are drawn too: for
    many paths, iterate :func:`block_claims`.
    """
    for p, years, _ in block_claims(plan, seed, path // BLOCK_PATHS, path + 1):
        if p == path:
            return years
    raise AssertionError("unreachable: block_claims yields every path of its block")


__all__ = ["BLOCK_PATHS", "block_claims", "measure_shapes", "path_claims", "simulate_block"]
