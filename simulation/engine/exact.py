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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import eigh_tridiagonal

from ..errors import FundsimError
from ..models.severity import beta_params, cost_trend_factor, severity_from_config
from ..rules.bands import banded_payment
from ..rules.contract import settle_year
from ..rules.layers import CompiledCascade, CompiledLayer, compile_cascade
from ..scenario.resolve import scenario_for_year
from ..scenario.schema import (
    CLAIM_TYPES,
    LEVELS,
    Base,
    Contract,
    FrequencyKind,
    LevelSeverity,
    Scenario,
    Settlement,
)

Masses = NDArray[np.float64]

# --------------------------------------------------------------------------- discretisation core


class SeverityLaw(Protocol):
    """What the discretisation needs of a claim cost law (yuan); SplicedSeverity has it."""

    def mean(self) -> float: ...
    def var(self) -> float: ...
    def sf(self, x: NDArray) -> ArrayLike: ...
    def limited_expectation(self, x: NDArray) -> ArrayLike: ...


@dataclass(frozen=True)
class GridSeverity:
    """A claim cost discretised on ``0, h, ..., (n-1) h``, plus one far atom for the tail beyond."""

    masses: Masses
    far_value: float = 0.0
    """Yuan, beyond the grid's end (0 with ``far_weight`` 0 when there is no tail)."""
    far_weight: float = 0.0

    def lumped(self) -> Masses:
        """The masses with the far atom lumped on the last point (mean then ``E[X ^ L]``)."""
        out = self.masses.copy()
        out[-1] += self.far_weight
        return out


def interval_survival(severity: SeverityLaw, step: float, n: int) -> NDArray[np.float64]:
    """``d_j = (1/h) int_{jh}^{(j+1)h} P(X > x) dx`` for ``j = 0 .. n-2`` (``h = step``).

    In the body ``d_j = (E[X ^ (j+1)h] - E[X ^ jh]) / h`` (exact); where ``P(X > jh) < 1e-4`` by
    Simpson's rule on the survival function, because there the difference of two limited
    expectations (each about ``E[X]``) would lose the small ``d_j`` to rounding.
    """
    x = step * np.arange(n, dtype=np.float64)
    d = np.diff(np.asarray(severity.limited_expectation(x), dtype=np.float64)) / step
    sf = np.asarray(severity.sf(x), dtype=np.float64)
    tail = np.flatnonzero(sf[:-1] < 1e-4)
    if tail.size:
        a = x[tail]
        mid = np.asarray(severity.sf(a + step / 2), dtype=np.float64)
        d[tail] = (sf[tail] + 4.0 * mid + sf[tail + 1]) / 6.0
    return np.clip(d, 0.0, 1.0)


def discretise_severity(severity: SeverityLaw, step: float, n: int) -> GridSeverity:
    """A claim cost on ``0, h, ..., (n-1) h`` by mean-preserving rounding, ``h = step``, ``L = (n-1) h``.

    Local moment matching of order 1 (each cost split linearly between its two neighbouring grid
    points): with ``d_j`` the average survival over ``[jh, (j+1)h]`` (:func:`interval_survival`),
    ``p_0 = 1 - d_0``, ``p_j = d_{j-1} - d_j`` and ``p_{n-1} = d_{n-2} - P(X > L)``, so the masses
    hold ``E[X; X <= L]`` exactly. The tail beyond ``L`` becomes two atoms with its mass ``P``, mean
    and second moment: ``w1`` at ``L`` (added to the last point) and ``w2`` at ``x2`` beyond, with
    ``a = E[(X - L)+] = E[X] - E[X ^ L]``, ``b = E[(X - L)+ ** 2]``: ``x2 = L + b / a``,
    ``w2 = a**2 / b``, ``w1 = P - w2`` (``w1 >= 0`` by Cauchy-Schwarz). Every affine function of the
    cost beyond ``L`` (layers past their last kink) then keeps its mean and variance.
    """
    if n < 2:
        raise ValueError(f"a grid needs at least 2 points, found n={n}")
    top = step * (n - 1)
    d = interval_survival(severity, step, n)
    p_tail = float(np.asarray(severity.sf(np.array([top])))[0])
    p = np.empty(n)
    p[0] = 1.0 - d[0]
    p[1:-1] = d[:-1] - d[1:]
    p[-1] = max(d[-1] - p_tail, 0.0)
    p = np.maximum(p, 0.0)
    if p_tail <= 0.0:
        return GridSeverity(p)
    mean = float(severity.mean())
    a = mean - float(np.asarray(severity.limited_expectation(np.array([top])))[0])
    second = float(severity.var()) + mean * mean
    mid = step * (np.arange(n - 1) + 0.5)
    second_below = 2.0 * step * float(np.dot(mid, d)) - step**2 / 6.0 * (1.0 - p_tail)
    second_below -= top * top * p_tail
    b = second - second_below - 2.0 * top * a - top * top * p_tail
    if not (a > 0.0 and np.isfinite(b)):
        p[-1] += p_tail
        return GridSeverity(p)
    b = max(b, a * a / p_tail)  # rounding: at least the one-atom value
    w2 = a * a / b
    p[-1] += max(p_tail - w2, 0.0)
    return GridSeverity(p, far_value=top + b / a, far_weight=w2)


def split_onto_grid(values: ArrayLike, weights: ArrayLike, step: float, n: int) -> Masses:
    """Masses on ``0, h, ..., (n-1) h`` of the discrete law putting ``weights`` on ``values`` (yuan).

    Mean-preserving split: a value ``v = (j + u) h`` (``0 <= u < 1``) gives ``(1 - u)`` of its
    weight to point ``j`` and ``u`` to point ``j + 1``; values at or beyond ``(n-1) h`` are lumped on
    the last point (a loss of mean reported by the caller). Negative values are an error.
    """
    return GridSplit(values, step, n)(weights)


class GridSplit:
    """:func:`split_onto_grid` for fixed ``values``, many weight vectors (positions computed once)."""

    def __init__(self, values: ArrayLike, step: float, n: int) -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size and v.min() < -1e-9 * step:
            raise ValueError(f"amounts to discretise must be non-negative, found {v.min()!r}")
        pos = np.clip(v / step, 0.0, n - 1.0)
        self.j = np.minimum(np.floor(pos).astype(np.intp), n - 2)
        self.u = pos - self.j
        self.n = n
        self.shape = np.shape(values)

    def __call__(self, weights: ArrayLike) -> Masses:
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64), self.shape).ravel()
        wu = w * self.u
        out = np.bincount(self.j, weights=w - wu, minlength=self.n)
        out[1:] += np.bincount(self.j, weights=wu, minlength=self.n)[: self.n - 1]
        return out[: self.n]


def beta_quadrature(mean: float, sd: float, n_nodes: int) -> tuple[NDArray, NDArray]:
    """Nodes and weights of the Gauss-Jacobi rule for a beta law with this mean and sd.

    ``sum_i w_i f(s_i) = E[f(s)]`` exactly for polynomials of degree ``< 2 n_nodes``, so the mean
    and variance of the share are kept. ``sd == 0`` gives the single node ``mean``. The nodes are
    the eigenvalues of the Jacobi matrix of the shifted Jacobi polynomials (Golub-Welsch), weights
    the squared first components of its eigenvectors (no normalising constant, so no overflow for
    very concentrated laws).
    """
    if sd <= 0.0 or n_nodes == 1:
        return np.array([float(mean)]), np.array([1.0])
    try:
        a, b = beta_params(mean, sd)  # beta shape parameters
    except ValueError as e:
        raise FundsimError(f"in-policy share: {e}") from None
    al, be = b - 1.0, a - 1.0  # Jacobi weight (1 - x)^al (1 + x)^be on [-1, 1], x = 2 s - 1
    n = np.arange(n_nodes, dtype=np.float64)
    s2 = 2.0 * n + al + be
    m = n[1:]
    t = 2.0 * m + al + be
    with np.errstate(divide="ignore", invalid="ignore"):  # the n = 0, 1 terms are taken apart
        diag = np.where(
            n == 0, (be - al) / (al + be + 2.0), (be * be - al * al) / (s2 * (s2 + 2.0))
        )
        off2 = np.where(
            m == 1,
            4.0 * (1.0 + al) * (1.0 + be) / ((2.0 + al + be) ** 2 * (3.0 + al + be)),
            4.0 * m * (m + al) * (m + be) * (m + al + be) / (t * t * (t + 1.0) * (t - 1.0)),
        )
    x, vec = eigh_tridiagonal(diag, np.sqrt(off2))
    w = vec[0] ** 2
    return np.clip((x + 1.0) / 2.0, 0.0, 1.0), w / w.sum()


def count_log_pgf(
    z: NDArray, mean: float, kind: FrequencyKind, dispersion: float = 0.0
) -> NDArray[np.complex128]:
    """Logarithm of the probability generating function ``E[z^N]`` of a claim count (complex
    ``z``, ``|z| <= 1``).

    Poisson: ``m (z - 1)``. Negative binomial with variance ``m (1 + d m)``:
    ``-log(1 + d m (1 - z)) / d`` (principal branch: the argument has real part >= 1).
    """
    kind = FrequencyKind(kind)
    if kind is FrequencyKind.POISSON or dispersion <= 0.0:
        return mean * (np.asarray(z) - 1.0)
    return -np.log1p(dispersion * mean * (1.0 - np.asarray(z))) / dispersion


def count_pgf(z: NDArray, mean: float, kind: FrequencyKind, dispersion: float = 0.0) -> NDArray:
    """Probability generating function ``E[z^N]``: ``exp`` of :func:`count_log_pgf`."""
    return np.exp(count_log_pgf(z, mean, kind, dispersion))


def _log(z: NDArray) -> NDArray[np.complex128]:
    """Principal complex logarithm ``log|z| + i arg z`` (much faster than ``np.log`` on complex
    arrays); ``-inf`` where ``z == 0``."""
    with np.errstate(divide="ignore"):
        return np.log(np.abs(z)) + 1j * np.angle(z)


@dataclass(frozen=True)
class ClaimLaw:
    """One claim type of a person: the claim amount's masses on the grid and the count law."""

    masses: Masses
    count_mean: float
    kind: FrequencyKind = FrequencyKind.POISSON
    dispersion: float = 0.0


def compound_masses(claims: Sequence[ClaimLaw], n: int) -> Masses:
    """Masses on ``0, h, ..., (2n - 1) h`` of a person's annual sum ``S = sum_t sum_{i<=N_t} Y_ti``.

    ``phi_S = prod_t P_{N_t}(phi_{Y_t})`` with ``phi`` the discrete Fourier transform of length
    ``2 n`` (each ``Y_t`` has ``n`` masses): zero-padding to twice the grid keeps one or two claims
    from wrapping around; only three or more claims summing beyond ``2 n h`` alias, which the grid's
    length makes negligible. Claim masses summing to ``1 - e < 1`` (far atoms kept apart) give the
    law of ``S`` restricted to persons without such a claim (total mass ``prod_t P_{N_t}(1 - e_t)``).
    """
    nfft = 2 * n
    log_phi = np.zeros(nfft // 2 + 1, dtype=np.complex128)
    for c in claims:
        if len(c.masses) > n:
            raise ValueError(f"claim masses have {len(c.masses)} points, more than the grid's {n}")
        if c.count_mean <= 0.0:
            continue
        phi_y = np.fft.rfft(c.masses, nfft)
        log_phi += count_log_pgf(phi_y, c.count_mean, c.kind, c.dispersion)
    # no clipping of the rounding noise (about 1e-17): clipping would bias far-tail moments
    return np.fft.irfft(np.exp(log_phi), nfft)


def masses_moments(masses: Masses, step: float, offset: float = 0.0) -> tuple[float, float]:
    """``(mean, variance)`` of the law with ``masses`` on ``offset + j step``, yuan and yuan**2."""
    j = np.arange(len(masses), dtype=np.float64)
    total = masses.sum()
    mean_j = float(np.dot(j, masses) / total)
    var_j = float(np.dot((j - mean_j) ** 2, masses) / total)
    return offset + step * mean_j, step * step * var_j


def _wrap(masses: Masses, length: int) -> Masses:
    """Masses folded modulo ``length`` (what a DFT of that length sees)."""
    if len(masses) <= length:
        out = np.zeros(length)
        out[: len(masses)] = masses
        return out
    pad = (-len(masses)) % length
    return np.concatenate([masses, np.zeros(pad)]).reshape(-1, length).sum(axis=0)


def rebin(masses: Masses, factor: int) -> Masses:
    """Masses on step ``h`` moved to step ``factor * h`` by the mean-preserving split."""
    if factor == 1:
        return masses
    j = np.arange(len(masses), dtype=np.float64)
    return split_onto_grid(j, masses, float(factor), len(masses) // factor + 2)


@dataclass(frozen=True)
class PersonLaw:
    """A person's payment: ``masses`` on ``0, h, 2h, ...`` plus far atoms beyond the grid (yuan).

    The masses and the atoms' weights add up to one.
    """

    masses: Masses
    far_values: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    far_weights: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def moments(self, step: float) -> tuple[float, float]:
        """``(mean, variance)``, yuan and yuan**2, atoms included."""
        j = np.arange(len(self.masses), dtype=np.float64)
        w = np.concatenate([self.masses, self.far_weights])
        v = np.concatenate([step * j, self.far_values])
        total = w.sum()
        mean = float(np.dot(v, w) / total)
        return mean, float(np.dot((v - mean) ** 2, w) / total)


@dataclass(frozen=True)
class Aggregate:
    """The total of many independent persons: masses ``p`` on ``x = start + m * step`` (yuan)."""

    x: NDArray[np.float64]
    p: Masses
    step: float
    method: str
    """``"convolution"`` (whole support, exact), ``"window"`` (window at the persons' step, mass
    outside it wrapped around), ``"characteristic"`` (window at a coarser step, exact cf sampled and
    inverted band-limited) or ``"rebinned"`` (coarser step, each person rebinned onto it)."""
    rebin_variance: float = 0.0
    """Variance added by rebinning (yuan**2; 0 unless ``method == "rebinned"``)."""
    far_mass: float = 0.0
    """Probability carried by the far atoms appended after the window (see aggregate_persons)."""


def aggregate_persons(
    persons: Sequence[Masses | PersonLaw],
    counts: Sequence[int],
    step: float,
    *,
    n_aggregate: int = 2**18,
    k_sd: float = 12.0,
    tail_eps: float = 1e-10,
) -> Aggregate:
    """The law of ``T = sum_c sum_{i <= N_c} Z_ci``: independent persons, ``Z_c`` with the law
    ``persons[c]`` (masses on ``0, h, 2h, ...``, ``h = step``, and far atoms), ``N_c = counts[c]``.

    ``phi_T = prod_c phi_c ** N_c`` (``phi_c ** N = exp(N log phi_c)``; the principal logarithm is
    fine because ``N`` is an integer). If the whole support ``[0, sum_c N_c max Z_c]`` fits in
    ``n_aggregate`` points this is an exact convolution. Otherwise the window is
    ``[mean - k_sd sd, mean + max(k_sd sd, x_tail)]`` (``x_tail``: the smallest amount one person
    exceeds with total probability ``sum_c N_c P(Z_c > x) <= tail_eps``, the "single big payment"
    tail), read with step ``H = r h`` (``r`` the smallest integer so the window fits) and the mass
    outside wrapped around into it.

    Far atoms (a person's payment beyond its grid, of tiny probability) are kept out of the
    transform, so the window does not have to reach them: the grid parts give the law of ``T``
    given that no person has a far payment (its total mass is that probability), and each far atom
    ``(v, w)`` of cell ``c`` adds a point mass ``N_c w`` at ``E[T | none] - E[Z_c | none] + v``
    (first order in the far probabilities, exact in mean), appended after the window.
    """
    laws = [
        law if isinstance(law, PersonLaw) else PersonLaw(np.asarray(law, float)) for law in persons
    ]
    pairs = [(law, int(n)) for law, n in zip(laws, counts, strict=True) if int(n) > 0]
    far = [
        (v, n * w, law)
        for law, n in pairs
        for v, w in zip(law.far_values, law.far_weights, strict=True)
        if w > 0.0
    ]
    grid_moments = {id(law): masses_moments(law.masses, step) for law, _ in pairs}
    near_mean = {key: m for key, (m, _) in grid_moments.items()}
    trimmed = [(np.trim_zeros(law.masses, "b"), n, law) for law, n in pairs]
    trimmed = [t for t in trimmed if len(t[0]) > 1]  # never paid (but far): adds a factor only
    if not trimmed:
        trimmed = [(np.array([1.0, 0.0]), 1, PersonLaw(np.array([1.0, 0.0])))]
        grid_moments[id(trimmed[0][2])] = (0.0, 0.0)
    pairs = [(q, n) for q, n, _ in trimmed]
    # the window is set by the grid parts (the law given no far payment)
    moments = [grid_moments[id(law)] for _, _, law in trimmed]
    mean = sum(n * m for (_, n), (m, _) in zip(pairs, moments, strict=True))
    sd = math.sqrt(sum(n * v for (_, n), (_, v) in zip(pairs, moments, strict=True)))
    support = sum(n * (len(q) - 1) for q, n in pairs)  # in grid steps h

    if support + 1 <= n_aggregate:
        nfft = _fft_length(support + 1)
        lo_idx, r, n_out, method = 0, 1, support + 1, "convolution"
    else:
        longest = max(len(q) for q, _ in pairs)
        tail = np.zeros(longest)
        for q, n in pairs:
            sf = np.zeros(longest)
            sf[: len(q)] = q.sum() - np.cumsum(q)  # P(Z > x) within the grid part
            tail += n * sf
        above = np.flatnonzero(tail > tail_eps)
        x_tail = step * (above[-1] + 1 if above.size else 0)
        lo = max(0.0, mean - k_sd * sd)
        hi = min(step * support, mean + max(k_sd * sd, x_tail))
        r = max(1, math.ceil((hi - lo) / (step * (n_aggregate - 1))))
        lo_idx = int(lo // (r * step))
        nfft = n_aggregate
        n_out = n_aggregate
        method = "characteristic" if r > 1 else "window"
    coarse = r * step

    def combine(transforms: list[tuple[NDArray, int]]) -> NDArray:
        log_phi = np.zeros(nfft // 2 + 1, dtype=np.complex128)
        for phi, n in transforms:
            log_phi += n * _log(phi)
        with np.errstate(invalid="ignore"):
            out = np.exp(log_phi)
        return np.where(np.isfinite(out), out, 0.0)

    rebin_var = 0.0
    if method == "characteristic":
        transform = _ChirpTransform(max(len(q) for q, _ in pairs), nfft * r, nfft // 2 + 1)
        phi_t = combine([(transform(q), n) for q, n in pairs])
        if abs(phi_t[-1]) > 1e-13 or abs(phi_t[-2]) > 1e-13:
            method = "rebinned"  # not band-limited at the coarse step: rebin instead
    if method == "rebinned":
        rebinned = []
        for q, n in pairs:
            qr = rebin(q, r)
            _, v_fine = masses_moments(q, step)
            _, v_coarse = masses_moments(qr, coarse)
            rebin_var += n * (v_coarse - v_fine)
            rebinned.append((np.fft.rfft(_wrap(qr, nfft)), n))
        phi_t = combine(rebinned)
    elif method in ("convolution", "window"):
        phi_t = combine([(np.fft.rfft(_wrap(q, nfft)), n) for q, n in pairs])

    a = np.fft.irfft(phi_t, nfft)
    a = np.roll(a, -lo_idx)[:n_out]
    a = np.where(a > 0.0, a, 0.0)
    nz = np.flatnonzero(a > 1e-16 * a.max())  # drop rounding noise at the window's ends
    first, last = (nz[0], nz[-1]) if nz.size else (0, 0)
    p = a[first : last + 1]
    x = coarse * (lo_idx + first + np.arange(len(p), dtype=np.float64))
    far_mass = 0.0
    if far:
        near_total = float(p.sum())
        t_mean = float(np.dot(x, p) / near_total)
        far_x = np.array([max(t_mean - near_mean[id(law)], 0.0) + v for v, _, law in far])
        far_p = np.array([w for _, w, _ in far])
        order = np.argsort(far_x, kind="stable")
        far_x, far_p = far_x[order], far_p[order]
        keep = far_x > x[-1]  # a far atom inside the window is merged onto it
        if (~keep).any():
            p = p + split_onto_grid(far_x[~keep] - x[0], far_p[~keep], coarse, len(p))
        x = np.concatenate([x, far_x[keep]])
        p = np.concatenate([p, far_p[keep]])
        far_mass = float(far_p.sum())
    p = p / p.sum()
    return Aggregate(
        x=x, p=p, step=coarse, method=method, rebin_variance=rebin_var, far_mass=far_mass
    )


def _chirp(m: NDArray, period: int) -> NDArray:
    """``exp(-i pi m**2 / period)``, with ``m**2`` reduced modulo ``2 period`` in integers (exact)."""
    m = np.asarray(m, dtype=np.int64)
    return np.exp(-1j * np.pi * ((m * m) % (2 * period)) / period)


def characteristic_at(masses: Masses, period: int, n_freq: int) -> NDArray[np.complex128]:
    """``phi_k = sum_j masses_j exp(-2 pi i j k / period)`` for ``k = 0 .. n_freq - 1``.

    The first ``n_freq`` terms of a DFT of length ``period`` (which may be much longer than the
    masses), by Bluestein's chirp transform: ``jk = (j**2 + k**2 - (k - j)**2) / 2`` turns the sum
    into a convolution done by FFT. The chirp phases are reduced in integer arithmetic, so the
    result is accurate to rounding (about 1e-16) whatever ``period``.
    """
    return _ChirpTransform(len(masses), period, n_freq)(masses)


class _ChirpTransform:
    """:func:`characteristic_at` for many mass vectors of one length (chirps computed once)."""

    def __init__(self, n: int, period: int, n_freq: int) -> None:
        from scipy.fft import fft, next_fast_len

        self.n, self.n_freq = n, n_freq
        self.nf = next_fast_len(n + n_freq - 1)
        self.pre = _chirp(np.arange(n), period)
        self.post = _chirp(np.arange(n_freq), period)
        self.kernel = fft(np.conj(_chirp(np.arange(-(n - 1), n_freq), period)), self.nf)

    def __call__(self, masses: Masses) -> NDArray[np.complex128]:
        from scipy.fft import fft, ifft

        a = np.zeros(self.n, dtype=np.complex128)
        a[: len(masses)] = masses
        a *= self.pre
        conv = ifft(fft(a, self.nf) * self.kernel)
        return self.post * conv[self.n - 1 : self.n - 1 + self.n_freq]


def _fft_length(n: int) -> int:
    """An even FFT length >= n that FFTs fast (5-smooth)."""
    from scipy.fft import next_fast_len

    m = next_fast_len(max(n, 2), real=True)
    while m % 2:
        m = next_fast_len(m + 1, real=True)
    return m


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class CellSummary:
    """One roster group's part of the fund's claims (or one segment's, for a group approximated
    per segment, named ``key[category]``): persons and the payment per person."""

    name: str
    category: str
    persons: int
    mean: float
    """Expected payment per person, yuan."""
    var: float
    """Variance of the payment per person, yuan**2."""


@dataclass(frozen=True, eq=False)
class ExactDistribution:
    """The law of a fund's total claims paid in one year: masses ``p`` at the amounts ``x`` (yuan).

    ``x`` increases; it is equally spaced with step ``step`` (the aggregate step; ``person_step``
    is the step of the per-claim and per-person grids) except for at most a few far point masses
    appended at the end (total probability ``far_mass``: some person paid beyond the per-person
    grid; module docstring). Diagnostics: ``far_mean`` (yuan) is the part of the expected claims
    carried by payments beyond the per-person grid (represented to first order: matching the
    cost tail's mass, mean and second moment); ``ignored_cap_bound`` (yuan) bounds the error of
    the expected claims from applying per-admission caps claim by claim; ``rebin_variance``
    (yuan**2) is the variance added by rebinning (0 unless ``method == "rebinned"``).
    """

    fund: str
    year: int
    x: NDArray[np.float64]
    p: NDArray[np.float64]
    step: float
    person_step: float
    n_persons: int
    """Persons the fund covers at some time of the year (stayers, exits and entrants)."""
    per_person_mean: float
    """Expected payment per person the fund covers at some time of the year, yuan."""
    per_person_var: float
    """Variance of the payment of a person drawn at random from those persons, yuan**2."""
    cells: tuple[CellSummary, ...] = ()
    method: str = "convolution"
    far_mass: float = 0.0
    far_mean: float = 0.0
    ignored_cap_bound: float = 0.0
    rebin_variance: float = 0.0
    notes: tuple[str, ...] = field(default=())

    def mean(self) -> float:
        """Expected total claims, yuan: ``sum_i x_i p_i``."""
        return float(np.dot(self.x, self.p))

    def var(self) -> float:
        """Variance of the total claims, yuan**2."""
        m = self.mean()
        return float(np.dot((self.x - m) ** 2, self.p))

    def sd(self) -> float:
        """Standard deviation of the total claims, yuan."""
        return math.sqrt(self.var())

    def cdf(self, x: ArrayLike) -> NDArray[np.float64]:
        """``P(T <= x)`` (vectorised over ``x``, yuan)."""
        cum = _cumsum(self.p)
        i = np.searchsorted(self.x, np.asarray(x, dtype=np.float64), side="right")
        return np.where(i > 0, cum[np.maximum(i - 1, 0)], 0.0)

    def sf(self, x: ArrayLike) -> NDArray[np.float64]:
        """``P(T > x)``, computed from the right so that small tail probabilities keep precision."""
        tail = _cumsum(self.p[::-1])[::-1]  # tail[i] = P(T >= x_i)
        i = np.searchsorted(self.x, np.asarray(x, dtype=np.float64), side="right")
        return np.where(i < len(self.p), tail[np.minimum(i, len(self.p) - 1)], 0.0)

    def quantile(self, q: ArrayLike) -> NDArray[np.float64]:
        """The smallest grid amount ``x`` with ``P(T <= x) >= q`` (vectorised over ``q``), yuan."""
        q = np.asarray(q, dtype=np.float64)
        if np.any((q < 0) | (q > 1)):
            raise ValueError(f"quantile levels must be in [0, 1], found {q!r}")
        cum = _cumsum(self.p)
        i = np.searchsorted(cum, q * cum[-1] * (1.0 - 1e-15), side="left")
        return self.x[np.minimum(i, len(self.x) - 1)]

    def expected(self, f: Callable[[NDArray], ArrayLike]) -> float:
        """``E[f(T)] = sum_i f(x_i) p_i`` for a vectorised function ``f`` of the total (yuan)."""
        return float(np.dot(np.asarray(f(self.x), dtype=np.float64), self.p))


def _cumsum(a: NDArray, block: int = 512) -> NDArray:
    """Cumulative sum in two levels (within blocks, then of block totals): rounding error about
    ``2 * block`` ulps instead of ``len(a)`` ulps for the plain running sum."""
    n = len(a)
    pad = (-n) % block
    rows = np.concatenate([a, np.zeros(pad)]).reshape(-1, block)
    within = np.cumsum(rows, axis=1)
    offsets = np.concatenate([[0.0], np.cumsum(rows.sum(axis=1))[:-1]])
    return (within + offsets[:, None]).ravel()[:n]


def value_at_risk(
    values: ArrayLike, masses: ArrayLike, level: float = 0.995
) -> tuple[float, float]:
    """``(VaR, TVaR)`` at ``level`` of a result (profit positive, yuan), as losses (positive).

    ``VaR = -q`` with ``q`` the lower ``1 - level`` quantile of the result; ``TVaR = -E[result in its
    worst 1 - level of probability]`` (an atom at the quantile is split so the tail has exactly that
    probability).
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(masses, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order] / w.sum()
    alpha = 1.0 - level
    cum = _cumsum(w)
    i = int(min(np.searchsorted(cum, alpha, side="left"), len(v) - 1))
    before = cum[i - 1] if i > 0 else 0.0
    tail_sum = float(np.dot(v[:i], w[:i]) + v[i] * (alpha - before))
    return -float(v[i]), -tail_sum / alpha


def exact_contract_measures(
    dist: ExactDistribution, premium: float, contract: Contract
) -> dict[str, float]:
    """One-year contract measures from the exact law of the claims ``S`` (yuan).

    :func:`simulation.rules.contract.settle_year` is applied to every grid amount; then
    ``expected_<key>`` for every key it returns (``insurer_result`` R, ``insurer_result_net``
    R - O, ``clawback``, ``fund_loss_share``, ``management_payment``, ``operating_cost``,
    ``fund_retained``), ``expected_claims`` and ``sd_claims``, ``p_deficit = P(S > P)``,
    ``p_insurer_loss = P(R - O < 0)``, and VaR/TVaR at 99.5% of the insurer's result before
    (``var_995_insurer_result``) and after its operating cost (``var_995_insurer_result_net``),
    stated as losses (positive = a loss).
    """
    x, p = dist.x, dist.p
    settled = settle_year(contract, premium, x)
    out: dict[str, float] = {
        "premium": float(premium),
        "expected_claims": dist.mean(),
        "sd_claims": dist.sd(),
        "p_deficit": float(p[x > premium].sum()),
    }
    for key, values in settled.items():
        out[f"expected_{key}"] = float(np.dot(np.broadcast_to(values, x.shape), p))
    net = np.broadcast_to(settled["insurer_result_net"], x.shape)
    out["p_insurer_loss"] = float(p[net < 0.0].sum())
    for key in ("insurer_result", "insurer_result_net"):
        var, tvar = value_at_risk(np.broadcast_to(settled[key], x.shape), p, 0.995)
        out[f"var_995_{key}"] = var
        out[f"tvar_995_{key}"] = tvar
    return out


# --------------------------------------------------------------------------- the scenario


@dataclass(frozen=True)
class CategoryPlan:
    """How the cascade turns a person's claims into the fund's payment, for one category.

    Layer entries are indices in the compiled cascade. The tracked amount of a claim is, after the
    ``per_admission`` layers: the fund's own per-admission layer's payment (``target_per_admission``)
    or what is left of the claim's ``base`` for the ``annual`` layers.
    """

    per_admission: tuple[int, ...]
    """Per-admission layers applied to each claim, in order, before the tracked amount."""
    target_per_admission: int | None
    """The fund's per-admission layer, if that is how the fund pays this category."""
    annual: tuple[int, ...]
    """Annual cumulative layers applied to the person's annual sum, in cascade order."""
    base: Base
    claim_types: tuple[int, ...]
    """Claim types (indices in CLAIM_TYPES) whose tracked amounts add up."""
    capped: tuple[int, ...]
    """Layers in ``per_admission`` with a finite annual cap, applied per claim (error bounded)."""


def category_plan(cc: CompiledCascade, fund: str, category: int) -> CategoryPlan | None:
    """The :class:`CategoryPlan` of ``fund`` for the category with code ``category``; ``None`` when
    no layer of the fund covers it. Raises :class:`FundsimError` for cascades the exact method
    does not support (module docstring)."""
    funds = cc.fund_of_layer
    if fund not in funds:
        raise FundsimError(
            f"fund {fund!r} pays no layer of the cascade; funds: {', '.join(dict.fromkeys(funds))}"
        )
    cat = cc.categories[category]
    last = max(j for j, f in enumerate(funds) if f == fund)
    relevant = [j for j in range(last + 1) if cc.layers[j].covered[category]]
    target = [j for j in relevant if funds[j] == fund]
    if not target:
        return None

    def name(j: int) -> str:
        return repr(cc.layer_names[j])

    annual = [j for j in relevant if cc.layers[j].settlement is Settlement.ANNUAL_CUMULATIVE]
    per_adm = [j for j in relevant if cc.layers[j].settlement is Settlement.PER_ADMISSION]
    late = [j for j in per_adm if annual and j > annual[0]]
    if late:
        raise FundsimError(
            f"exact method: layer {name(late[0])} settles per admission after the annual cumulative "
            f"layer {name(annual[0])} (category {cat!r}); the exact method needs every "
            "per-admission layer before the annual cumulative ones"
        )

    def finite_caps(layers: Sequence[int]) -> tuple[int, ...]:
        return tuple(
            j
            for j in layers
            if np.isfinite(cc.layers[j].cap[category]) and cc.layers[j].ratio[category].any()
        )

    target_pa = [j for j in target if j in per_adm]
    if target_pa:
        if len(target) > 1:
            raise FundsimError(
                f"exact method: fund {fund!r} pays category {cat!r} through layers "
                f"{', '.join(name(j) for j in target)}, one of them per admission; it needs a single "
                "per-admission layer or annual cumulative layers only"
            )
        t = target_pa[0]
        before = tuple(j for j in per_adm if j != t)
        layer = cc.layers[t]
        return CategoryPlan(
            per_admission=before,
            target_per_admission=t,
            annual=(),
            base=layer.base,
            claim_types=tuple(int(i) for i in np.flatnonzero(layer.claim_types)),
            capped=finite_caps(before),
        )
    first = cc.layers[annual[0]]
    for j in annual:
        layer = cc.layers[j]
        if layer.base is not first.base:
            raise FundsimError(
                f"exact method: annual cumulative layers {name(annual[0])} and {name(j)} pay on "
                f"different bases ({first.base.value}, {layer.base.value}); the exact method "
                "needs one base for them"
            )
        if not np.array_equal(layer.claim_types, first.claim_types):
            raise FundsimError(
                f"exact method: annual cumulative layers {name(annual[0])} and {name(j)} cover "
                "different claim types; the exact method needs the same claim types for them"
            )
        for arr in (layer.lower, layer.upper, layer.ratio):
            if not np.all(arr[category] == arr[category, :1]):
                raise FundsimError(
                    f"exact method: the annual cumulative layer {name(j)} has a schedule that "
                    f"depends on the hospital level (category {cat!r}); not supported"
                )
    return CategoryPlan(
        per_admission=tuple(per_adm),
        target_per_admission=None,
        annual=tuple(annual),
        base=first.base,
        claim_types=tuple(int(i) for i in np.flatnonzero(first.claim_types)),
        capped=finite_caps(per_adm),
    )


def _base_amount(base: Base, in_rem: NDArray, out_rem: NDArray) -> NDArray:
    if base is Base.IN_POLICY:
        return in_rem
    if base is Base.OUT_OF_POLICY:
        return out_rem
    return in_rem + out_rem


def _after_payment(
    base: Base, in_rem: NDArray, out_rem: NDArray, paid: NDArray
) -> tuple[NDArray, NDArray]:
    """What is left after a payment on ``base`` (as in apply_cascade: ``total`` pays in-policy first)."""
    if base is Base.IN_POLICY:
        return in_rem - paid, out_rem
    if base is Base.OUT_OF_POLICY:
        return in_rem, out_rem - paid
    from_in = np.minimum(paid, in_rem)
    return in_rem - from_in, np.maximum(out_rem - (paid - from_in), 0.0)


def _per_claim_payment(layer: CompiledLayer, c: int, level: int, x: NDArray) -> NDArray:
    """A per-admission layer's payment on claim bases ``x`` before its annual cap, yuan:
    ``clip(B(x), 0, x)`` with the category's and level's schedule."""
    b = banded_payment(x, layer.lower[c, level], layer.upper[c, level], layer.ratio[c, level])
    return np.clip(b, 0.0, x)


def claim_amounts(
    cc: CompiledCascade,
    plan: CategoryPlan,
    c: int,
    claim_type: int,
    level: int,
    cost: NDArray,
    share: float,
) -> tuple[NDArray, dict[int, NDArray]]:
    """The tracked amount of claims of total cost ``cost`` (yuan) and in-policy share ``share``,
    and the payments per claim ``V = min(paid, cap)`` of the ``plan.capped`` layers, yuan.

    Steps as :func:`simulation.rules.layers.apply_cascade` for one claim: in-policy remaining
    ``s X``, out-of-policy remaining ``(1 - s) X``; each per-admission layer covering the claim type
    pays on its base and reduces what is left.
    """
    in_rem = share * cost
    out_rem = (1.0 - share) * cost
    capped: dict[int, NDArray] = {}
    for j in plan.per_admission:
        layer = cc.layers[j]
        if not layer.claim_types[claim_type]:
            continue
        paid = _per_claim_payment(layer, c, level, _base_amount(layer.base, in_rem, out_rem))
        if j in plan.capped:
            paid = np.minimum(paid, layer.cap[c])  # exact for a person's only claim
            capped[j] = paid
        in_rem, out_rem = _after_payment(layer.base, in_rem, out_rem, paid)
    if plan.target_per_admission is not None:
        layer = cc.layers[plan.target_per_admission]
        tracked = _per_claim_payment(layer, c, level, _base_amount(layer.base, in_rem, out_rem))
    else:
        tracked = _base_amount(plan.base, in_rem, out_rem)
    return tracked, capped


def person_payment(
    cc: CompiledCascade, plan: CategoryPlan, c: int, fund: str, annual_sum: NDArray
) -> NDArray:
    """The fund's payment to a person whose tracked amounts add up to ``annual_sum`` (yuan).

    Annual layers in order: ``paid_k = min(B_k(remaining), cap_k)``, ``remaining -= paid_k``; the
    fund's payment is the sum of its layers' ``paid_k``. With the fund's per-admission layer:
    ``min(annual_sum, cap)``.
    """
    if plan.target_per_admission is not None:
        return np.minimum(annual_sum, cc.layers[plan.target_per_admission].cap[c])
    remaining = np.asarray(annual_sum, dtype=np.float64)
    paid_by_fund = np.zeros_like(remaining)
    for j in plan.annual:
        layer = cc.layers[j]
        b = banded_payment(
            remaining, layer.lower[c, 0], layer.upper[c, 0], layer.ratio[c, 0], layer.cap[c]
        )
        b = np.clip(b, 0.0, remaining)
        if layer.fund == fund:
            paid_by_fund += b
        remaining = remaining - b
    return paid_by_fund


@dataclass(frozen=True)
class _ClaimGrid:
    """One claim's tracked amount (and capped layers' payments) for one claim type and level."""

    masses: Masses
    far_values: NDArray[np.float64]
    far_weights: NDArray[np.float64]
    capped: dict[int, Masses]
    capped_lumped: dict[int, float]
    """Per capped layer: the mean lost by lumping payments beyond the grid on its end (yuan)."""


def _claim_grid(
    cc: CompiledCascade,
    plan: CategoryPlan,
    c: int,
    t: int,
    lv: int,
    cost_law: GridSeverity,
    cfg: LevelSeverity,
    step: float,
    n: int,
    n_share_nodes: int,
) -> _ClaimGrid:
    """Push the discretised cost and its far atom through :func:`claim_amounts` for every node of
    the in-policy share quadrature; split the results onto the grid (far results kept as atoms)."""
    cost = step * np.arange(n, dtype=np.float64)
    top = cost[-1]
    keep = np.flatnonzero(cost_law.masses > 0.0)
    nodes, weights = beta_quadrature(cfg.in_policy_mean, cfg.in_policy_sd, n_share_nodes)
    y = np.zeros(n)
    capped = {j: np.zeros(n) for j in plan.capped}
    lumped = dict.fromkeys(plan.capped, 0.0)
    far_v, far_w = [], []
    far_cost = np.array([cost_law.far_value])
    for s_i, w_i in zip(nodes, weights, strict=True):
        tracked, paid = claim_amounts(cc, plan, c, t, lv, cost[keep], float(s_i))
        y += split_onto_grid(tracked, w_i * cost_law.masses[keep], step, n)
        for j, u in paid.items():
            capped[j] += split_onto_grid(u, w_i * cost_law.masses[keep], step, n)
        if cost_law.far_weight > 0.0:
            w = w_i * cost_law.far_weight
            tracked, paid = claim_amounts(cc, plan, c, t, lv, far_cost, float(s_i))
            if tracked[0] <= top:
                y += split_onto_grid(tracked, w, step, n)
            else:
                far_v.append(float(tracked[0]))
                far_w.append(w)
            for j, u in paid.items():
                capped[j] += split_onto_grid(u, w, step, n)
                lumped[j] += w * max(float(u[0]) - top, 0.0)
    return _ClaimGrid(y, np.array(far_v), np.array(far_w), capped, lumped)


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 5 (times a power of ten) at least ``x``: a round grid step, so that
    deductibles and band limits (round amounts) fall on grid points, where rounding costs onto the
    grid does not bias what a layer pays."""
    e = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0**e >= x * (1.0 - 1e-12):
            return m * 10.0**e
    return 10.0 ** (e + 1)  # pragma: no cover


@dataclass(frozen=True)
class _CellInput:
    """Persons of one roster group (or one segment of a group changing category, approximated)
    who are paid as one category's persons for the whole year (module docstring)."""

    name: str
    group: str
    """Key of the roster group (several inputs share it for an approximated group)."""
    category: str
    code: int
    persons: int
    plan: CategoryPlan
    rates: dict[int, float]
    """Expected claims per person by claim type index (in the covered segments)."""
    mixes: dict[int, NDArray]
    """Hospital level mix by claim type index, shape (len(LEVELS),)."""
    kinds: dict[int, FrequencyKind]
    """Count law by claim type index."""
    dispersions: dict[int, float]
    """Negative binomial dispersion by claim type index (0 for Poisson)."""


def _carried(cc: CompiledCascade, plan: CategoryPlan, code: int, other: int) -> bool:
    """Whether claims in category ``other`` change what the fund pays on a person's claims in
    category ``code`` (``plan`` its plan): a layer before the fund's that covers both categories
    and settles on the year-to-date base (annual cumulative) or caps the person's cumulative
    payments (a finite annual cap for ``code``)."""
    upstream = (*plan.per_admission, *plan.annual)
    return any(
        cc.layers[j].covered[other]
        and (cc.layers[j].settlement is Settlement.ANNUAL_CUMULATIVE or j in plan.capped)
        for j in upstream
    )


def _group_inputs(
    scenario: Scenario,
    sc: Scenario,
    cc: CompiledCascade,
    plans: dict[int, CategoryPlan | None],
    year: int,
    with_changes: bool,
) -> tuple[list[_CellInput], list]:
    """The exact method's inputs from the engine's roster groups of ``year``
    (:func:`simulation.engine.plan.build_plan`), and the groups it approximates.

    Segments in a category the fund does not cover are dropped. A group whose remaining segments
    all have one category ``c`` is one input: its ``count`` persons in ``c`` with the expected
    claims of those segments, ``mean * sum of their seg_weights`` (a claim falls in a segment
    independently of the others, so the claims in them are the count thinned: Poisson, or negative
    binomial with the same dispersion, exactly), exact unless a dropped segment's claims carry into
    the fund's payments (:func:`_carried`). Any other group is approximated: one input per
    remaining segment, ``count`` persons with ``mean * seg_weights[s]`` expected claims in the
    segment's category.
    """
    from .plan import build_plan  # the engine's plan (imports numba): only when needed

    if year < scenario.start_year:
        raise FundsimError(
            f"exact method: year {year} is before the scenario's start year {scenario.start_year}"
        )
    base = scenario if with_changes else sc
    run_plan = build_plan(base, years=year - scenario.start_year + 1)
    year_plan = next(y for y in run_plan.years if y.year == year)
    code_of = [list(cc.categories).index(name) for name in run_plan.categories]
    inputs: list[_CellInput] = []
    approximated = []
    for g in year_plan.groups:
        seg_code = [code_of[int(c)] for c in g.seg_category]
        kept = [s for s, c in enumerate(seg_code) if plans[c] is not None]
        if not kept or g.count <= 0:
            continue
        codes = {seg_code[s] for s in kept}
        dropped = {c for c in seg_code if plans[c] is None}
        first = seg_code[kept[0]]
        if len(codes) == 1 and not any(_carried(cc, plans[first], first, b) for b in dropped):
            parts = [(g.key, kept)]
        else:
            parts = [(f"{g.key}[{cc.categories[seg_code[s]]}]", [s]) for s in kept]
            approximated.append(g)
        for name, segs in parts:
            c = seg_code[segs[0]]
            rates, mixes, kinds, dispersions = {}, {}, {}, {}
            for cp in g.claims:
                t = cp.claim_type
                rates[t] = float(cp.mean * sum(cp.seg_weights[s] for s in segs))
                mixes[t] = np.diff(cp.level_cum[segs[0]], prepend=0.0)
                kinds[t] = FrequencyKind(cp.kind)
                negbin = kinds[t] is FrequencyKind.NEGATIVE_BINOMIAL
                dispersions[t] = float(cp.dispersion) if negbin else 0.0
            inputs.append(
                _CellInput(
                    name,
                    g.key,
                    cc.categories[c],
                    c,
                    int(g.count),
                    plans[c],
                    rates,
                    mixes,
                    kinds,
                    dispersions,
                )
            )
    return inputs, approximated


def exact_claims_distribution(
    scenario: Scenario,
    fund: str,
    year: int,
    *,
    step: float | None = None,
    n_grid: int = 2**16,
    n_aggregate: int = 2**18,
    n_share_nodes: int = 16,
    k_sd: float = 12.0,
    tail_tolerance: float = 1e-6,
    cap_tolerance: float = 1e-3,
    with_changes: bool = True,
) -> ExactDistribution:
    """The exact law of fund ``fund``'s total claims paid in ``year`` (module docstring).

    - ``step``: the per-claim and per-person grid step, yuan; by default the smallest round step
      (1, 2 or 5 times a power of ten, so round deductibles and band limits fall on grid points)
      whose grid of ``n_grid`` points leaves beyond its end at most ``tail_tolerance`` of every
      cell's expected claim costs (and reaches 20 standard deviations of the annual sum).
    - ``n_grid``: points of the per-claim grid (the per-person grid has twice as many). The error
      of expected amounts from rounding is of order ``step**2``: double ``n_grid`` (halving the
      automatic step) and compare to estimate it.
    - ``n_aggregate``, ``k_sd``: points and half-width (standard deviations) of the window of the
      total (see :func:`aggregate_persons`).
    - ``n_share_nodes``: quadrature nodes for the in-policy share.
    - ``cap_tolerance``: largest accepted bound on the relative error of the expected claims from
      applying the annual caps of per-admission layers before the fund's claim by claim.
    - ``with_changes``: apply the scenario's rule changes in force in ``year``.

    The persons are the engine's roster groups of ``year`` (entrants and exits covered part of
    the year); groups changing between categories the fund covers are approximated per segment
    (module docstring; ``notes`` says how many persons).
    """
    if fund not in scenario.funds:
        raise FundsimError(
            f"fund {fund!r} is not in the scenario; funds: {', '.join(scenario.funds)}"
        )
    sc = scenario_for_year(scenario, year, with_changes=with_changes)
    cc = compile_cascade(sc, year)
    categories = list(cc.categories)
    notes: list[str] = []

    plans = {c: category_plan(cc, fund, c) for c in range(len(categories))}
    fractional = [
        cname
        for cname, cell in sc.population.cells.items()
        if abs(float(cell.count.at(year)) - round(float(cell.count.at(year)))) > 1e-9
    ]
    if fractional:
        notes.append(f"cell counts rounded to whole persons: {', '.join(fractional)}")
    cells, approximated = _group_inputs(scenario, sc, cc, plans, year, with_changes)
    if approximated:
        n_approx = sum(g.count for g in approximated)
        notes.append(
            f"{n_approx:,} persons ({len(approximated)} roster groups) change category within the "
            "year: approximated as independent persons per segment, each with that segment's "
            "claims in its category (first order: exact in mean for per-admission layers "
            "without annual caps, exact for a person with claims in one segment only; the annual "
            "cumulative base, caps carried across the change and the dependence of negative "
            "binomial counts between segments are ignored)"
        )

    # severities by claim type and level
    severities = {}
    for t, ct in enumerate(CLAIM_TYPES):
        model = sc.claims.get(ct)
        if model is None:
            continue
        trend = cost_trend_factor(model.severity, sc.start_year, year)
        for lv_i, lv in enumerate(LEVELS):
            severities[t, lv_i] = (
                severity_from_config(model.severity.levels[lv], trend_factor=trend),
                model.severity.levels[lv],
            )

    h = float(step) if step is not None else _auto_step(cells, severities, n_grid, tail_tolerance)
    if not h > 0:
        raise FundsimError(f"exact method: the grid step must be positive, found {h!r}")
    n = int(n_grid)
    x_laws = {key: discretise_severity(sev, h, n) for key, (sev, _cfg) in severities.items()}
    claim_cache: dict[tuple, _ClaimGrid] = {}

    def per_level(plan: CategoryPlan, c: int, t: int, lv: int) -> _ClaimGrid:
        layers = [*plan.per_admission]
        if plan.target_per_admission is not None:
            layers.append(plan.target_per_admission)
        signature = tuple(
            (
                j,
                cc.layers[j].lower[c, lv].tobytes(),
                cc.layers[j].upper[c, lv].tobytes(),
                cc.layers[j].ratio[c, lv].tobytes(),
                float(cc.layers[j].cap[c]),
            )
            for j in layers
        )
        key = (plan, t, lv, signature)
        if key not in claim_cache:
            claim_cache[key] = _claim_grid(
                cc, plan, c, t, lv, x_laws[t, lv], severities[t, lv][1], h, n, n_share_nodes
            )
        return claim_cache[key]

    payment_split: dict[int, GridSplit] = {}  # by category: the payment at each annual sum
    s_grid = h * np.arange(2 * n, dtype=np.float64)

    def person_law(cell: _CellInput) -> tuple[PersonLaw, float, float, float, float]:
        """A person's payment law, its mean and variance, the far atoms' mean and the bound on
        the ignored per-admission caps, all per person."""
        plan, c = cell.plan, cell.code
        laws: list[ClaimLaw] = []
        far_v: list[NDArray] = []
        far_w: list[NDArray] = []
        cap_laws: dict[int, list[ClaimLaw]] = {j: [] for j in plan.capped}
        cap_lumped = dict.fromkeys(plan.capped, 0.0)
        for t, m in cell.rates.items():
            if m <= 0.0:
                continue
            kind, disp = cell.kinds[t], cell.dispersions[t]
            mix = cell.mixes[t]
            grids = {lv: per_level(plan, c, t, lv) for lv in range(len(LEVELS)) if mix[lv] > 0.0}
            if t in plan.claim_types:
                laws.append(
                    ClaimLaw(sum(mix[lv] * g.masses for lv, g in grids.items()), m, kind, disp)
                )
                far_v += [g.far_values for g in grids.values()]
                far_w += [m * mix[lv] * g.far_weights for lv, g in grids.items()]
            for j in plan.capped:
                if cc.layers[j].claim_types[t]:
                    u = sum(mix[lv] * g.capped[j] for lv, g in grids.items())
                    cap_laws[j].append(ClaimLaw(u, m, kind, disp))
                    cap_lumped[j] += m * sum(
                        mix[lv] * g.capped_lumped[j] for lv, g in grids.items()
                    )
        s = compound_masses(laws, n)
        if c not in payment_split:
            payment_split[c] = GridSplit(person_payment(cc, plan, c, fund, s_grid), h, 2 * n)
        q = payment_split[c](s)
        atoms_v = np.zeros(0)
        atoms_w = np.zeros(0)
        if far_v:
            # one far claim, plus the mean of the person's other claims (first order)
            s_mean = float(np.dot(s_grid, s) / s.sum())
            values = np.concatenate(far_v)
            weights = np.concatenate(far_w)
            paid = person_payment(cc, plan, c, fund, values + s_mean)
            inside = paid <= s_grid[-1]
            q += split_onto_grid(paid[inside], weights[inside], h, 2 * n)
            atoms_v, atoms_w = paid[~inside], weights[~inside]
        law = PersonLaw(q, atoms_v, atoms_w)
        mean_c, var_c = law.moments(h)
        excess_c = 0.0
        for j in plan.capped:
            u = compound_masses(cap_laws[j], n)
            cap = cc.layers[j].cap[c]
            excess_c += float(np.dot(np.maximum(s_grid - cap, 0.0), u)) + cap_lumped[j]
        return law, mean_c, var_c, float(np.dot(atoms_v, atoms_w)), excess_c

    law_cache: dict[tuple, tuple[PersonLaw, float, float, float, float]] = {}
    person_laws: list[PersonLaw] = []
    counts: list[int] = []
    summaries: list[CellSummary] = []
    by_group: dict[str, list[float]] = {}  # persons, mean and variance of a group's person
    far_mean = 0.0
    cap_excess = 0.0
    for cell in cells:
        key = (
            cell.code,
            tuple(
                (t, m, cell.mixes[t].tobytes(), cell.kinds[t], cell.dispersions[t])
                for t, m in sorted(cell.rates.items())
            ),
        )
        if key not in law_cache:
            law_cache[key] = person_law(cell)
        law, mean_c, var_c, far_c, excess_c = law_cache[key]
        far_mean += cell.persons * far_c
        cap_excess += cell.persons * excess_c
        person_laws.append(law)
        counts.append(cell.persons)
        summaries.append(CellSummary(cell.name, cell.category, cell.persons, mean_c, var_c))
        group = by_group.setdefault(cell.group, [cell.persons, 0.0, 0.0])
        group[1] += mean_c  # the segments of an approximated group are independent
        group[2] += var_c

    n_persons = sum(int(g[0]) for g in by_group.values())
    total_mean = sum(s.persons * s.mean for s in summaries)
    capped_names = sorted({cc.layer_names[j] for cell in cells for j in cell.plan.capped})
    if cap_excess > cap_tolerance * total_mean:
        raise FundsimError(
            f"exact method: the annual cap of per-admission layer(s) {', '.join(map(repr, capped_names))} "
            f"is not applied; it may change fund {fund!r}'s expected claims in {year} by up to "
            f"{cap_excess:,.0f} yuan ({cap_excess / max(total_mean, 1e-300):.3%} of "
            f"{total_mean:,.0f}), above cap_tolerance={cap_tolerance:g}; raise cap_tolerance to "
            "accept the approximation or use the Monte Carlo engine"
        )
    if capped_names and cap_excess > 0:
        notes.append(
            f"annual caps of per-admission layer(s) {', '.join(capped_names)} not applied "
            f"(bound on the error of the expected claims: {cap_excess:,.2f} yuan)"
        )
    agg = aggregate_persons(person_laws, counts, h, n_aggregate=n_aggregate, k_sd=k_sd)
    if n_persons:
        pp_mean = total_mean / n_persons
        second = sum(p * (v + m**2) for p, m, v in by_group.values()) / n_persons
        pp_var = max(second - pp_mean**2, 0.0)
    else:
        pp_mean = pp_var = 0.0
    return ExactDistribution(
        fund=fund,
        year=int(year),
        x=agg.x,
        p=agg.p,
        step=agg.step,
        person_step=h,
        n_persons=n_persons,
        per_person_mean=pp_mean,
        per_person_var=pp_var,
        cells=tuple(summaries),
        method=agg.method,
        far_mass=agg.far_mass,
        far_mean=far_mean,
        ignored_cap_bound=cap_excess,
        rebin_variance=agg.rebin_variance,
        notes=tuple(notes),
    )


def _auto_step(
    cells: Sequence[_CellInput], severities: dict, n_grid: int, tolerance: float
) -> float:
    """The grid step: ``L / (n_grid - 1)`` rounded up to a round number, where ``L`` is the
    smallest length such that for every cell ``sum_t m_t E[(X_t - L)+] <= tolerance sum_t m_t E[X_t]``
    (the claims' mean left beyond the grid) and ``L >= E[S] + 20 sd(S)`` (the annual sum's bulk)."""
    candidates = np.geomspace(1.0, 1e13, 1301)
    lost = {}
    moments = {}
    for key, (sev, _cfg) in severities.items():
        mean = float(sev.mean())
        lost[key] = np.maximum(mean - np.asarray(sev.limited_expectation(candidates)), 0.0)
        moments[key] = (mean, float(sev.var()) + mean * mean)
    length = 0.0
    for cell in cells:
        lost_c = np.zeros_like(candidates)
        base_c = 0.0
        mean_s = var_s = 0.0
        for t, m in cell.rates.items():
            mix = cell.mixes[t]
            e1 = sum(mix[lv] * moments[t, lv][0] for lv in range(len(LEVELS)))
            e2 = sum(mix[lv] * moments[t, lv][1] for lv in range(len(LEVELS)))
            lost_c += m * sum(mix[lv] * lost[t, lv] for lv in range(len(LEVELS)))
            base_c += m * e1
            mean_s += m * e1
            var_s += m * e2 + cell.dispersions[t] * m * m * e1 * e1
        ok = np.flatnonzero(lost_c <= tolerance * base_c)
        tail_len = candidates[ok[0]] if ok.size else candidates[-1]
        length = max(length, tail_len, mean_s + 20.0 * math.sqrt(var_s))
    if length <= 0.0:
        return 1.0
    return _nice_ceil(length / (n_grid - 1))
