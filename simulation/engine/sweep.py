"""Running a grid of scenarios: every (scenario, block of paths) is a unit of work.

``sweep`` runs several scenarios with the same seed and paths (so they share common random
numbers: rules-only differences see the same people and costs). On Dask, all units of all scenarios
are submitted at once and spread over the workers; results are identical to running each scenario
alone in process.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import FundsimError
from ..scenario.schema import Scenario
from .plan import build_plan
from .result import SimulationResult
from .run import RunInfo, check_method, check_paths, in_process, settle
from .simulate import measure_shapes
from .streams import BLOCK_PATHS, n_blocks

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _key_text(parts: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def _describe(node: Any) -> str:
    """What a raw scenario value is, for messages: ``a table``, ``a list of 3 items``, ``0.5``..."""
    if isinstance(node, dict):
        return "a table"
    if isinstance(node, list):
        return f"a list of {len(node)} item{'s' if len(node) != 1 else ''}"
    if isinstance(node, bool):
        return f"a boolean ({str(node).lower()})"
    if isinstance(node, int | float):
        return f"a number ({node!r})"
    if isinstance(node, str):
        return f"a string ({node!r})"
    return f"a {type(node).__name__} ({node!r})"


def _check_container(path: str, parts: list[str | int], i: int, node: Any) -> None:
    """``node`` (at ``parts[:i]``) must be a table for a key ``parts[i]``, a list for an index."""
    part = parts[i]
    if isinstance(part, int) and isinstance(node, list):
        return
    if isinstance(part, str) and isinstance(node, dict):
        return
    where = _key_text(parts[:i]) or "the top level"
    wanted = f"a list (for [{part}])" if isinstance(part, int) else f"a table (for .{part})"
    raise FundsimError(
        f"parameter {path!r}: expected {wanted} at {where!r}, found {_describe(node)}"
    )


def set_path(table: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the raw scenario ``table`` with ``path`` (``layers.x.bands[0].ratio``) set.

    Every step must lead into a table (for a key) or a list (for an index); a missing key or
    index, or a step into a number, a string or a list by key, is a :class:`FundsimError` naming
    the parameter and what the scenario has there. The last key of a table may be new (the
    scenario's validation then says whether it is allowed).
    """
    parts: list[str | int] = [
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PART.finditer(path)
    ]
    if not parts:
        raise FundsimError(f"empty parameter path {path!r}")
    out = copy.deepcopy(table)
    node: Any = out
    for i, part in enumerate(parts[:-1]):
        _check_container(path, parts, i, node)
        try:
            node = node[part]
        except (KeyError, IndexError):
            done = _key_text(parts[: i + 1])
            raise FundsimError(f"parameter {path!r}: the scenario has no {done!r}") from None
    last = parts[-1]
    _check_container(path, parts, len(parts) - 1, node)
    if isinstance(node, list) and isinstance(last, int) and last >= len(node):
        raise FundsimError(f"parameter {path!r}: index {last} is past the end ({len(node)} items)")
    node[last] = value
    return out


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
        )
        for name, plan in plans.items()
    }
