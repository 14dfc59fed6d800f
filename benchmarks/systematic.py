"""Systematic risk on the shipped Henan scenario: the engine's cost of the factors (on against off,
one thread), and what systematic risk does to the numbers users ask about.

    python -m benchmarks.systematic speed      # factors on vs off, one thread, Henan, 1 year
    python -m benchmarks.systematic numbers    # variance split, P(loss), 10%-loss financing

Prints; asserts nothing (timings are best of repeats, CPU seconds of this process).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from simulation.engine.plan import build_plan
from simulation.engine.run import run, simulate_paths, threaded
from simulation.pricing.financing import financing_for_loss_probability
from simulation.pricing.sample import claims_sample
from simulation.scenario import load_scenario

HENAN = Path(__file__).resolve().parent.parent / "scenarios" / "henan_supplementary_2019.toml"


def _switch(s, on: bool):
    return s.model_copy(update={"systematic": s.systematic.model_copy(update={"enabled": on})})


def speed(paths: int = 16, repeats: int = 3) -> None:
    base = load_scenario(HENAN)
    plans = {on: build_plan(_switch(base, on), 1) for on in (False, True)}
    best = {False: np.inf, True: np.inf}
    for _ in range(repeats):
        for on in (False, True):
            t0 = time.process_time()
            simulate_paths(plans[on], paths, 1, runner=threaded(1))
            best[on] = min(best[on], time.process_time() - t0)
    print(f"Henan, 1 year, {paths} paths, one thread: off {best[False]:.2f} s, on {best[True]:.2f} s, "
          f"on/off {best[True] / best[False]:.3f}")  # fmt: skip


def numbers(paths: int = 160, seed: int = 1) -> None:
    base = load_scenario(HENAN)
    fund = "serious_illness"
    term = base.funds[fund].contract.term_years
    for on in (False, True):
        r = run(_switch(base, on), paths=paths, seed=seed, years=term)
        sm = r.summary()
        print(f"--- systematic {'on' if on else 'off'}, {paths} paths, {term} years")
        cols = ["fund", "year", "claims_mean", "claims_sd", "claims_var_systematic",
                "claims_var_process", "claims_systematic_share", "p_insurer_loss", "p_deficit"]  # fmt: skip
        print(sm[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        s = claims_sample(r, fund)
        sol = financing_for_loss_probability(s, 0.10)
        print(f"{fund}: 10%-loss-probability financing {sol.value:.3f} yuan/head (SE {sol.se:.3f})")


def bench() -> None:
    """``make bench``'s step (``FUNDSIM_BENCH_QUICK=1``: fewer paths)."""
    import os

    quick = os.environ.get("FUNDSIM_BENCH_QUICK") == "1"
    print("9. systematic risk (Henan)")
    speed(paths=16, repeats=2 if quick else 3)
    numbers(paths=32 if quick else 160)


if __name__ == "__main__":
    for step in sys.argv[1:] or ["speed", "numbers"]:
        {"speed": speed, "numbers": numbers}[step]()
