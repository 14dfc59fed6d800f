"""The limit the performance issue quotes, measured on this machine: a minimal fused kernel.

The issue puts the speed limit for one year of its reference fund (each person Poisson(0.18)
admissions, lognormal cost, a banded layer on the annual total) at ~40 million admissions a second
per core, for "a fused, compiled kernel that skips straight to people with admissions".
:func:`limit_kernel` is that kernel and nothing more. For each claimant it draws a count, then a
lognormal cost per admission. It pays the layer as ``B(S_i) - B(S_{i-1})`` on the running annual
total, and adds up what the path pays. It uses the engine's own samplers and stream
(:mod:`simulation.engine.kernel`) and the reference fund's own laws and bands, read from its plan.

It has no time, level, share, income, caps, eligibility, several layers or claim types, recorded
admissions or per-person sums. It is a benchmark baseline only; the engine never calls it. ``make
bench`` prints the engine's rate as a ratio to it, which measures what the engine's generality
costs on the simplest fund.
"""

from __future__ import annotations

import math
import time

import numba as nb
import numpy as np

from simulation.engine.kernel import next_double, pcg_state, standard_normal
from simulation.engine.plan import RunPlan
from simulation.engine.simulate import _claimants
from simulation.engine.streams import BLOCK_PATHS, stream


@nb.njit(cache=True, nogil=True)
def limit_kernel(s, claimants, s0, count_sf, mu, sigma, lower, width, ratio, out):
    """One path: ``claimants`` persons with at least one admission. ``out`` gets ``(paid yuan,
    admissions)``. Returns the stream's state."""
    paid = 0.0
    n_adm = 0
    n_sf = count_sf.shape[0]
    for _ in range(claimants):
        v, s = next_double(s)
        w = s0 * (1.0 - v)
        count = 1 + np.int64(count_sf[0] > w)
        if count == 2:
            while count <= n_sf and count_sf[count - 1] > w:
                count += 1
        total = 0.0
        b_before = 0.0
        for _ in range(count):
            z, s = standard_normal(s)
            total += math.exp(mu + sigma * z)
            b = 0.0
            for k in range(lower.shape[0]):
                b += ratio[k] * min(max(total - lower[k], 0.0), width[k])
            paid += b - b_before
            b_before = b
        n_adm += count
    out[0] += paid
    out[1] += n_adm
    return s


def limit_rate(plan: RunPlan, paths: int, repeats: int = 3) -> tuple[float, float]:
    """``(admissions a second, paid yuan per path)`` of :func:`limit_kernel` on the first group
    of ``plan`` (the reference fund: one group, one claim type, one level, one layer), best CPU
    time of ``repeats``."""
    yp = plan.years[0]
    group, tab = yp.groups[0], yp.tables[0]
    sev = yp.severity_table[tab.claim_type[0], tab.fixed_level[0, 0]]
    mu, sigma = float(sev[1]), float(sev[2])
    row = tab.seg_category[0] * yp.packed.n_levels + tab.fixed_level[0, 0]
    lower, width, ratio = (a[0, row] for a in (yp.packed.lower, yp.packed.width, yp.packed.ratio))
    blocks = []  # per block of paths, as the engine: its stream's state and claimants
    for block in range((paths + BLOCK_PATHS - 1) // BLOCK_PATHS):
        rng = stream(1, block, yp.year, group.key)
        k, _ = _claimants(rng, group)
        blocks.append((pcg_state(rng), k[: paths - block * BLOCK_PATHS, 0]))
    args = (tab.claim_probability[0], tab.count_sf[0], mu, sigma, lower, width, ratio)
    limit_kernel(blocks[0][0], 10, *args, np.zeros(2))  # compile
    best, out = np.inf, np.zeros(2)
    for _ in range(repeats):
        out[:] = 0.0
        t0 = time.process_time()
        for s, k in blocks:
            for claimants in k:
                s = tuple(np.uint64(v) for v in limit_kernel(s, claimants, *args, out))
        best = min(best, time.process_time() - t0)
    return out[1] / best, out[0] / paths
