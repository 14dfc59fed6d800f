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
from ..rules.contract import policy_change_subsidy, settle_term, settle_year
from ..scenario.schema import ContractKind, Scenario
from .factors import draw_factors
from .plan import RunPlan, build_plan
from .result import RunInfo, SimulationResult
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


def _settle_fund(contract, premium: np.ndarray, claims: np.ndarray) -> dict[str, np.ndarray]:
    """Settle one fund on (paths, years) arrays: year by year, or over each contract term.

    With term settlement the cap, clawback and loss sharing apply to each term's totals and are
    booked in the term's last simulated year; the other years carry the provisional result
    ``P - S`` (and their operating cost), so ``P = S + R + C - F`` holds in every year.
    """
    if contract.settlement == "annual":
        return settle_year(contract, premium, claims)
    out = settle_year(contract.model_copy(update={"kind": ContractKind.NONE}), premium, claims)
    out = {k: np.zeros_like(premium) for k in out}
    n_years = premium.shape[1]
    for start in range(0, n_years, contract.term_years):
        years = slice(start, min(start + contract.term_years, n_years))
        last = years.stop - 1
        term = settle_term(contract, premium[:, years], claims[:, years])
        for y in range(years.start, last):
            yearly = settle_year(contract, premium[:, y], claims[:, y])
            out["operating_cost"][:, y] = yearly["operating_cost"]
            out["management_payment"][:, y] = yearly["management_payment"]
            provisional = premium[:, y] - claims[:, y]
            out["insurer_result"][:, y] = (
                0.0 if contract.kind is ContractKind.COST_PLUS else provisional
            )
            out["fund_retained"][:, y] = (
                provisional if contract.kind is ContractKind.COST_PLUS else 0.0
            )
        earlier = out["insurer_result"][:, years.start : last].sum(axis=1)
        earlier_mgmt = out["management_payment"][:, years.start : last].sum(axis=1)
        earlier_cost = out["operating_cost"][:, years.start : last].sum(axis=1)
        earlier_retained = out["fund_retained"][:, years.start : last].sum(axis=1)
        out["insurer_result"][:, last] = term["insurer_result"] - earlier
        out["management_payment"][:, last] = term["management_payment"] - earlier_mgmt
        out["operating_cost"][:, last] = term["operating_cost"] - earlier_cost
        out["fund_retained"][:, last] = term["fund_retained"] - earlier_retained
        out["clawback"][:, last] = term["clawback"]
        out["fund_loss_share"][:, last] = term["fund_loss_share"]
    out["insurer_result_net"] = out["insurer_result"] - out["operating_cost"]
    return out


def settle(plan: RunPlan, sims: Arrays) -> dict[str, np.ndarray]:
    """Apply each fund's contract per path and year; arrays of shape (paths, years, funds).

    ``subsidy`` is the policy-change subsidy: the part of the insurer's loss caused by a declared
    rule change, measured by settling the same paths' claims under the old rules.
    ``finance_account`` accumulates clawbacks in, and subsidies, fund loss shares and cost-plus
    management payments out. ``balance`` is the fund's opening balance plus its cumulative
    ``premium - claims``; ``insurer_cumulative`` the insurer's net result since the term began.
    """
    paths, n_years, nf = sims["fund_claims"].shape
    names = (
        "premium claims claims_old surplus balance insurer_result insurer_result_net clawback "
        "subsidy operating_cost management_payment fund_loss_share insurer_cumulative "
        "finance_account"
    ).split()
    out = {n: np.zeros((paths, n_years, nf)) for n in names}
    scenario = plan.scenario
    changed = np.array([yp.cascade_old is not None for yp in plan.years])
    for f, fund_name in enumerate(plan.funds):
        fund = scenario.funds[fund_name]
        contract = fund.contract
        premium = np.tile([yp.premium[fund_name] for yp in plan.years], (paths, 1))
        claims = sims["fund_claims"][:, :, f]
        claims_old = sims["fund_claims_old"][:, :, f]
        out["premium"][:, :, f] = premium
        out["claims"][:, :, f] = claims
        out["claims_old"][:, :, f] = claims_old
        out["surplus"][:, :, f] = premium - claims
        out["balance"][:, :, f] = fund.opening_balance_yuan + np.cumsum(premium - claims, axis=1)
        if contract.kind is ContractKind.NONE:
            continue
        new = _settle_fund(contract, premium, claims)
        subsidy = np.zeros((paths, n_years))
        if changed.any():
            old = _settle_fund(contract, premium, claims_old)
            subsidy = policy_change_subsidy(new["insurer_result"], old["insurer_result"])
            subsidy[:, ~changed] = 0.0
        for key in ("clawback", "operating_cost", "management_payment", "fund_loss_share"):
            out[key][:, :, f] = new[key]
        out["subsidy"][:, :, f] = subsidy
        out["insurer_result"][:, :, f] = new["insurer_result"] + subsidy
        out["insurer_result_net"][:, :, f] = new["insurer_result_net"] + subsidy
        term_index = np.arange(n_years) // contract.term_years
        net = out["insurer_result_net"][:, :, f]
        for t in np.unique(term_index):
            cols = term_index == t
            out["insurer_cumulative"][:, cols, f] = np.cumsum(net[:, cols], axis=1)
        out["finance_account"][:, :, f] = np.cumsum(
            new["clawback"] - subsidy - new["management_payment"] - new["fund_loss_share"], axis=1
        )
    return out


def check_paths(paths: int) -> None:
    """A run needs at least one path (:class:`FundsimError` otherwise)."""
    if paths < 1:
        raise FundsimError(f"paths must be at least 1, found {paths}")


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
