"""``make bench``: throughput, province scale, memory, exact mode, scaling and Dask speed-up.

Prints ratios and rates, never asserts timings (machines here are shared and noisy: every timing is
the best of a few repeats, in CPU seconds of this process where one process does the work). Each
measurement states what it ran. ``FUNDSIM_BENCH_QUICK=1`` runs a short smoke pass;
``python -m benchmarks.run throughput scaling`` runs only the named steps.

Measurements:
1. engine throughput: admissions per second per core for the full engine on the reference fund
   (Poisson(0.18) admissions, lognormal cost mean 10,000 yuan CV 1.5, a banded layer on the annual
   total) and on the Henan scenario (four layers, roster exposure, 16 cells, two claim types),
   next to a bare random-number baseline measured in the same run (numpy drawing the claimants'
   Poisson counts and one lognormal cost per admission, nothing else), as a ratio, and for the
   reference fund next to the issue's limit, a minimal fused kernel (:mod:`benchmarks.limit`);
   and the engine's draws alone, every path drawn and none paid (:mod:`benchmarks.draws`): what
   drawing the model costs, against paying it;
2. province scale: one year of the 5-million-person Henan roster, time per path, extrapolated to
   10,000 paths on this machine's cores; a 10-year projection of 1 million people likewise; each
   next to two floors for the same paths (numpy's bare draws of counts and lognormal costs, and
   the engine's own draws with nothing paid);
3. flat memory: peak RSS of a run with 1k and 10k paths (in a fresh subprocess each);
4. exact mode: the one-year claims distribution of the 5-million-person fund by FFT;
5. scaling: time for 1x, 2x, 4x population and paths, and for 4x the persons without claims;
6. Dask: 2 local workers against 1 on the same run;
7. explore: the explorer's time from a lever's change to the updated numbers on Henan
   (:mod:`benchmarks.explore`).
8. the fast method at province scale against the full engine (:mod:`benchmarks.fast`).
9. systematic risk on Henan: the factors' cost (on against off, one thread) and the variance split,
   P(loss) and 10%-loss financing on and off (:mod:`benchmarks.systematic`).
10. A/B: the full engine's one-thread speed on Henan, this tree against a git revision
    (``FUNDSIM_AB_REV``, default ``HEAD``), alternated A B B A (:mod:`benchmarks.ab`).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import traceback
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.ab import ab
from benchmarks.draws import draws_seconds
from benchmarks.explore import explore_latency
from benchmarks.fast import fast_method
from benchmarks.limit import limit_rate
from benchmarks.systematic import bench as systematic_risk
from simulation import load_scenario
from simulation.engine.run import default_threads, in_process, run
from simulation.engine.streams import BLOCK_PATHS
from simulation.scenario import validate_raw
from simulation.scenario.load import resolve_raw

ROOT = Path(__file__).resolve().parent.parent
HENAN = ROOT / "scenarios" / "henan_supplementary_2019.toml"
REFERENCE = ROOT / "benchmarks" / "reference_fund.toml"
QUICK = os.environ.get("FUNDSIM_BENCH_QUICK") == "1"
REPEATS = 2 if QUICK else 3


def scaled_population(path: Path, factor: float, rate_factor: float = 1.0):
    """The scenario with every cell's count multiplied by ``factor`` (and every claim rate by
    ``rate_factor``)."""
    raw, _ = resolve_raw(path)
    for cell in raw["population"]["cells"].values():
        cell["count"] = int(round(cell["count"] * factor))
    for claim in raw.get("claims", {}).values():
        rates = claim["frequency"]["rate"]
        for key in rates:
            rates[key] *= rate_factor
    return validate_raw(raw, str(path))


ONE_THREAD = partial(in_process, threads=1)
ONE_THREAD.__name__ = "in-process, 1 thread"


def timed_run(
    scenario, paths: int, seed: int = 1, years: int | None = 1, repeats: int = REPEATS, **kw
):
    """Best CPU seconds of ``repeats`` one-thread runs (after one run to compile and warm caches),
    and the last result."""
    kw.setdefault("runner", ONE_THREAD)
    run(scenario, paths=1, seed=seed, years=years, **kw)
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        res = run(scenario, paths=paths, seed=seed, years=years, **kw)
        best = min(best, time.process_time() - t0)
    return best, res


def wall_run(scenario, paths: int, years: int | None = 1, repeats: int = 2) -> float:
    """Best wall-clock seconds of ``repeats`` runs with the default runner (every core)."""
    run(scenario, paths=1, seed=1, years=years)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(scenario, paths=paths, seed=1, years=years)
        best = min(best, time.perf_counter() - t0)
    return best


def rng_baseline(n_admissions: int, persons: int, rate: float, repeats: int = REPEATS) -> float:
    """Best CPU seconds for numpy to draw the claimants (binomial), their Poisson counts and one
    lognormal cost per admission: the random numbers of the simplest possible engine, nothing else."""
    best = np.inf
    for _ in range(repeats):
        rng = np.random.Generator(np.random.PCG64DXSM(1))
        t0 = time.process_time()
        k = rng.binomial(persons, 1 - np.exp(-rate))
        rng.poisson(rate, size=k)
        rng.lognormal(8.6, 1.1, size=n_admissions)
        best = min(best, time.process_time() - t0)
    return best


def alternating_best(jobs: dict) -> dict:
    """Best wall-clock seconds of two runs of each of two ``jobs`` (key: callable), run in the
    order a, b, b, a so that both see the host's load alike."""
    a, b = jobs
    best = dict.fromkeys(jobs, np.inf)
    for key in (a, b, b, a):
        t0 = time.perf_counter()
        jobs[key]()
        best[key] = min(best[key], time.perf_counter() - t0)
    return best


def line(label: str, value: str) -> None:
    print(f"  {label:<60} {value}", flush=True)


def throughput() -> None:
    print("1. engine throughput (one thread; CPU time)")
    for name, path, paths in (
        ("reference fund", REFERENCE, 4 if QUICK else 16),
        ("Henan, 4 layers", HENAN, 2 if QUICK else 8),
    ):
        s = load_scenario(path)
        secs, res = timed_run(s, paths)
        adm = float(res.sims["admissions"].sum())
        rate = adm / secs
        persons = res.plan.years[0].population
        base = rng_baseline(int(adm / paths), persons, adm / paths / persons) * paths
        line(
            f"{name}: {adm / paths:,.0f} admissions/path",
            f"{rate / 1e6:6.2f} M admissions/s ({secs / adm * 1e9:.0f} ns each)",
        )
        line(
            "   bare RNG baseline (same admissions)",
            f"{adm / base / 1e6:6.2f} M/s   ratio engine/RNG = {rate / (adm / base):.2f}",
        )
        draws = draws_seconds(res.plan, paths, repeats=REPEATS)
        line(
            "   the engine's draws alone, none paid (draws.py)",
            f"{adm / draws / 1e6:6.2f} M/s   ({draws / adm * 1e9:.0f} ns; {draws / secs:.0%} of the engine)",
        )
        if path == REFERENCE:
            limit, _ = limit_rate(res.plan, paths, REPEATS)
            line(
                "   the issue's limit, a minimal fused kernel (limit.py)",
                f"{limit / 1e6:6.2f} M/s   ratio engine/limit = {rate / limit:.2f}",
            )


def draws_floor(plan, threads: int, repeats: int = REPEATS) -> None:
    """Print the floor of this engine's design for 10,000 paths of ``plan`` on ``threads`` cores:
    its own draws of one block of paths, none paid (:mod:`benchmarks.draws`)."""
    draws = draws_seconds(plan, BLOCK_PATHS, repeats=repeats) / BLOCK_PATHS
    line(
        "  floor: the engine's draws alone, none paid, 10,000 paths",
        f"{draws * 10000 / threads / 60:.1f} min on {threads} cores",
    )


def province_scale() -> None:
    threads = default_threads()
    print(f"2. province scale (wall clock, the default in-process runner: {threads} threads)")
    s = load_scenario(HENAN)
    paths = 32 if QUICK else 128
    secs = wall_run(s, paths)
    line(f"Henan 5M persons, 1 year, {paths} paths", f"{secs:.1f} s ({secs / paths:.3f} s a path)")
    line(
        "  => 10,000 paths on this machine (measured rate x 10,000)",
        f"{secs / paths * 10000 / 60:.1f} min (goal < 3)",
    )
    # the floor: numpy alone drawing each path's claimants, counts and one lognormal cost per
    # admission (nothing else: no times, levels, shares, incomes, rules or sums), on every core
    res = run(s, paths=2, seed=1, years=1, runner=ONE_THREAD)
    adm = float(res.sims["admissions"].sum()) / 2
    persons = res.plan.years[0].population
    floor = rng_baseline(int(adm), persons, adm / persons)
    line(
        f"  floor: bare RNG, the same {adm:,.0f} admissions a path, 10,000 paths",
        f"{floor * 10000 / threads / 60:.1f} min on {threads} cores",
    )
    draws_floor(res.plan, threads)
    s1m = scaled_population(HENAN, 0.2)
    paths = 32 if QUICK else 64
    secs = wall_run(s1m, paths, years=10, repeats=1)
    line(
        f"Henan roster at 1M persons, 10 years, {paths} paths",
        f"{secs:.1f} s ({secs / paths:.3f} s a path)",
    )
    line("  => 10,000 paths on this machine", f"{secs / paths * 10000 / 60:.1f} min (goal < 5)")
    res = run(s1m, paths=1, seed=1, years=10, runner=ONE_THREAD)
    floor = sum(
        rng_baseline(int(a), yp.population, a / yp.population)
        for a, yp in zip(res.sims["admissions"][0, :, 0], res.plan.years, strict=True)
    )
    line(
        f"  floor: bare RNG for the same {res.sims['admissions'].sum():,.0f} admissions a path",
        f"{floor * 10000 / threads / 60:.1f} min on {threads} cores",
    )
    draws_floor(res.plan, threads, repeats=1)
    if threads > 1:
        one = scaled_population(HENAN, 0.2)
        paths = 32 if QUICK else 64
        run(one, paths=1, seed=1, years=1)
        best = alternating_best(
            {
                n: partial(run, one, paths=paths, seed=1, years=1, runner=r)
                for n, r in ((1, ONE_THREAD), (threads, partial(in_process, threads=threads)))
            }
        )
        line(
            f"in-process threads: {threads} against 1 (1M persons, best of 2)",
            f"{best[1] / best[threads]:.2f}x",
        )


RSS_POPULATION = 0.02
"""The memory runs use the reference fund at 2% of its size (100,000 persons), so that 10,000
paths take seconds; the engine's buffers do not grow with the population (only with the largest
person's admissions), and its results grow with the paths only."""


def peak_rss_child(paths: int, scenario: str, factor: float) -> None:
    s = scaled_population(Path(scenario), factor)
    run(s, paths=paths, seed=1, years=1)
    print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def child_rss(paths: int, scenario: Path, factor: float) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--rss-child", str(paths), str(scenario), str(factor)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])["maxrss_kb"] / 1024


def memory() -> None:
    print(
        f"3. peak memory (fresh process each, 1 year; reference fund at {RSS_POPULATION:.0%} size)"
    )
    for paths in (100, 1000) if QUICK else (1000, 10000):
        line(
            f"{paths:,} paths: peak RSS",
            f"{child_rss(paths, REFERENCE, RSS_POPULATION):,.0f} MiB (goal < 2048)",
        )
    line("Henan 5M persons, 16 paths: peak RSS", f"{child_rss(16, HENAN, 1.0):,.0f} MiB")


def exact_mode() -> None:
    print("4. exact mode (FFT)")
    from simulation.engine.exact import exact_claims_distribution

    s = load_scenario(REFERENCE)
    exact_claims_distribution(s, "fund", s.start_year)
    t0 = time.perf_counter()
    d = exact_claims_distribution(s, "fund", s.start_year)
    line(
        "reference fund (5M persons), one year",
        f"{time.perf_counter() - t0:.2f} s (goal < 2); mean {d.mean():,.0f} yuan",
    )


def scaling() -> None:
    print("5. scaling (reference fund; CPU seconds)")
    base_paths = 2 if QUICK else 8
    for factor in (0.25, 0.5, 1.0):
        s = scaled_population(REFERENCE, factor)
        secs, res = timed_run(s, base_paths)
        line(
            f"population x{factor:g} ({res.plan.years[0].population:,} persons), {base_paths} paths",
            f"{secs:.2f} s",
        )
    s = scaled_population(REFERENCE, 0.25)
    for mult in (1, 2, 4):
        secs, _ = timed_run(s, base_paths * mult)
        line(f"paths x{mult} ({base_paths * mult}), population x0.25", f"{secs:.2f} s")
    s = scaled_population(REFERENCE, 1.0, rate_factor=0.25)
    secs, res = timed_run(s, base_paths)
    line(
        f"4x the persons of x0.25 at 1/4 the rate (same admissions), {base_paths} paths",
        f"{secs:.2f} s (flat in persons without claims: compare x0.25 above)",
    )


def warm_up(scenario) -> None:
    """One small run in this process: compiles or loads the engine's kernels."""
    run(scenario, paths=1, seed=1, years=1, runner=ONE_THREAD)


def dask_speedup() -> None:
    print("6. Dask local cluster: 2 workers against 1")
    from simulation.engine.distributed import dask_runner

    s = scaled_population(REFERENCE, 0.2)
    paths = 64 if QUICK else 1024
    with dask_runner(workers=1) as one, dask_runner(workers=2) as two:
        for runner in (one, two):
            # every worker loads the compiled kernels before the clock starts (a warm-up run
            # alone may reach one worker only)
            runner.client.run(warm_up, s)
            run(s, paths=16, seed=1, years=1, runner=runner)
        times = alternating_best(
            {
                n: partial(run, s, paths=paths, seed=1, years=1, runner=r)
                for n, r in ((1, one), (2, two))
            }
        )
    for workers in (1, 2):
        line(
            f"{workers} worker(s), {paths} paths (wall clock, best of 2)", f"{times[workers]:.2f} s"
        )
    line("speed-up", f"{times[1] / times[2]:.2f}x (expect close to 2 on 2 cores)")


def ab_step() -> None:
    print(f"9. A/B: the full engine against revision {os.environ.get('FUNDSIM_AB_REV', 'HEAD')}")
    ab(rounds=1 if QUICK else 2, paths=2 if QUICK else 8)


STEPS = {
    "throughput": throughput,
    "province": province_scale,
    "memory": memory,
    "exact": exact_mode,
    "scaling": scaling,
    "dask": dask_speedup,
    "explore": explore_latency,
    "fast": fast_method,
    "systematic": systematic_risk,
    "ab": ab_step,
}


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--rss-child":
        peak_rss_child(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
        return
    names = sys.argv[1:] or list(STEPS)
    print(f"fundsim benchmarks on {os.cpu_count()} cores{' (quick)' if QUICK else ''}")
    for name in names:
        t0 = time.perf_counter()
        try:
            STEPS[name]()
        except Exception:  # a failing step (e.g. a method still in progress) must not stop the rest
            print(f"  {name} failed:")
            print("    " + traceback.format_exc().strip().replace("\n", "\n    "))
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
