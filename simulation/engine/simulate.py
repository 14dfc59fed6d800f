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
2. then path by path, person by person (one compiled pass, :mod:`.paths`): for each claim
   type the person has, the number of claims from the zero-truncated frequency law; for each
   claim its time (one uniform: segment with probability proportional to its expected claims,
   uniform within it), hospital level (the category's level mix; no draw when the mix has a
   single level), total cost (spliced severity of the level, trended) and in-policy share (beta,
   by inversion through a quantile table, :mod:`.quantiles`; no draw when its sd is 0); then the person's household income (lognormal).
3. as soon as a person's admissions are drawn (in time order, in buffers of one person's size),
   they go through the layer cascade (:func:`.cascade.pay_admission`, tested against
   :func:`simulation.rules.layers.apply_cascade`) and, when a rule change is in force, through the
   rules before it (for the policy-change subsidy); only per-path sums are kept, added person by
   person and admission by admission in a fixed order.

Persons without claims cost no work: they pay nothing and have no out-of-pocket cost. The draws
do not depend on the layers, contracts or financing (common random numbers), and a group's draws
do not depend on any other group. The samplers (:mod:`.samplers`) are numpy's algorithms on the
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
The draws stay written out in :func:`.paths._group_paths`: moved into a helper taking the group's arrays
(inlined or not), the pass was 1.7-2.3x slower, from the helper's reference counting (atomic
operations) at every person. Paying a batch of persons' admissions layer by layer (256 or more
at a time) gave the same numbers, 4-5% slower. The default runner puts one thread per core on
the blocks. Memory is a few buffers of one person's admissions and the per-path sums: flat in
paths and population.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..interrupts import check as check_interrupt
from ..interrupts import deferred as deferred_interrupts
from ..models.frequency import claim_probability, count_sf, sample_claimants
from ..scenario.schema import CLAIM_TYPES
from .factors import FactorPaths, draw_factors
from .measures import MEASURES, REC, RECORD_COLUMNS, SumColumns, measure_widths, sum_columns
from .paths import GroupArrays, YearArrays, draw_only, pay_paths, record_paths
from .plan import GroupPlan, GroupTables, RunPlan, YearPlan, _cumulative_weights
from .samplers import pcg_state, set_pcg_state
from .streams import BLOCK_PATHS, block_paths, stream

Arrays = dict[str, np.ndarray]


def measure_shapes(plan: RunPlan) -> dict[str, int]:
    """Per path and year: the measures a block returns (:data:`~.measures.MEASURES`) and their
    widths."""
    return measure_widths(len(plan.funds), len(plan.layers), len(plan.categories))


def plan_columns(plan: RunPlan) -> SumColumns:
    """The layout of a group's per-path sums for ``plan`` (:func:`~.measures.sum_columns`)."""
    return sum_columns(len(plan.funds), len(plan.layers))


def year_arrays(plan: RunPlan, yp: YearPlan) -> YearArrays:
    """What the compiled pass reads of policy year ``yp``."""
    old = yp.packed_old if yp.packed_old is not None else yp.packed
    return YearArrays(
        severity=yp.severity_table,
        share_tables=yp.share_tables,
        cascade=yp.packed.arrays,
        cascade_old=old.arrays,
        has_old=yp.packed_old is not None,
        catastrophic_share=plan.scenario.economy.catastrophic_share,
    )


# --------------------------------------------------------------------------- one group, one block


@dataclass(frozen=True)
class PathTables:
    """A group's kernel tables for some paths: ``arrays`` as :attr:`GroupTables.arrays` but with a
    leading axis of table sets on ``claim_probability``, ``count_sf``, ``seg_cum`` and
    ``level_cum`` (:class:`~.paths.GroupArrays`); ``cscale`` ``(n_sets, n_claim_types, n_levels)`` the cost multipliers; ``means``
    ``(n_sets, n_ct)`` the expected claims per person (None: the plan's, one set for all paths)."""

    arrays: GroupArrays
    cscale: np.ndarray
    means: np.ndarray | None


def process_tables(tab: GroupTables) -> PathTables:
    """Process risk alone: one table set (the plan's), costs multiplied by exactly 1."""
    a = tab.arrays
    arrays = a._replace(
        claim_probability=a.claim_probability[None],
        count_sf=a.count_sf[None],
        seg_cum=a.seg_cum[None],
        level_cum=a.level_cum[None],
    )
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
    arrays = tab.arrays._replace(
        claim_probability=s0, count_sf=sf, seg_cum=seg_cum, level_cum=level_cum
    )
    return PathTables(arrays, cscale, means)


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
    overlap: np.ndarray, mode: str = "pay", tix: np.ndarray | None = None,
) -> tuple[tuple, np.ndarray, np.ndarray]:  # fmt: skip
    """Draw a group's paths from the stream state ``state`` (``k``, ``overlap``: the claimants of
    those paths, :func:`_claimants`) by the entry point ``mode`` of :mod:`.paths`: ``"pay"``
    (:func:`~.paths.pay_paths`), ``"record"`` (:func:`~.paths.record_paths`: also the admissions
    of the first path) or ``"draw"`` (:func:`~.paths.draw_only`: nothing paid). Returns the state
    after them (``uint64``), the per-path sums ``(paths, cols.width)`` (:func:`plan_columns`) and
    the recorded admissions (none unless ``"record"``). ``tix``: the table set of each path
    (default: set 0 for every path with one set, else set i for path i)."""
    if isinstance(tab, GroupTables):
        tab = process_tables(tab)
    if tix is None:
        tix = _table_sets(tab, k.shape[0])
    cols = plan_columns(plan)
    agg = np.zeros((k.shape[0], cols.width))
    args = (state, k, overlap, tab.arrays, year_arrays(plan, yp), cols, agg, tix, tab.cscale)
    if mode == "record":
        state, rec = record_paths(*args)
    else:
        state = {"pay": pay_paths, "draw": draw_only}[mode](*args)
        rec = np.empty((0, REC.paid + len(plan.layers)))
    # (numba returns the state as Python ints: back to uint64 for the next call)
    return tuple(np.uint64(v) for v in state), agg, rec


def _table_sets(tab: PathTables, n: int) -> np.ndarray:
    """The table set of each of ``n`` paths: set 0 for every path with one set, else set i for
    path i."""
    return np.zeros(n, np.int64) if tab.cscale.shape[0] == 1 else np.arange(n)


def _run_group(
    plan: RunPlan, yp: YearPlan, g: GroupPlan, tab: PathTables, rng: np.random.Generator,
    n_paths: int, record: int = -1,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per-path sums ``(n_paths, cols.width)`` of a group (:func:`plan_columns`), drawn and paid
    from its stream ``rng``, and the admissions of path ``record`` (none when ``record < 0``; the
    paths before it are then drawn by :func:`~.paths.draw_only`, their sums left at 0)."""
    cols = plan_columns(plan)
    if not g.claims:
        return np.zeros((n_paths, cols.width)), np.empty((0, REC.paid + len(plan.layers)))
    if isinstance(tab, GroupTables):
        tab = process_tables(tab)
    k, overlap = _claimants(rng, g, tab.means)
    k, overlap = k[:n_paths], overlap[:n_paths]
    state = pcg_state(rng)
    if record < 0:
        state, agg, rec = _draw_paths(plan, yp, tab, state, k, overlap)
    else:
        tix = _table_sets(tab, n_paths)
        agg = np.zeros((n_paths, cols.width))
        parts = (("draw", slice(0, record)), ("record", slice(record, record + 1)))
        parts += (("pay", slice(record + 1, n_paths)),)
        for mode, rows in parts:
            state, agg[rows], got = _draw_paths(
                plan, yp, tab, state, k[rows], overlap[rows], mode, tix[rows]
            )
            if mode == "record":
                rec = got
    set_pcg_state(rng, state)
    return agg, rec


def _add_group(out: Arrays, y: int, category: int, agg: np.ndarray, cols: SumColumns) -> None:
    """Add a group's per-path sums (columns ``cols``) into the block's measures for year index
    ``y``; the category measures by the group's category at the start of the year."""
    widths = {m.name: out[m.name].shape[2] for m in MEASURES}
    for m in MEASURES:
        if m.kernel:
            at = getattr(cols, m.name)
            out[m.name][:, y] += agg[:, at : at + widths[m.name]]
    fc = cols.fund_claims
    out["category_claims"][:, y, category] += agg[:, fc : fc + widths["fund_claims"]].sum(axis=1)
    out["category_catastrophic"][:, y, category] += agg[:, cols.catastrophic]
    out["category_claimants"][:, y, category] += agg[:, cols.claimants]


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
    cols = plan_columns(plan)
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
                _add_group(out, y, g.start_category, agg, cols)
    return block, out


def _claims_columns(plan: RunPlan, gi: int, rec: np.ndarray) -> dict[str, np.ndarray]:
    """A group's recorded admissions (:data:`~.measures.RECORD_COLUMNS`, then payments by layer)
    as named columns, with the payments summed by fund."""
    nl = len(plan.layers)
    dtypes = {"person": np.int64, "category": np.int16, "level": np.int8, "claim_type": np.int8}
    cols: dict[str, np.ndarray] = {"group": np.full(rec.shape[0], gi)}
    for name in RECORD_COLUMNS:
        column = rec[:, getattr(REC, name)]
        cols[name] = column.astype(dtypes[name]) if name in dtypes else column.copy()
    paid = rec[:, REC.paid : REC.paid + nl]
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
                state, agg, rec = _draw_paths(
                    plan, yp, pt, state, k[one], overlap[one], "record", tix
                )
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
