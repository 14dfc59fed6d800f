"""The fast method: Monte Carlo over the systematic factors, the exact conditional law for the rest.

``run(scenario, paths, seed, years, method="fast")`` (or ``--method fast``) returns the same
:class:`~simulation.engine.result.SimulationResult` as the full engine: the same measures in
``sims``, settled by the same :func:`simulation.engine.run.settle` (contracts, clawback, loss
sharing, balances, the policy-change subsidy, premium by tier from the same plan), with the same
systematic factors path by path (:func:`simulation.engine.factors.draw_factors` with the run's
seed and path indices, attached as ``result.factors``).

Method
------
Given the factors of a path-year, persons are independent, so each year total is a sum of many
independent persons' vectors. For every roster group (per category it spends time in, as the exact
method treats persons changing category: first order) :mod:`.moments` computes, from the exact
method's discretised laws, the mean vector and covariance of a person's payments by layer (under
the rules in force and, with a declared change, the rules before it: one person's cost feeds
several layers and funds, the joint law is kept), beneficiaries by fund, total cost, admissions and
claimant indicator; the group contributes ``count x`` those. Per start category the year total is
drawn from the multivariate normal with that mean and covariance (independent categories, streams
``stream(seed, block, year, "fast/<category>")``), then fund claims, category claims and OOP follow
by the same sums the engine makes.

Over the factors: per year, a quadratic response surface in the multipliers (frequency and cost of
each claim type that varies) through ``1 + 2k + k(k-1)/2`` exact evaluations spanning every path's
factors; the covariance linear in them (variances rescaled, correlations of the centre). Its error
is measured at the path-year farthest from the centre by direct evaluation
(``result.info.timings["surface_error_process_sd"]``, in process SDs of a fund-year total).

Where it holds (else it refuses with one line, exit 2 from the CLI)
-------------------------------------------------------------------
- every fund paying something has at least :data:`.sample.MIN_CLAIMANTS` (10,000) expected
  beneficiaries in every year (the normal approximation of its year total; measured: a county's
  serious illness fund with 2,700 had a normal 99.5% quantile below the full engine's bound):
  a prefecture (1 M persons) or a province, not a county;
- the surface error is at most :data:`.sample.ERROR_BOUND` (0.25) process SD;
- the factors are one multiplier per path-year and claim type (not varying by hospital level or
  cell); the cascade is one the exact method supports; a rule change keeps the per-admission
  layers (it may change the annual ones); no fund pays a category through both per-admission and
  annual layers.

What it does not give or approximates (stated, measured in ``tests/test_fast.py``)
---------------------------------------------------------------------------------
- catastrophic out-of-pocket counts (``catastrophic``, ``category_catastrophic``) are NaN: they need
  the joint law of a person's OOP and income, not computed; use the full engine for them;
- beneficiaries of a per-admission fund (basic): mean by thinning, exact for a person in one
  category; a person changing category within the year is counted in each (a few hundredths of a
  percent high for Henan); their covariance with the other measures is the claimant indicator's,
  scaled;
- a per-admission layer's annual cap is applied claim by claim (as the exact method does for
  layers before the fund's); the tail beyond the per-claim grid is a far atom (first order);
- the normal law of the year totals: tails of a fund with few beneficiaries are too thin (hence
  the validity condition).

Cost: one exact evaluation of a Henan year is a few seconds on this machine (the roster's ~60
groups); the factors multiply it by the number of design points (15 with four varying
multipliers). See ``benchmarks/fast.py``.
"""

from __future__ import annotations

from .sample import ERROR_BOUND, MIN_CLAIMANTS, run_fast

__all__ = ["ERROR_BOUND", "MIN_CLAIMANTS", "run_fast"]
