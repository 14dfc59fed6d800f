"""The fast method's bench (``python -m benchmarks.run fast``): Henan at province scale.

Wall clock (the fast method's tables are numpy on one process; the full engine uses every core):

1. the fast method, Henan 5 M persons, systematic risk on, 10,000 paths over 10 policy years
   (goal < 30 s) and over the 3-year term (goal < 10 s), tables included;
2. the full engine on the same scenario at 200 paths (10 years), timed in the same run, and the
   ratio of the time per path (expected > 100x);
3. peak RSS of the fast method at 1,000 and 10,000 paths (fresh subprocess each: flat in paths);
4. the exact one-year law of Henan's serious illness and supplementary funds (goal < 1 s, warm),
   and a repeated call through the cache.

``FUNDSIM_BENCH_QUICK=1``: 1,000 paths, 1 and 3 years, the full engine at 32 paths of 1 year.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HENAN = ROOT / "scenarios" / "henan_supplementary_2019.toml"
QUICK = os.environ.get("FUNDSIM_BENCH_QUICK") == "1"


def _line(what: str, value: str) -> None:
    print(f"  {what:<62} {value}")


def _rss_child(paths: int, years: int) -> None:
    from simulation import load_scenario
    from simulation.engine.fast import run_fast

    run_fast(load_scenario(HENAN), paths=paths, seed=1, years=years)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)


def _child_rss(paths: int, years: int) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.fast", "--rss-child", str(paths), str(years)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return float(out.stdout.strip().splitlines()[-1])


def fast_method() -> None:
    print("7. fast method (Henan 5M persons, systematic risk on; wall clock)")
    from simulation import load_scenario
    from simulation.engine.exact import ExactCache, exact_claims_distribution
    from simulation.engine.fast import run_fast
    from simulation.engine.run import run

    s = load_scenario(HENAN)
    paths = 1000 if QUICK else 10_000
    long_years, term_years = (1, 3) if QUICK else (10, 3)
    times = {}
    for years in (long_years, term_years):
        t0 = time.perf_counter()
        r = run_fast(s, paths=paths, seed=1, years=years)
        times[years] = time.perf_counter() - t0
        goal = "< 30 s" if years == 10 else "< 10 s" if years == 3 else ""
        _line(
            f"fast, {paths:,} paths, {years} years",
            f"{times[years]:.1f} s (goal {goal}); surface error "
            f"{r.info.timings['surface_error_process_sd']:.3f} process SD",
        )
    full_paths, full_years = (32, 1) if QUICK else (200, long_years)
    t0 = time.perf_counter()
    run(s, paths=full_paths, seed=1, years=full_years)
    full = time.perf_counter() - t0
    _line(f"full engine, {full_paths} paths, {full_years} years", f"{full:.1f} s")
    ratio = (full / full_paths / full_years) / (times[long_years] / paths / long_years)
    _line("time per path-year, full / fast", f"{ratio:,.0f}x (expected > 100x)")
    for k in (1000, 10_000):
        _line(f"fast, {k:,} paths, 1 year: peak RSS", f"{_child_rss(k, 1):,.0f} MiB")
    cache = ExactCache(4)
    for fund in ("serious_illness", "supplementary"):
        exact_claims_distribution(s, fund, s.start_year, cache=None)  # warm (imports, severities)
        t0 = time.perf_counter()
        exact_claims_distribution(s, fund, s.start_year, cache=cache)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        exact_claims_distribution(s, fund, s.start_year, cache=cache)
        again = time.perf_counter() - t0
        _line(
            f"exact one-year law, {fund}",
            f"{first:.2f} s (goal < 1 s); cached {again * 1000:.1f} ms",
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--rss-child":
        _rss_child(int(sys.argv[2]), int(sys.argv[3]))
    else:
        fast_method()
