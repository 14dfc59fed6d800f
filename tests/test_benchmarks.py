"""The benchmark baselines measure the work they claim to: the minimal fused kernel of
``benchmarks/limit.py`` (the issue's speed limit) pays the reference fund's law."""

from __future__ import annotations

import numpy as np

from benchmarks.limit import limit_rate
from benchmarks.run import REFERENCE, scaled_population
from simulation.engine.exact import exact_claims_distribution
from simulation.engine.plan import build_plan
from simulation.engine.run import run


def test_the_limit_kernel_pays_the_reference_funds_exact_mean():
    s = scaled_population(REFERENCE, 0.01)  # 50,000 persons, ~9,000 admissions a path
    paths = 256
    _, limit_paid = limit_rate(build_plan(s, 1), paths, repeats=1)
    exact = exact_claims_distribution(s, "fund", s.start_year)
    # the SE of a mean of `paths` paths, from the engine's spread of the same law
    sd = run(s, paths=64, seed=3, years=1).sims["fund_claims"][:, 0, 0].std(ddof=1)
    assert abs(limit_paid - exact.mean()) < 4 * sd / np.sqrt(paths)
