"""Dask runs give bit-identical results to the in-process runner, even when a worker dies."""

from __future__ import annotations

import os
import signal
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from simulation.engine.distributed import dask_runner
from simulation.engine.result import summary_records
from simulation.engine.run import default_threads, in_process, run
from simulation.errors import FundsimError
from simulation.scenario import deep_merge, validate_raw
from simulation.scenario.load import resolve_raw

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "engine"


def layered(scale: int = 1):
    raw, _ = resolve_raw(DATA / "layered.toml")
    cells = {
        name: {"count": cell["count"] * scale} for name, cell in raw["population"]["cells"].items()
    }
    return validate_raw(deep_merge(raw, {"population": {"cells": cells}}), "layered.toml")


def same(a, b) -> None:
    for name in a.money:
        np.testing.assert_array_equal(a.money[name], b.money[name], err_msg=name)
    for name in a.sims:
        np.testing.assert_array_equal(a.sims[name], b.sims[name], err_msg=name)
    assert summary_records(a.summary()) == summary_records(b.summary())


@pytest.fixture(scope="module")
def in_process_result():
    return run(layered(), paths=70, seed=17, runner=partial(in_process, threads=1))


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_are_bit_identical_to_one_thread(in_process_result, threads):
    result = run(layered(), paths=70, seed=17, runner=partial(in_process, threads=threads))
    same(in_process_result, result)


def test_default_threads_follow_the_environment(monkeypatch):
    monkeypatch.setenv("FUNDSIM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("FUNDSIM_THREADS", "many")
    with pytest.raises(FundsimError, match="FUNDSIM_THREADS: expected a whole number of threads"):
        default_threads()
    monkeypatch.setenv("FUNDSIM_THREADS", "0")
    with pytest.raises(FundsimError, match="FUNDSIM_THREADS: expected at least 1, found 0"):
        default_threads()
    monkeypatch.delenv("FUNDSIM_THREADS")
    # unset: every core this process may use (its CPU affinity, not the machine's core count)
    if hasattr(os, "sched_getaffinity"):
        assert default_threads() == len(os.sched_getaffinity(0))
        other = {0} if os.cpu_count() != 1 else {0, 5}  # a CPU count the machine does not have
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: other)
        assert default_threads() == len(other)
    else:
        assert default_threads() == (os.cpu_count() or 1)
    unset = default_threads()
    monkeypatch.setenv("FUNDSIM_THREADS", " ")  # blank counts as unset
    assert default_threads() == unset


@pytest.mark.parametrize("workers,blocks_per_task", [(1, 4), (2, 1), (2, 3)])
def test_dask_is_bit_identical_to_in_process(in_process_result, workers, blocks_per_task):
    with dask_runner(workers=workers, blocks_per_task=blocks_per_task) as runner:
        result = run(layered(), paths=70, seed=17, runner=runner)
    same(in_process_result, result)


def test_a_worker_killed_mid_run_changes_nothing():
    scenario = layered(scale=10)
    paths = 160
    expected = run(scenario, paths=paths, seed=3)
    killed: list[int] = []
    with dask_runner(workers=2, blocks_per_task=1) as runner:
        client = runner.client
        pids = client.run(os.getpid)

        def kill_one_worker(_n: int) -> None:
            # after the first finished block, kill a worker process outright (SIGKILL)
            if not killed:
                pid = next(iter(pids.values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        result = run(scenario, paths=paths, seed=3, runner=runner, progress=kill_one_worker)
        assert killed, "the worker was never killed"
    same(expected, result)


def test_sweep_spreads_scenarios_over_workers_with_identical_results():
    from simulation.engine.sweep import set_path, sweep

    raw, _ = resolve_raw(DATA / "layered.toml")
    richer = validate_raw(set_path(raw, "layers.serious_illness.bands[0].ratio", 0.7), "richer")
    scenarios = {"base": layered(), "richer": richer}
    with dask_runner(workers=2) as runner:
        results = sweep(scenarios, paths=40, seed=2, client=runner.client)
    for name, scenario in scenarios.items():
        same(run(scenario, paths=40, seed=2), results[name])
    # common random numbers: the richer band pays at least as much on every path
    f = results["base"].plan.funds.index("serious_illness")
    assert (
        results["richer"].money["claims"][..., f] >= results["base"].money["claims"][..., f] - 1e-6
    ).all()


def test_set_path_errors_name_the_missing_key():
    from simulation.engine.sweep import set_path
    from simulation.errors import FundsimError

    raw, _ = resolve_raw(DATA / "layered.toml")
    with pytest.raises(FundsimError, match="no 'layers.serious_illness.bandz'"):
        set_path(raw, "layers.serious_illness.bandz[0].ratio", 0.5)
    with pytest.raises(FundsimError, match=r"no 'layers.serious_illness.bands\[9\]'"):
        set_path(raw, "layers.serious_illness.bands[9].ratio", 0.5)
    with pytest.raises(FundsimError, match="past the end"):
        set_path(raw, "cascade[5]", "x")
