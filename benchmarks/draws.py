"""The engine's draws alone: every path of a run drawn exactly as the engine draws it, none paid.

The engine's compiled pass has a named entry point for this, :func:`simulation.engine.paths.draw_only`:
for every group and path, the engine's own draws (claimants, counts, times, levels, costs, shares,
incomes, in the engine's buffers) and nothing else: no cascade, no sums. Its time, next to the full engine's on the same paths, splits the engine's cost
into drawing the model and paying it; it is the floor of this engine's design (numpy's sampling
algorithms, bit for bit) for a scenario. A benchmark baseline only.
"""

from __future__ import annotations

import time

import numpy as np

from simulation.engine.plan import RunPlan
from simulation.engine.samplers import pcg_state
from simulation.engine.simulate import _claimants, _draw_paths
from simulation.engine.streams import BLOCK_PATHS, block_paths, stream


def draws_seconds(plan: RunPlan, paths: int, seed: int = 1, repeats: int = 3) -> float:
    """Best CPU seconds of ``repeats`` passes drawing ``paths`` paths of every group of every year
    of ``plan``, one thread, paying none (the claimants' binomial draws included)."""
    draw_paths(plan, 1, seed)  # compile
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        draw_paths(plan, paths, seed)
        best = min(best, time.process_time() - t0)
    return best


def draw_paths(plan: RunPlan, paths: int, seed: int, pay: bool = False) -> list[tuple]:
    """Draw ``paths`` paths as the engine does, paying none (or, with ``pay``, all: the engine
    itself). Returns each group's stream state at the end, by block, year and group: the same
    either way when the unpaid pass draws exactly what the engine draws."""
    states = []
    for block in range((paths + BLOCK_PATHS - 1) // BLOCK_PATHS):
        n = len(block_paths(block, paths))
        for yp in plan.years:
            for g, tab in zip(yp.groups, yp.tables, strict=True):
                if not g.claims:
                    continue
                rng = stream(seed, block, yp.year, g.key)
                k, overlap = _claimants(rng, g)
                state, _, _ = _draw_paths(
                    plan, yp, tab, pcg_state(rng), k[:n], overlap[:n], "pay" if pay else "draw"
                )
                states.append(state)
    return states
