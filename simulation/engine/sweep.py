"""Running a grid of scenarios: every (scenario, block of paths) is a unit of work.

``sweep`` runs several scenarios with the same seed and paths (so they share common random
numbers: rules-only differences see the same people and costs). On Dask, all units of all scenarios
are submitted at once and spread over the workers; results are identical to running each scenario
alone in process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import FundsimError
from ..scenario.schema import Scenario
from ..scenario.values import set_key_path
from .factors import draw_factors
from .plan import build_plan
from .result import SimulationResult
from .run import RunInfo, check_method, check_paths, in_process, settle
from .simulate import measure_shapes
from .streams import BLOCK_PATHS, n_blocks


def set_path(table: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the raw scenario ``table`` with ``path`` set: the scenario's own setter
    (:func:`simulation.scenario.values.set_key_path`, errors naming the ``parameter``)."""
    return set_key_path(table, path, value, label="parameter")


def sweep(
    scenarios: Mapping[str, Scenario],
    paths: int,
    seed: int,
    years: int | None = None,
    client=None,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
    method: str = "full",
) -> dict[str, SimulationResult]:
    """Run every scenario with the same seed and paths; on ``client`` (Dask) all units at once,
    else in this process on ``threads`` threads (default: every core). ``method="fast"``: each
    scenario by the fast method (in this process)."""
    check_paths(paths)
    if check_method(method) == "fast":
        if client is not None:
            raise FundsimError("the fast method runs in this process: drop --workers/--scheduler")
        from .fast import run_fast

        out = {}
        for name, s in scenarios.items():
            out[name] = run_fast(s, paths=paths, seed=seed, years=years)
            if progress is not None:
                progress(paths)
        return out
    plans = {name: build_plan(s, years) for name, s in scenarios.items()}
    blocks = list(range(n_blocks(paths)))
    sims = {
        name: {m: np.zeros((paths, len(p.years), w)) for m, w in measure_shapes(p).items()}
        for name, p in plans.items()
    }

    def place(name: str, block: int, arrays: dict[str, np.ndarray]) -> None:
        start = block * BLOCK_PATHS
        for m, a in arrays.items():
            sims[name][m][start : start + a.shape[0]] = a
        if progress is not None:
            progress(arrays["fund_claims"].shape[0])

    if client is None:
        for name, plan in plans.items():
            for block, arrays in in_process(plan, seed, paths, blocks, threads=threads):
                place(name, block, arrays)
    else:
        from dask.distributed import as_completed

        from .distributed import run_blocks

        futures = {}
        for name, plan in plans.items():
            [pf] = client.scatter([plan], broadcast=True, hash=False)
            for b in blocks:
                fut = client.submit(run_blocks, pf, seed, paths, [b], pure=False, retries=2)
                futures[fut] = name
        for fut in as_completed(list(futures)):
            for block, arrays in fut.result():
                place(futures[fut], block, arrays)
    return {
        name: SimulationResult(
            plan=plan,
            sims=sims[name],
            money=settle(plan, sims[name]),
            info=RunInfo(seed=seed, paths=paths, years=len(plan.years), runner="sweep"),
            factors=(
                draw_factors(plan, seed, range(paths)) if plan.scenario.systematic.enabled else None
            ),
        )
        for name, plan in plans.items()
    }
