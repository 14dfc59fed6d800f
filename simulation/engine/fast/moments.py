"""Per-person conditional moments of everything a run adds up, from the exact method's laws.

For one policy year, one category and one cost multiplier ``C`` (every claim cost scaled by ``C``,
the in-policy share unchanged), :class:`ClaimTables` holds each claim type's and level's claim on
the exact method's grid (mean-preserving rounding of the cost, Gauss-Jacobi nodes of the share,
far atom for the tail) pushed through the per-admission layers (:mod:`..exact.cascade`'s steps).
:func:`person_moments` then gives, for a person with expected claims ``m_t`` by claim type (the
frequency multiplier ``F`` and the person's exposure are in ``m_t``), the mean vector and the
second-moment matrix of the person's :data:`basis` vector (yuan, counts):

``[layer payments (new rules), layer payments (rules before a change), beneficiary indicator by
fund, total cost, admissions, claimant indicator]``.

How each moment is computed (``A`` an additive per-claim amount: a per-admission layer's payment,
the cost, the count 1; ``G`` a function of the person's annual base ``S``: an annual layer's
payment, an annual fund's beneficiary indicator)

- ``E[G(S)]``, ``E[G G'(S)]``: the law of ``S`` by the compound FFT (exact method step 2), plus
  the far atoms to first order (one claim beyond the grid plus the mean of the others);
- ``E[sum A]`` and ``E[sum A sum A']``: closed forms, ``sum_t m_t E[A A'] + sum_{t,t'} E[N_t N_t'
  - delta N_t] E[A] E[A']`` with ``E[N_t (N_t - 1)] = m_t**2 (1 + d_t)`` (negative binomial with
  variance ``m (1 + d m)``; Poisson ``d = 0``) and independent claim types;
- ``E[sum_{claims of t} A G(S)]``: Mecke's formula for mixed Poisson counts,
  ``m_t E[A(Y) G(y(Y) + S*_t)]``, where ``S*_t`` is ``S`` with claim type ``t``'s count size-biased
  (gamma mixing shape ``1/d + 1``: ``log phi_{S*t} = log phi_S + d_t log P_t(phi_{Y_t})``); the
  inner expectation is a correlation of the claims' ``A``-weighted masses with ``G``, by FFT;
- the claimant indicator ``1{N >= 1}``: mean ``1 - prod_t P_t(0)``, and ``E[1{N>=1} Z] = E[Z]``
  for every ``Z`` that is 0 without claims;
- a per-admission fund's beneficiary indicator: mean ``1 - prod_t P_t(1 - q_t)`` (``q_t`` the
  probability that a claim of type ``t`` is paid something: thinning, exact); its covariance with
  the other components is taken as that of the claimant indicator scaled by its mean (an
  approximation, stated in :mod:`simulation.engine.fast`).

Everything is linear in the claim law, so the level mix of a person mixes per-level tables.
Amounts in yuan; ``h`` is the grid step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ...errors import FundsimError
from ...rules.bands import banded_payment
from ...rules.layers import CompiledCascade, remaining_after
from ...scenario.schema import CLAIM_TYPES, LEVELS, FrequencyKind, Settlement
from ..exact.cascade import _base_amount, _per_claim_payment, category_plan
from ..exact.discrete import (
    GridSeverity,
    GridSplit,
    beta_quadrature,
    count_log_pgf,
    count_pgf,
    discretise_severity,
)


@dataclass(frozen=True)
class Basis:
    """Column layout of the per-person vector (see the module docstring)."""

    n_layers: int
    n_funds: int

    @property
    def new(self) -> slice:
        return slice(0, self.n_layers)

    @property
    def old(self) -> slice:
        return slice(self.n_layers, 2 * self.n_layers)

    @property
    def beneficiaries(self) -> slice:
        return slice(2 * self.n_layers, 2 * self.n_layers + self.n_funds)

    @property
    def total_cost(self) -> int:
        return 2 * self.n_layers + self.n_funds

    @property
    def admissions(self) -> int:
        return self.total_cost + 1

    @property
    def claimants(self) -> int:
        return self.total_cost + 2

    @property
    def size(self) -> int:
        return self.total_cost + 3


@dataclass(frozen=True)
class CascadeShape:
    """How one category's claims go through the cascade (both rule sets): layer indices."""

    per_admission: tuple[int, ...]
    annual: tuple[int, ...]
    annual_old: tuple[int, ...]
    annual_types: tuple[int, ...]
    """Claim types whose tracked base adds up in the annual base ``S``."""
    annual_funds: tuple[int, ...] = ()
    """Fund indices paid by the annual layers."""
    pa_funds: tuple[int, ...] = ()
    """Fund indices paid by the per-admission layers."""
    changed: bool = False
    """A rule change is in force: the old rules' columns are filled (else they stay 0 and the
    caller reads the new rules' payments for them)."""

    def additive(self, basis: Basis) -> tuple[list[int], list[int]]:
        """Basis columns of the additive amounts and their index in ``LevelClaims.additive``
        (per-admission layers under both rule sets, the cost, the count)."""
        nl = basis.n_layers
        cols, idx = [], []
        for k, j in enumerate(self.per_admission):
            cols += [j, nl + j] if self.changed else [j]
            idx += [k, k] if self.changed else [k]
        k0 = len(self.per_admission)
        return cols + [basis.total_cost, basis.admissions], idx + [k0, k0 + 1]

    def g_columns(self, basis: Basis) -> list[int]:
        """Basis columns of the G functions, in the order of :func:`annual_functions`' output."""
        nl = basis.n_layers
        return (
            list(self.annual)
            + [nl + j for j in self.annual_old]
            + [basis.beneficiaries.start + f for f in self.annual_funds]
        )


def cascade_shape(
    cc: CompiledCascade, old: CompiledCascade | None, c: int, fund_index: dict[str, int]
) -> CascadeShape:
    """The layers covering category ``c``: per-admission first, then annual cumulative on one base
    (the exact method's supported cascades, checked by :func:`..exact.cascade.category_plan`).
    With a rule change, the per-admission layers must be the same under both rule sets."""
    shapes = []
    for casc in (cc, old) if old is not None else (cc,):
        covering = [j for j, layer in enumerate(casc.layers) if layer.covered[c]]
        if not covering:
            shapes.append(((), (), ()))
            continue
        last_fund = casc.fund_of_layer[covering[-1]]
        category_plan(casc, last_fund, c)  # raises for what the exact method cannot represent
        pa = tuple(j for j in covering if casc.layers[j].settlement is Settlement.PER_ADMISSION)
        an = tuple(j for j in covering if casc.layers[j].settlement is Settlement.ANNUAL_CUMULATIVE)
        for j in an:
            category_plan(casc, casc.fund_of_layer[j], c)
        types = tuple(int(t) for t in np.flatnonzero(casc.layers[an[0]].claim_types)) if an else ()
        shapes.append((pa, an, types))
    pa, an, types = shapes[0]
    an_old: tuple[int, ...] = ()  # no rule change: the old rules' payments are the new ones
    if old is not None:
        pa_old, an_old, types_old = shapes[1]
        same = pa_old == pa and all(
            np.array_equal(getattr(cc.layers[j], k)[c], getattr(old.layers[j], k)[c])
            for j in pa
            for k in ("lower", "upper", "ratio")
        )
        same = same and all(cc.layers[j].cap[c] == old.layers[j].cap[c] for j in pa)
        if not same or (an and an_old and types_old != types):
            raise FundsimError(
                f"fast method: the rule change in force in {cc.year} changes a per-admission layer "
                f"for category {cc.categories[c]!r}; the fast method needs the same per-admission "
                "layers under both rule sets: use method 'full'"
            )
    annual_funds = tuple(sorted({fund_index[cc.fund_of_layer[j]] for j in an}))
    pa_funds = tuple(sorted({fund_index[cc.fund_of_layer[j]] for j in pa}))
    both = set(annual_funds) & set(pa_funds)
    if both:
        raise FundsimError(
            f"fast method: a fund pays category {cc.categories[c]!r} through both per-admission and "
            "annual cumulative layers; its beneficiaries cannot be counted: use method 'full'"
        )
    return CascadeShape(pa, an, an_old, types, annual_funds, pa_funds, old is not None)


@dataclass(frozen=True)
class LevelClaims:
    """One claim type and level: the claim on the grid and what it carries (see ClaimTables)."""

    y_masses: NDArray[np.float64]
    """The near points' ``y`` split onto the grid (length ``n``)."""
    y_transform: NDArray[np.complex128]
    """``rfft(y_masses, 2 n)``."""
    weighted_transform: NDArray[np.complex128]
    """``(n_additive, n_freq)``: conjugate rfft of the near points' ``w a`` split at ``y`` (the
    correlation with G of :class:`ClaimTables` is taken after mixing levels: one inverse FFT per
    claim type and mix)."""
    paid_prob: NDArray[np.float64]
    """``(n_funds,)``: probability that the claim is paid something by each per-admission fund."""
    e1: NDArray[np.float64]
    """``E[a]`` of the additive amounts (far points included)."""
    e2: NDArray[np.float64]
    """``E[a a']``."""
    far_y: NDArray[np.float64]
    """Far points (beyond the grid): tracked base (yuan), probability, additive amounts."""
    far_w: NDArray[np.float64]
    far_a: NDArray[np.float64]


def _per_claim(
    cc: CompiledCascade, shape: CascadeShape, c: int, t: int, lv: int, cost: NDArray, share: float
) -> tuple[NDArray, NDArray]:
    """Per-admission layer payments ``(n_pa, len(cost))`` and the tracked base (yuan); steps as
    :func:`..exact.cascade.claim_amounts` (a per-admission annual cap applied per claim)."""
    in_rem = share * cost
    out_rem = (1.0 - share) * cost
    paid_all = np.zeros((len(shape.per_admission), len(cost)))
    for k, j in enumerate(shape.per_admission):
        layer = cc.layers[j]
        if not layer.claim_types[t]:
            continue
        paid = _per_claim_payment(layer, c, lv, _base_amount(layer.base, in_rem, out_rem))
        paid = np.minimum(paid, layer.cap[c])
        paid_all[k] = paid
        in_rem, out_rem = remaining_after(layer.base, paid, in_rem, out_rem)
    if shape.annual and t in shape.annual_types:
        tracked = _base_amount(cc.layers[shape.annual[0]].base, in_rem, out_rem)
    else:
        tracked = np.zeros_like(cost)
    return paid_all, tracked


def annual_functions(
    cc: CompiledCascade,
    old: CompiledCascade | None,
    shape: CascadeShape,
    c: int,
    s: NDArray,
    fund_index: dict[str, int],
    smooth_step: float = 0.0,
) -> NDArray[np.float64]:
    """The ``G`` columns on annual bases ``s`` (yuan), in the order of
    :meth:`CascadeShape.g_columns`: each annual layer's payment (new rules), each annual layer's
    payment under the rules before a change, each annual fund's indicator of paying something."""
    cols = []
    paid: dict[int, NDArray] = {}
    for casc, layers, keep in ((cc, shape.annual, True), (old or cc, shape.annual_old, False)):
        remaining = np.asarray(s, dtype=np.float64)
        for j in layers:
            layer = casc.layers[j]
            b = banded_payment(
                remaining, layer.lower[c, 0], layer.upper[c, 0], layer.ratio[c, 0], layer.cap[c]
            )
            b = np.clip(b, 0.0, remaining)
            cols.append(b)
            if keep:
                paid[j] = b
            remaining = remaining - b
    for f in shape.annual_funds:
        layers = [j for j in shape.annual if fund_index[cc.fund_of_layer[j]] == f]
        if smooth_step <= 0.0:
            cols.append((sum(paid[j] for j in layers) > 0.0).astype(np.float64))
            continue
        # the indicator averaged over the hat function of each grid point (midpoint rule, 16
        # nodes): a law on the grid by mean-preserving splits puts a value's mass on its two
        # neighbours, so a step function must be read through the same hat to stay unbiased
        u = (np.arange(16) + 0.5) / 16.0
        deltas = np.concatenate([-(1.0 - u), u]) * smooth_step
        hats = np.concatenate([u, 1.0 - u])
        hats = hats / hats.sum()
        acc = np.zeros(len(s))
        for dlt, wt in zip(deltas, hats, strict=True):
            sub = annual_functions(cc, old, shape, c, np.maximum(s + dlt, 0.0), fund_index)
            k = len(shape.annual) + len(shape.annual_old) + shape.annual_funds.index(f)
            acc += wt * sub[:, k]
        # a zero base is an atom (no claims in S), not a rounded amount: read it exactly
        exact0 = np.asarray(s) <= 0.0
        acc[exact0] = (sum(paid[j][exact0] for j in layers) > 0.0).astype(np.float64)
        cols.append(acc)
    return np.stack(cols, axis=1) if cols else np.zeros((len(s), 0))


def _paid_probability(
    cc: CompiledCascade,
    shape: CascadeShape,
    c: int,
    t: int,
    lv: int,
    sev,
    nodes: NDArray,
    weights: NDArray,
    ks: list[int],
) -> float:
    """``P(the claim is paid something)`` by a fund whose only per-admission layer is the first
    one, from the cost's survival function (exact up to the share's quadrature): the layer pays
    iff its base exceeds the lower end of its first band with a positive ratio. ``nan`` otherwise
    (the caller reads it on the grid)."""
    if ks != [0]:
        return float("nan")
    layer = cc.layers[shape.per_admission[0]]
    if not layer.claim_types[t] or not (layer.cap[c] > 0):
        return 0.0
    positive = np.flatnonzero(layer.ratio[c, lv] > 0.0)
    if not positive.size:
        return 0.0
    thr = float(layer.lower[c, lv, positive[0]])
    base = layer.base.value
    with np.errstate(divide="ignore"):
        if base == "in_policy":
            x = np.where(nodes > 0, thr / nodes, np.inf)
        elif base == "out_of_policy":
            x = np.where(nodes < 1, thr / (1.0 - nodes), np.inf)
        else:
            x = np.full(len(nodes), thr)
    sf = np.where(np.isfinite(x), np.asarray(sev.sf(np.where(np.isfinite(x), x, 0.0))), 0.0)
    return float(np.dot(weights, sf))


@dataclass(frozen=True)
class ClaimTables:
    """The claims of one category in one year at one cost multiplier: per claim type and level
    (:class:`LevelClaims`), the grid (``step`` yuan, ``n`` points; the annual base on ``2 n``),
    the ``G`` columns on the annual base grid and the cascade shape."""

    step: float
    n: int
    shape: CascadeShape
    levels: dict[tuple[int, int], LevelClaims]
    g_grid: NDArray[np.float64]
    """``(2 n, n_G)``: the G columns at the annual base grid points."""
    g_of: object
    """``g_of(s)``: the G columns at any annual bases (yuan), for the far atoms."""
    pa_funds: tuple[int, ...]
    """Funds paid by a per-admission layer for this category (beneficiary indicator by thinning)."""
    g_transform: NDArray[np.complex128]
    """rfft of the G columns on ``3 n`` points, length ``fft_length``."""
    fft_length: int
    memo: dict
    """Per (claim type, level mix): the mixed correlations (filled on first use)."""

    @property
    def g_transposed(self) -> NDArray[np.float64]:
        """``(n_G, 2 n)``: the G columns, contiguous by column."""
        if "gt" not in self.memo:
            self.memo["gt"] = np.ascontiguousarray(self.g_grid.T)
        return self.memo["gt"]

    @property
    def g_products(self) -> NDArray[np.float64]:
        """``(n_pairs, 2 n)``: the products ``G_i G_j`` (``i <= j``) at the grid points (computed
        once; the pairs in ``memo["pairs"]``)."""
        if "products" not in self.memo:
            g = self.g_grid
            i, j = np.triu_indices(g.shape[1])
            self.memo["products"] = np.ascontiguousarray((g[:, i] * g[:, j]).T)
            self.memo["pairs"] = (i, j)
        return self.memo["products"]

    def correlations(self, t: int, mix: NDArray) -> NDArray[np.float64]:
        """``(n_additive, n_G, 2 n)``: ``c[a, g, s] = sum_points w a G(y + s)`` over the near
        points of claim type ``t`` with level mix ``mix``."""
        from scipy.fft import irfft

        key = (t, mix.tobytes())
        if key not in self.memo:
            fm = sum(
                mix[lv] * self.levels[t, lv].weighted_transform
                for lv in range(len(mix))
                if mix[lv] > 0
            )
            c = irfft(fm[:, :, None] * self.g_transform[None], self.fft_length, axis=1)
            self.memo[key] = np.ascontiguousarray(np.transpose(c[:, : 2 * self.n], (0, 2, 1)))
        return self.memo[key]


def claim_tables(
    cc: CompiledCascade,
    old: CompiledCascade | None,
    c: int,
    severities: dict[tuple[int, int], tuple],
    fund_index: dict[str, int],
    step: float,
    n: int,
    n_share_nodes: int = 16,
    level_cache: dict | None = None,
    g_cache: dict | None = None,
) -> ClaimTables:
    """:class:`ClaimTables` of category ``c`` (``severities[t, lv] = (law, level config)``, the law
    already scaled by the year's trend and the cost multiplier). ``level_cache``: a dict shared
    by the categories of one year and cost multiplier (same ``severities``, ``step``, ``n``):
    categories whose per-admission schedules are the same share their claims' tables."""
    level_cache = {} if level_cache is None else level_cache
    shape = cascade_shape(cc, old, c, fund_index)
    s_grid = step * np.arange(3 * n, dtype=np.float64)

    def g_of(s: NDArray) -> NDArray:
        return annual_functions(cc, old, shape, c, s, fund_index)

    from scipy.fft import next_fast_len, rfft

    length = next_fast_len(n + 3 * n, real=True)
    g_cache = {} if g_cache is None else g_cache
    if (c, step, n) not in g_cache:  # the G columns do not depend on the claims' law
        g_long = annual_functions(cc, old, shape, c, s_grid, fund_index, smooth_step=step)
        g_cache[c, step, n] = (g_long, rfft(g_long, length, axis=0))
    g_long, g_transform = g_cache[c, step, n]
    pa_fund = [fund_index[cc.fund_of_layer[j]] for j in shape.per_admission]
    n_pa = len(shape.per_admission)
    levels = {}
    cost = step * np.arange(n, dtype=np.float64)
    for (t, lv), (sev, cfg) in severities.items():
        signature = (
            t,
            lv,
            float(sev.mean()),
            tuple(
                (
                    j,
                    pa_fund[k],
                    cc.layers[j].lower[c, lv].tobytes(),
                    cc.layers[j].upper[c, lv].tobytes(),
                    cc.layers[j].ratio[c, lv].tobytes(),
                    float(cc.layers[j].cap[c]),
                    bool(cc.layers[j].claim_types[t]),
                    cc.layers[j].base,
                )
                for k, j in enumerate(shape.per_admission)
            ),
            cc.layers[shape.annual[0]].base if shape.annual else None,
            t in shape.annual_types,
        )
        if signature in level_cache:
            levels[t, lv] = level_cache[signature]
            continue
        grid: GridSeverity = discretise_severity(sev, step, n)
        if 0.0 < grid.far_weight < 1e-14:
            # a far atom of negligible probability: its position comes from the difference of
            # two nearly equal tail moments (rounding), and its square could swamp the second
            # moments; lumped on the grid's end instead (mean lost below 1e-14 of a claim's)
            grid = GridSeverity(grid.lumped())
        nodes, weights = beta_quadrature(cfg.in_policy_mean, cfg.in_policy_sd, n_share_nodes)
        keep = np.flatnonzero(grid.masses > 0.0)
        costs = [cost[keep]] + ([np.array([grid.far_value])] if grid.far_weight > 0 else [])
        masses = [grid.masses[keep]] + (
            [np.array([grid.far_weight])] if grid.far_weight > 0 else []
        )
        w_all, y_all, a_all, far_all = [], [], [], []
        for s_i, w_i in zip(nodes, weights, strict=True):
            for part, (x, p) in enumerate(zip(costs, masses, strict=True)):
                paid, tracked = _per_claim(cc, shape, c, t, lv, x, float(s_i))
                w_all.append(w_i * p)
                y_all.append(tracked)
                add = np.empty((len(x), n_pa + 2))
                add[:, :n_pa] = paid.T
                add[:, n_pa] = x
                add[:, n_pa + 1] = 1.0
                a_all.append(add)
                far_all.append(np.full(len(x), part == 1))
        w = np.concatenate(w_all)
        y = np.concatenate(y_all)
        a = np.vstack(a_all)
        far = np.concatenate(far_all)
        far = far | (y > cost[-1])
        split = GridSplit(y[~far], step, n)
        y_masses = split(w[~far])
        corr = np.conj(
            rfft(np.stack([split(w[~far] * a[~far, k]) for k in range(a.shape[1])]), length, axis=1)
        )
        paid_prob = np.zeros(len(fund_index))
        for f in set(pa_fund):
            ks = [k for k in range(n_pa) if pa_fund[k] == f]
            paid_prob[f] = _paid_probability(cc, shape, c, t, lv, sev, nodes, weights, ks)
            if np.isnan(paid_prob[f]):  # not the first layer alone: read on the grid
                paid_prob[f] = float(np.dot(w, (a[:, ks] > 0.0).any(axis=1)))
        wa = a * w[:, None]
        levels[t, lv] = LevelClaims(
            y_masses, np.fft.rfft(y_masses, 2 * n), corr, paid_prob,
            wa.sum(axis=0), a.T @ wa, y[far], w[far], a[far],
        )  # fmt: skip
        level_cache[signature] = levels[t, lv]
    return ClaimTables(
        step, n, shape, levels, g_long[: 2 * n], g_of, shape.pa_funds, g_transform, length, {}
    )


@dataclass(frozen=True)
class PersonInput:
    """A person of a roster group in one category: expected claims and count law by claim type,
    level mix by claim type (probabilities by level)."""

    rates: dict[int, float]
    mixes: dict[int, NDArray[np.float64]]
    kinds: dict[int, FrequencyKind]
    dispersions: dict[int, float]


def person_moments(
    tab: ClaimTables, person: PersonInput, basis: Basis, freq: float | Sequence[float] = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(mean, second moment matrix)`` of the person's basis vector, expected claims multiplied
    by ``freq`` (one number, or one per claim type in the order of CLAIM_TYPES; module docstring
    for the formulas)."""
    fq = [float(freq)] * len(CLAIM_TYPES) if np.ndim(freq) == 0 else [float(v) for v in freq]
    n_add = len(tab.shape.per_admission) + 2
    d = basis.size
    mean = np.zeros(d)
    second = np.zeros((d, d))
    # columns of the additive amounts and of the G functions in the basis
    add_cols, add_idx = tab.shape.additive(basis)
    g_cols = tab.shape.g_columns(basis)
    types = [t for t, m in person.rates.items() if m * fq[t] > 0.0]
    if not types:
        return mean, second
    m = {t: person.rates[t] * fq[t] for t in types}
    disp = {
        t: person.dispersions[t] if person.kinds[t] is FrequencyKind.NEGATIVE_BINOMIAL else 0.0
        for t in types
    }

    def mixed(t: int, attr: str):
        mix = person.mixes[t]
        return sum(
            mix[lv] * getattr(tab.levels[t, lv], attr) for lv in range(len(LEVELS)) if mix[lv] > 0
        )

    # per claim type: the claim law's additive moments E[a], E[a a'] (far points included)
    e1, e2 = {}, {}
    for t in types:
        e1[t], e2[t] = mixed(t, "e1"), mixed(t, "e2")
    # additive x additive
    a1 = sum(m[t] * e1[t] for t in types)
    a2 = sum(m[t] * e2[t] for t in types)
    for t in types:
        for u in types:
            pair = m[t] * m[u] * ((1.0 + disp[t]) if t == u else 1.0)
            a2 = a2 + pair * np.outer(e1[t], e1[u])
    mean[add_cols] = a1[add_idx]
    second[np.ix_(add_cols, add_cols)] = a2[np.ix_(add_idx, add_idx)]
    # the annual base S (near claims only) and its size-biased versions
    n = tab.n
    s_types = [t for t in types if t in tab.shape.annual_types]
    if g_cols and s_types:
        logs = {
            t: count_log_pgf(mixed(t, "y_transform"), m[t], person.kinds[t], disp[t])
            for t in s_types
        }
        log_phi = sum(logs.values())
        p_s = np.fft.irfft(np.exp(log_phi), 2 * n)
        g1 = tab.g_transposed @ p_s
        upper = tab.g_products @ p_s
        i, j = tab.memo["pairs"]
        g2 = np.zeros((len(g1), len(g1)))
        g2[i, j] = upper
        g2[j, i] = upper
        # far atoms: one far claim plus the mean of the others (first order)
        s_bar = float(np.dot(tab.step * np.arange(2 * n), p_s) / max(p_s.sum(), 1e-300))
        for t in s_types:
            mix = person.mixes[t]
            for lv in range(len(LEVELS)):
                L = tab.levels[t, lv]
                if mix[lv] <= 0 or not L.far_w.size:
                    continue
                rate = m[t] * mix[lv] * L.far_w
                gf = tab.g_of(L.far_y + s_bar)
                g1 = g1 + rate @ gf
                g2 = g2 + (gf * rate[:, None]).T @ gf
        mean[g_cols] = g1
        second[np.ix_(g_cols, g_cols)] = g2
        # additive x G: Mecke's formula with the size-biased count of each claim type
        cross = np.zeros((n_add, len(g_cols)))
        for t in types:
            if t in s_types:
                log_star = log_phi + disp[t] * logs[t]
                p_star = np.fft.irfft(np.exp(log_star), 2 * n) if disp[t] > 0 else p_s
                corr = tab.correlations(t, person.mixes[t])  # (n_add, n_G, 2n)
                cross += m[t] * (corr @ p_star)
                s_star = s_bar
            else:
                # claims of a type outside S: independent of the rest of S given the count
                # (their own count is independent of the other types' counts)
                p_star = p_s
                s_star = s_bar
                cross += np.outer(m[t] * e1[t], g1)
                continue
            mix = person.mixes[t]
            for lv in range(len(LEVELS)):
                L = tab.levels[t, lv]
                if mix[lv] <= 0 or not L.far_w.size:
                    continue
                rate = m[t] * mix[lv] * L.far_w
                gf = tab.g_of(L.far_y + s_star)
                cross += (L.far_a * rate[:, None]).T @ gf
        second[np.ix_(add_cols, g_cols)] = cross[add_idx]
        second[np.ix_(g_cols, add_cols)] = cross[add_idx].T
    # claimant indicator: E[1{N>=1} Z] = E[Z]
    p0 = math.prod(
        float(np.real(count_pgf(np.array([0.0]), m[t], person.kinds[t], disp[t])[0])) for t in types
    )
    pc = 1.0 - p0
    k = basis.claimants
    mean[k] = pc
    second[k, :] = mean
    second[:, k] = mean
    second[k, k] = pc
    # per-admission funds' beneficiary indicators (thinning); covariance as the claimant's, scaled
    for f in tab.pa_funds:
        pf = 1.0 - math.prod(
            float(
                np.real(
                    count_pgf(
                        np.array([1.0 - mixed(t, "paid_prob")[f]]), m[t], person.kinds[t], disp[t]
                    )[0]
                )
            )
            for t in types
        )
        j = basis.beneficiaries.start + f
        scale = pf / pc if pc > 0 else 0.0
        row = second[k, :] * scale
        second[j, :] = row
        second[:, j] = row
        mean[j] = pf
        second[j, j] = pf
        second[j, k] = second[k, j] = pf
    return mean, second


__all__ = [
    "Basis",
    "CascadeShape",
    "ClaimTables",
    "LevelClaims",
    "PersonInput",
    "annual_functions",
    "cascade_shape",
    "claim_tables",
    "person_moments",
]

_ = CLAIM_TYPES  # the claim type codes index CLAIM_TYPES
