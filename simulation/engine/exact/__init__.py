"""The exact method: one year, one fund, the whole distribution of its claims by discretisation and FFT.

For one policy year and one fund, :func:`exact_claims_distribution` computes the probability masses
of the fund's total claims paid ``T`` (yuan) on a grid, without drawing a random number. It checks
the Monte Carlo engine and answers one-year questions fast (probability of a deficit, expected
clawback, VaR of the insurer's result: :func:`exact_contract_measures`).

Model (RULES.md sections 1 and 2)
---------------------------------
The persons are the engine's roster groups of the year (:func:`simulation.engine.plan.build_plan`:
each cell's whole-year stayers, its exits and its entrants by quarter, in whole persons), so
entrants are covered from their verification date and exits until theirs, as in the Monte Carlo
engine. Persons of a group are exchangeable and independent. A person has ``N_t`` claims of each
claim type ``t`` (Poisson, or negative binomial with variance ``m (1 + d m)``), ``m`` = the group's
expected claims in the year (the rate of each segment's category times its length, summed). A
claim falls in a segment with probability ``seg_weights`` and has a hospital level ``l`` (the
segment category's level mix), a total cost ``X`` (the level's spliced severity, scaled by the
year's cost trend) and an in-policy share ``s`` (beta).

Segments in a category the fund does not cover are dropped: the claims left are the count thinned
(Poisson, or negative binomial with the same dispersion ``d``, exactly). A group whose remaining
segments have one category is therefore exact (stayers, and the entrants and exits whose other
category the fund does not cover), unless a layer before the fund's covers the dropped category
too and carries its claims into the fund's payments (an annual cumulative base, or a finite
annual cap on cumulative payments). The other groups, persons whose category changes within the
year between categories the fund covers (or with such a carried layer), cannot be represented
exactly: a person's annual cumulative base spans two rule sets, and the negative binomial counts
of two segments are dependent. They are approximated to first order: each remaining segment is an
independent set of the group's ``count`` persons with the segment's expected claims, in its
category. This is exact in mean for per-admission layers without annual caps, and exact for a
person with claims in one segment only; the result's ``notes`` say how many persons it concerns.

Order of steps
--------------
1. **Per claim** (per claim type, hospital level, and covering configuration of the category): the
   in-policy share ``s`` is replaced by a Gauss-Jacobi quadrature of its beta law (``n_share_nodes``
   nodes; exact for the moments of ``s`` up to order ``2 n - 1``). ``X`` is discretised on the grid
   ``0, h, 2h, ...`` by *mean-preserving rounding* (local moment matching of order 1:
   ``p_j = (2 E[X^jh] - E[X^(j-1)h] - E[X^(j+1)h]) / h``, with ``E[X^x]`` the limited expectation).
   Each grid cost is pushed, for each share node, through the per-admission layers in cascade order
   (same steps as :func:`simulation.rules.layers.apply_cascade`; a per-admission layer's annual cap
   is applied to the claim alone, see below), giving ``Y``, the claim's base left for the annual
   layers; ``Y`` is split again onto the grid (mean-preserving split between the two neighbouring
   points). Mixing over levels gives the claim type's ``Y``.
2. **Per person**: the annual base ``S = sum of Y over the person's claims`` is compound; its
   distribution is ``P_N(phi_Y)`` per claim type (``P_N`` the probability generating function of
   the counts, ``phi_Y`` the FFT of ``Y``), multiplied over claim types. The FFT is zero-padded to
   twice the grid, so one or two claims never wrap around; the grid is long enough that three or
   more claims beyond it have negligible probability.
3. **The fund's payment per person** is a deterministic function of ``S``: the annual cumulative
   layers in cascade order (layer ``k`` pays ``B_k(remaining)``, ``remaining -= paid``; with annual
   settlement a person's payments add up to ``B_k`` of the annual base, RULES.md section 1); the
   fund's payment is the sum over its layers. If the fund's layer is a per-admission one (basic
   insurance), ``Y`` is that layer's payment per claim and the person is paid ``min(S, cap)``. The
   mass of ``S`` is pushed through and split onto the grid again.
4. **Sum over persons and groups**: a person's payment has characteristic function ``phi_c``;
   the group total ``phi_c ** N_c``; groups (and the segments of approximated groups) multiply.
   The total is read on a window of ``n_aggregate`` points around its mean (``mean +- k_sd``
   standard deviations, widened on the right to the largest single payment with non-negligible
   probability), with wrap-around (aliasing) of the little mass outside it, so a province-sized
   fund needs no huge grid. When the window needs a coarser step ``H = r h``, ``phi_c`` is
   evaluated exactly at the coarse grid's frequencies (the first terms of a DFT of length
   ``r n_aggregate``, by a chirp transform) and inverted band-limited: exact when ``|phi_T|`` is
   negligible beyond ``pi / H``, which is checked; otherwise each person's distribution is
   rebinned onto ``H`` (mean-preserving, adds variance, reported). When the whole support fits,
   the sum is an exact (linear) convolution.

Discretisation error and how to shrink it
-----------------------------------------
- Mean-preserving rounding keeps every mean exact (``E[Y]``, ``E[S]``); each rounding adds at most
  ``h**2 / 4`` to the variance of what is rounded (about ``h**2 / 6`` on average). Functions with
  kinks (deductibles, band boundaries) see an error of order ``h**2`` times the density at the kink.
  The automatic step is a round number (1, 2 or 5 times a power of ten) so that round deductibles
  and band limits fall on grid points, which removes most of that error. Halve ``step`` (or
  double ``n_grid``) and compare: the difference, divided by 3, estimates the remaining error.
- The grid's end ``L = (n_grid - 1) h``: a claim cost's tail beyond ``L`` is replaced by two point
  masses with the tail's probability, mean and second moment (one at ``L``, one beyond), so every
  layer that is affine beyond ``L`` keeps its mean and variance. A person's payment beyond the
  per-person grid is carried apart as a far atom (one far claim plus the mean of the other
  claims: first order in its small probability, exact in mean for affine layers) and the total's
  far atoms are appended after the window (``far_mass``, ``far_mean`` reported). With
  ``step=None`` the grid is long enough that the cost tail beyond ``L`` holds at most
  ``tail_tolerance`` of the claims' mean; enlarge ``n_grid`` to push ``far_mass`` down.
- The discretised cost is exact to rounding where its survival function is small (computed from
  the survival function there, not by differences of limited expectations), and rounding noise of
  the FFTs (about 1e-17 per point) is not clipped, so it does not bias the tail moments.
- Quadrature of the in-policy share: raise ``n_share_nodes``.
- Annual caps of per-admission layers before the fund's (the basic layer's cap) are applied to each
  claim alone, ``min(paid, cap)``: exact for a person with one claim in the year, which is how a
  cap is usually reached. With ``V_i`` the capped payments of a person's claims, the true annual
  payment is ``min(sum V_i, cap)``, so the base left is understated by ``(sum V_i - cap)+``; every
  later layer's payment moves by at most one yuan per yuan of base, so the fund's expected claims
  are off by at most ``ignored_cap_bound = sum over persons E[(sum V_i - cap)+]`` (yuan, computed
  by the same compound FFT, reported). Above ``cap_tolerance`` times the expected claims a
  :class:`~simulation.errors.FundsimError` is raised. (The fund's own per-admission layer's cap
  is exact: ``min(S, cap)``.)
- Aliasing of the aggregate: mass beyond the window wraps around; raise ``k_sd`` or ``n_aggregate``.

Supported cascades: per-admission layers first, then annual cumulative layers sharing one base and
one set of claim types, with schedules that do not depend on the hospital level; the fund's layers
either all annual cumulative, or one per-admission layer. Anything else raises a
:class:`~simulation.errors.FundsimError` naming the layer.

Modules, in import order (each imports only those above it)
-----------------------------------------------------------
- :mod:`.discrete`: claim costs on the grid (:func:`discretise_severity`, :func:`split_onto_grid`),
  the in-policy share's quadrature, the counts' pgf, a person's compound annual sum
  (:func:`compound_masses`) and the total of many persons (:func:`aggregate_persons`, the chirp
  transform :func:`characteristic_at`), yuan on ``0, h, 2h, ...``;
- :mod:`.result`: :class:`ExactDistribution` and :class:`CellSummary`, :func:`value_at_risk`,
  :func:`exact_contract_measures` (yuan);
- :mod:`.cascade`: :class:`CategoryPlan`, :func:`category_plan`, :func:`claim_amounts`,
  :func:`person_payment` (how the cascade pays one category's persons, yuan);
- :mod:`.scenario`: :func:`exact_claims_distribution` (the roster's persons, per-claim grids,
  per-person laws and their sum) and the automatic grid step.

Everything public is imported from here: ``from simulation.engine.exact import
exact_claims_distribution``.
"""

from __future__ import annotations

from .cascade import CategoryPlan, category_plan, claim_amounts, person_payment
from .discrete import (
    Aggregate,
    ClaimLaw,
    GridSeverity,
    GridSplit,
    Masses,
    PersonLaw,
    SeverityLaw,
    aggregate_persons,
    beta_quadrature,
    characteristic_at,
    compound_masses,
    count_log_pgf,
    count_pgf,
    discretise_severity,
    interval_survival,
    masses_moments,
    rebin,
    split_onto_grid,
)
from .result import CellSummary, ExactDistribution, exact_contract_measures, value_at_risk
from .scenario import DEFAULT_CACHE, ExactCache, compute_exact, exact_claims_distribution

__all__ = [
    "Aggregate",
    "CategoryPlan",
    "CellSummary",
    "ClaimLaw",
    "DEFAULT_CACHE",
    "ExactCache",
    "ExactDistribution",
    "GridSeverity",
    "GridSplit",
    "Masses",
    "PersonLaw",
    "SeverityLaw",
    "aggregate_persons",
    "beta_quadrature",
    "category_plan",
    "characteristic_at",
    "claim_amounts",
    "compound_masses",
    "compute_exact",
    "count_log_pgf",
    "count_pgf",
    "discretise_severity",
    "exact_claims_distribution",
    "exact_contract_measures",
    "interval_survival",
    "masses_moments",
    "person_payment",
    "rebin",
    "split_onto_grid",
    "value_at_risk",
]
