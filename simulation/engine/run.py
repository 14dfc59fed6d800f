"""Running a scenario: blocks of paths, the fund contracts year by year, and balances.

``run(scenario, paths=K, seed=S, years=H)`` simulates K independent paths of H policy years. Blocks
of :data:`~simulation.engine.streams.BLOCK_PATHS` paths are the unit of work; each is a pure
function of (plan, seed, block), so the result is the same whether blocks run in this process or on
Dask workers, in any order.

Money flows per fund, path and year (yuan), after :func:`simulation.rules.contract.settle_year`:
``premium + subsidy + fund_share = claims + insurer_result + clawback + management_payment``
is not the identity every contract obeys term by term; the one checked on every path is the
contract's own (see :mod:`simulation.rules.contract`), and for the premium-based contract:
``premium = claims + insurer_result + clawback - subsidy``.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

import numpy as np

from ..errors import FundsimError
from ..scenario.schema import Scenario
from .factors import draw_factors
from .plan import RunPlan, build_plan
from .result import RunInfo, SimulationResult
from .settle import _settle_fund, check_paths, settle  # noqa: F401 (re-exported)
from .simulate import Arrays, measure_shapes, simulate_block
from .streams import BLOCK_PATHS, n_blocks

BlockRunner = Callable[[RunPlan, int, int, list[int]], Iterable[tuple[int, Arrays]]]


def default_threads() -> int:
    """Threads of the in-process runner: ``FUNDSIM_THREADS`` if set, else every core this process
    may use."""
    env = os.environ.get("FUNDSIM_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise FundsimError(
                f"environment variable FUNDSIM_THREADS: expected a whole number of threads, "
                f"found {env!r}"
            ) from None
        if n < 1:
            raise FundsimError(
                f"environment variable FUNDSIM_THREADS: expected at least 1, found {n}"
            )
        return n
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def in_process(
    plan: RunPlan, seed: int, paths: int, blocks: list[int], threads: int | None = None
) -> Iterable[tuple[int, Arrays]]:
    """Run blocks in this process, on ``threads`` threads (default :func:`default_threads`).

    The compiled kernel releases the GIL, so threads use several cores without copying the plan;
    each block is a pure function of (plan, seed, block) and lands at its own place, so the result
    does not depend on the number of threads. Blocks are yielded in order.
    """
    threads = default_threads() if threads is None else threads
    if threads <= 1 or len(blocks) <= 1:
        for b in blocks:
            yield simulate_block(plan, seed, b, paths)
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(blocks))) as pool:
        todo = iter(blocks)
        # two blocks per thread in flight, one submitted as each is taken: memory stays flat in paths
        pending = deque(
            pool.submit(simulate_block, plan, seed, b, paths) for b in islice(todo, 2 * threads)
        )
        while pending:
            yield pending.popleft().result()
            b = next(todo, None)
            if b is not None:
                pending.append(pool.submit(simulate_block, plan, seed, b, paths))


def threaded(threads: int) -> BlockRunner:
    """The in-process runner on ``threads`` threads (see :func:`in_process`)."""
    if threads < 1:
        raise FundsimError(f"threads must be at least 1, found {threads}")

    def runner(
        plan: RunPlan, seed: int, paths: int, blocks: list[int]
    ) -> Iterable[tuple[int, Arrays]]:
        return in_process(plan, seed, paths, blocks, threads=threads)

    runner.__name__ = f"in-process, {threads} thread{'s' if threads > 1 else ''}"
    return runner


def runner_name(runner: BlockRunner) -> str:
    """How a run's blocks were run, for manifests and reports."""
    if runner is in_process:
        threads = default_threads()
        return f"in-process, {threads} thread{'s' if threads > 1 else ''}"
    return getattr(runner, "__name__", str(runner))


def simulate_paths(
    plan: RunPlan,
    paths: int,
    seed: int,
    runner: BlockRunner = in_process,
    progress: Callable[[int], None] | None = None,
) -> Arrays:
    """All blocks' measures, assembled in path order: arrays of shape (paths, years, width)."""
    n_years = len(plan.years)
    out = {name: np.zeros((paths, n_years, w)) for name, w in measure_shapes(plan).items()}
    for block, arrays in runner(plan, seed, paths, list(range(n_blocks(paths)))):
        start = block * BLOCK_PATHS
        for name, a in arrays.items():
            out[name][start : start + a.shape[0]] = a
        if progress is not None:
            progress(arrays["fund_claims"].shape[0])
    return out


METHODS = ("full", "fast")
"""``full``: the admission-level engine (the reference); ``fast``: the conditional law given the
systematic factors (:mod:`simulation.engine.fast`, validated against ``full``)."""


def check_method(method: str) -> str:
    """The method name, or :class:`FundsimError` naming the methods."""
    if method not in METHODS:
        raise FundsimError(f"method: expected one of {', '.join(METHODS)}, found {method!r}")
    return method


def run(
    scenario: Scenario,
    paths: int = 1000,
    seed: int = 0,
    years: int | None = None,
    *,
    runner: BlockRunner = in_process,
    progress: Callable[[int], None] | None = None,
    method: str = "full",
) -> SimulationResult:
    """Simulate ``paths`` independent paths of ``years`` policy years (default: the horizon).

    The result depends only on (scenario, seed, paths, years, method). ``method="fast"``: the
    fast method (:func:`simulation.engine.fast.run_fast`; ``runner`` is not used), a result of
    the same type.
    """
    if check_method(method) == "fast":
        from .fast import run_fast

        check_paths(paths)
        result = run_fast(scenario, paths=paths, seed=seed, years=years)
        if progress is not None:
            progress(paths)
        return result
    check_paths(paths)
    t0 = time.perf_counter()
    plan = build_plan(scenario, years)
    t1 = time.perf_counter()
    sims = simulate_paths(plan, paths, seed, runner=runner, progress=progress)
    t2 = time.perf_counter()
    money = settle(plan, sims)
    t3 = time.perf_counter()
    info = RunInfo(
        seed=seed,
        paths=paths,
        years=len(plan.years),
        timings={"plan_s": t1 - t0, "simulate_s": t2 - t1, "settle_s": t3 - t2},
        runner=runner_name(runner),
    )
    factors = draw_factors(plan, seed, range(paths)) if scenario.systematic.enabled else None
    return SimulationResult(plan=plan, sims=sims, money=money, info=info, factors=factors)
