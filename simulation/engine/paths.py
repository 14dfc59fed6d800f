"""The compiled pass over one population group's paths: draw each person's admissions, pay them
through the cascade, add up the per-path sums (see :mod:`.simulate` for the order of the draws).

The pass reads its inputs by name: the group's claim laws (:class:`GroupArrays`), the year's
severities, share tables and cascades (:class:`YearArrays`, the cascades as
:class:`~.cascade.CascadeArrays`), and the layout of the per-path sums
(:class:`~.measures.SumColumns`) and of a recorded admission (:data:`~.measures.REC`). Three
named entry points: :func:`pay_paths` (draw and pay every path: the engine), :func:`record_paths`
(the same, keeping the admissions of the first path: the cash-flow model's claims) and
:func:`draw_only` (draw every path, pay none: what drawing the model costs, ``benchmarks/draws.py``).

The draws stay written out in one compiled function (:func:`_group_paths`): moved into a helper
taking the group's arrays (inlined or not), the pass was 1.7-2.3x slower, from the helper's
reference counting (atomic operations) at every person.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from ._numba_cache import drop_stale_cache
from .cascade import CascadeArrays, pay_admission, start_person
from .measures import REC
from .samplers import next_double, sample_cost, severity_at, standard_normal, table_quantile

drop_stale_cache()


class GroupArrays(NamedTuple):
    """A group's claim laws as the compiled pass takes them (:class:`~.plan.GroupTables`; one
    row per claim type the group has; the tables marked "by set" have a leading axis of table
    sets, one per path under systematic factors, :func:`~.simulate.factor_tables`)."""

    claim_type: np.ndarray
    """(n_ct,) int64: the claim type code of each row."""
    claim_probability: np.ndarray
    """By set, (n_ct,): ``P(N >= 1)``."""
    count_sf: np.ndarray
    """By set, (n_ct, n_sf): ``P(N > n)`` for ``n = 1, 2, ...`` (zero-padded)."""
    seg_cum: np.ndarray
    """By set, (n_ct, n_seg): cumulative probability that a claim falls in each segment."""
    level_cum: np.ndarray
    """By set, (n_ct, n_seg, n_levels): cumulative hospital-level mix by segment."""
    fixed_level: np.ndarray
    """(n_ct, n_seg) int64: the level when the mix has a single level (no draw), else -1."""
    share: np.ndarray
    """(n_ct, n_levels, 2): in-policy share ``(mean, a)``, ``a = 0`` for a constant share."""
    seg_start: np.ndarray
    """(n_seg,): segment start, fraction of the year."""
    seg_end: np.ndarray
    """(n_seg,): segment end, fraction of the year."""
    seg_category: np.ndarray
    """(n_seg,) int64: the category code of each segment."""
    income: np.ndarray
    """(2,): ``(mu, sigma)`` of the lognormal household income per person (yuan)."""


class YearArrays(NamedTuple):
    """What the compiled pass reads of a policy year (:class:`~.plan.YearPlan`)."""

    severity: np.ndarray
    """(n_claim_types, n_levels, len(SEV_COLUMNS)): the trended severities' rows."""
    share_tables: np.ndarray
    """(n_claim_types, n_levels, 5, M + 1): the in-policy shares' quantile tables."""
    cascade: CascadeArrays
    cascade_old: CascadeArrays
    """The rules before a change in force (``cascade`` itself when there is none)."""
    has_old: bool
    catastrophic_share: float
    """Catastrophic expenditure: out-of-pocket cost above this share of household income."""


@nb.njit(cache=True)
def _grow(rec, need):
    if need <= rec.shape[0]:
        return rec
    bigger = np.empty((max(2 * rec.shape[0], need), rec.shape[1]))
    bigger[: rec.shape[0]] = rec
    return bigger


@nb.njit(cache=True, nogil=True)
def _group_paths(s, first_paid, record, k, overlap, tables, year, cols, agg, tix, cscale):
    """Draw ``k.shape[0]`` paths of one group (see :mod:`.simulate`), paying those from
    ``first_paid`` on and adding each paid path's sums into ``agg[path]`` (columns ``cols``).

    ``s``: the stream's PCG64DXSM state (:func:`.samplers.pcg_state`). ``k``, ``overlap``:
    claimants by path and claim type, and how many of them are among the persons of the earlier
    types. One pass, person by person: the person's admissions are drawn into small buffers (in
    time order), paid through the cascade (:func:`.cascade.pay_admission`) and added into the
    path's sums, admission by admission and layer by layer, in a fixed order.
    The count, segment and level tables have a leading axis of table sets: path ``p`` uses set
    ``tix[p]`` (one set for process risk alone; one per path under systematic factors), and its
    costs are multiplied by ``cscale[tix[p], claim type, level]`` (exactly 1 without factors).
    Returns the new state and the admissions of path ``record`` (columns :data:`~.measures.REC`;
    none when ``record < 0``).
    """
    claim_type, s0, count_sf, seg_cum = (
        tables.claim_type, tables.claim_probability, tables.count_sf, tables.seg_cum
    )  # fmt: skip
    level_cum, fixed_level, share = tables.level_cum, tables.fixed_level, tables.share
    seg_start, seg_end, seg_category = tables.seg_start, tables.seg_end, tables.seg_category
    income = tables.income
    sev, share_tab = year.severity, year.share_tables
    cascade, cascade_old, has_old = year.cascade, year.cascade_old, year.has_old
    catastrophic_share = year.catastrophic_share
    n_paths = k.shape[0]
    n_funds = cols.fund_claims_old - cols.fund_claims
    fund = cascade.fund
    fund_old = cascade_old.fund
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
    c_fund, c_fold, c_ben, c_layer = (
        cols.fund_claims, cols.fund_claims_old, cols.fund_beneficiaries, cols.layer_claims
    )  # fmt: skip
    first = np.empty(n_ct, dtype=np.int64)
    last = np.empty(n_ct, dtype=np.int64)
    shared = np.empty(n_ct, dtype=np.int64)
    n_rec_cols = REC.paid + n_layers
    rec = np.empty((0, n_rec_cols))
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
        settling = path >= first_paid  # paths before it are only drawn
        if recording:
            rec = np.empty((max(2 * persons, 16), n_rec_cols))
        row = agg[path]
        for j in range(n_layers):
            layer_sum[j] = row[c_layer + j]
        for f in range(n_funds):
            fund_sum[f] = row[c_fund + f]
            fund_old_sum[f] = row[c_fold + f]
            fund_ben[f] = row[c_ben + f]
        oop_sum = row[cols.oop]
        total_sum = row[cols.total_cost]
        catastrophic = row[cols.catastrophic]
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
                    cost, s = sample_cost(s, severity_at(sev, ct, lvl))
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
                    paid, a, person_income,
                )  # fmt: skip
                b_oop[a] = o
                for j in range(n_layers):
                    p = paid[j, a]
                    fp[fund[j]] += p
                    layer_sum[j] += p
                if has_old:
                    pay_admission(
                        cascade_old, cat, b_ct[a], r, b_total[a], b_in[a], s_old, b_old,
                        b_row_old, c_old, paid_old, a, person_income,
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
                    rec[q, REC.person] = i
                    rec[q, REC.time] = b_time[a]
                    rec[q, REC.category] = b_cat[a]
                    rec[q, REC.level] = b_level[a]
                    rec[q, REC.claim_type] = b_ct[a]
                    rec[q, REC.total] = b_total[a]
                    rec[q, REC.in_policy] = b_in[a]
                    rec[q, REC.oop] = b_oop[a]
                    for j in range(n_layers):
                        rec[q, REC.paid + j] = paid[j, a]
                n_rec += n
        if settling:
            for j in range(n_layers):
                row[c_layer + j] = layer_sum[j]
            for f in range(n_funds):
                row[c_fund + f] = fund_sum[f]
                row[c_fold + f] = fund_old_sum[f]
                row[c_ben + f] = fund_ben[f]
            row[cols.catastrophic] = catastrophic
            row[cols.oop] = oop_sum
            row[cols.total_cost] = total_sum
            row[cols.admissions] += n_adm
            row[cols.claimants] += persons
    return s, rec[:n_rec]


def pay_paths(state, k, overlap, tables, year, cols, agg, tix, cscale):
    """Draw and pay every path of ``k`` (claimants by path and claim type), adding their sums into
    ``agg``; returns the stream state after them."""
    s, _ = _group_paths(state, 0, -1, k, overlap, tables, year, cols, agg, tix, cscale)
    return s


def record_paths(state, k, overlap, tables, year, cols, agg, tix, cscale):
    """As :func:`pay_paths`, and return the admissions of the first path too: ``(state, rows)``,
    columns :data:`~.measures.REC` then one payment per layer."""
    return _group_paths(state, 0, 0, k, overlap, tables, year, cols, agg, tix, cscale)


def draw_only(state, k, overlap, tables, year, cols, agg, tix, cscale):
    """Draw every path of ``k`` exactly as :func:`pay_paths` does and pay none (``agg`` is left
    as it is); returns the stream state after them."""
    s, _ = _group_paths(state, k.shape[0], -1, k, overlap, tables, year, cols, agg, tix, cscale)
    return s


__all__ = ["GroupArrays", "YearArrays", "draw_only", "pay_paths", "record_paths"]
