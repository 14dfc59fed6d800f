"""The exact method's discretisation core: grids, claim counts, compound and aggregate masses.

Amounts are yuan on the grid ``0, h, 2h, ...`` (``h`` the step, yuan). A claim cost law is
discretised by mean-preserving rounding with a far atom for its tail (:func:`discretise_severity`),
amounts are split onto a grid (:func:`split_onto_grid`, :class:`GridSplit`, :func:`rebin`), the
in-policy share by a Gauss-Jacobi rule (:func:`beta_quadrature`). Claim counts per person in the
year (Poisson or negative binomial) enter by their pgf (:func:`count_pgf`); a person's annual sum is
compound (:func:`compound_masses`), the total of many independent persons an FFT product read on a
window (:func:`aggregate_persons`, with the chirp transform :func:`characteristic_at`). Nothing
here knows about scenarios or contracts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import eigh_tridiagonal

from ...errors import FundsimError
from ...models.severity import beta_params
from ...scenario.schema import FrequencyKind

Masses = NDArray[np.float64]


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
    # log |w| + i arg w rather than np.log1p: several times faster on complex arrays; the argument
    # has real part >= 1, so |w| loses nothing to cancellation
    return -_log(1.0 + dispersion * mean * (1.0 - np.asarray(z))) / dispersion


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
    transform: NDArray[np.complex128] | None = None
    """Optional precomputed ``np.fft.rfft(masses, 2 n)`` (what :func:`compound_masses` would
    compute; callers that mix the same per-level transforms for many persons pass it)."""


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
        phi_y = c.transform if c.transform is not None else np.fft.rfft(c.masses, nfft)
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


def _rfft(masses: Masses, length: int) -> NDArray[np.complex128]:
    """``rfft`` of the masses folded modulo ``length`` (zero-padded when shorter: no copy)."""
    if len(masses) <= length:
        return np.fft.rfft(masses, length)
    return np.fft.rfft(_wrap(masses, length))


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
    merged: dict[int, list] = {}  # the same law object for several cells: one transform
    for law, n in zip(laws, counts, strict=True):
        if int(n) > 0:
            merged.setdefault(id(law), [law, 0])[1] += int(n)
    pairs = [(law, n) for law, n in merged.values()]
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
        phi_t = combine(
            list(
                zip(
                    _map_threads(transform, [q for q, _ in pairs]),
                    [n for _, n in pairs],
                    strict=True,
                )
            )
        )
        if abs(phi_t[-1]) > 1e-13 or abs(phi_t[-2]) > 1e-13:
            method = "rebinned"  # not band-limited at the coarse step: rebin instead
    if method == "rebinned":
        rebinned = []
        for q, n in pairs:
            qr = rebin(q, r)
            _, v_fine = masses_moments(q, step)
            _, v_coarse = masses_moments(qr, coarse)
            rebin_var += n * (v_coarse - v_fine)
            rebinned.append((_rfft(qr, nfft), n))
        phi_t = combine(rebinned)
    elif method in ("convolution", "window"):
        phis = _map_threads(lambda q: _rfft(q, nfft), [q for q, _ in pairs])
        phi_t = combine(list(zip(phis, [n for _, n in pairs], strict=True)))

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


def _threads() -> int:
    """Threads for independent transforms: ``FUNDSIM_THREADS`` if set, else the usable cores."""
    import os

    env = os.environ.get("FUNDSIM_THREADS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _map_threads(f, items: list) -> list:
    """``[f(x) for x in items]`` on :func:`_threads` threads (numpy's and scipy's FFTs release the
    GIL); results in the order of ``items``, so sums over them do not depend on the threads."""
    threads = min(_threads(), len(items))
    if threads <= 1:
        return [f(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(f, items))


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
