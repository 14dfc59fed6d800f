"""The benchmark baselines measure the work they claim to: the minimal fused kernel of
``benchmarks/limit.py`` (the issue's speed limit) pays the reference fund's law, and the engine's
draws alone (``benchmarks/draws.py``) draw exactly what the engine draws."""

from __future__ import annotations

import numpy as np

from benchmarks.draws import draw_paths, draws_seconds
from benchmarks.limit import limit_rate
from benchmarks.run import HENAN, REFERENCE, scaled_population
from simulation.engine.exact import exact_claims_distribution
from simulation.engine.plan import build_plan
from simulation.engine.run import run
from simulation.engine.streams import BLOCK_PATHS


def test_the_limit_kernel_pays_the_reference_funds_exact_mean():
    s = scaled_population(REFERENCE, 0.01)  # 50,000 persons, ~9,000 admissions a path
    paths = 256
    _, limit_paid = limit_rate(build_plan(s, 1), paths, repeats=1)
    exact = exact_claims_distribution(s, "fund", s.start_year)
    # the SE of a mean of `paths` paths, from the engine's spread of the same law
    sd = run(s, paths=64, seed=3, years=1).sims["fund_claims"][:, 0, 0].std(ddof=1)
    assert abs(limit_paid - exact.mean()) < 4 * sd / np.sqrt(paths)


def test_the_draws_alone_baseline_draws_what_the_engine_draws():
    # every group's stream ends where the engine's ends: the unpaid pass drew the same numbers
    s = scaled_population(HENAN, 0.002)  # ~10,000 persons, 70 groups, two claim types
    plan = build_plan(s, 2)
    paths = BLOCK_PATHS + 3  # two blocks, the second one short
    unpaid = draw_paths(plan, paths, seed=5)
    paid = draw_paths(plan, paths, seed=5, pay=True)
    assert len(unpaid) == len(paid) > 2 * len(plan.years[0].groups)
    assert unpaid == paid
    assert draws_seconds(plan, 2, repeats=1) > 0.0
