"""Compiled (numba) pieces of the engine: the layer cascade, and the random draws that feed it.

**The cascade.** :func:`pay_admission` (one admission; :func:`start_person` before a person's
first) is the engine's fast path for :func:`simulation.rules.layers.apply_cascade`, which stays the
single source of truth of the rules: it follows the same order of steps with the same formulas (see
that module's docstring), and ``tests/test_kernel.py`` checks that both agree on random layers and
admissions (through :func:`pay_admissions` and :func:`cascade_kernel`) and on the admissions the
engine draws.

**Random numbers.** The engine's streams are numpy ``PCG64DXSM`` generators (:mod:`.streams`).
Compiled code advances such a generator itself: :func:`pcg_state` reads its state (128-bit state
and increment) as four ``uint64``, :func:`next_uint64` is PCG64DXSM's step (numpy's C code: the DXSM
output of the state, then the cheap-multiplier LCG step) and :func:`set_pcg_state` writes the state
back, so the generator continues exactly where compiled code stopped. On top of it the samplers
are line-by-line translations of numpy's own algorithms
(``numpy/random/src/distributions/distributions.c``: 256-layer ziggurat normal and exponential,
Marsaglia-Tsang gamma), with numpy's ziggurat tables; from the same state they return the same
numbers as ``Generator.random``, ``standard_normal``, ``standard_exponential`` and
``standard_gamma`` (tested bit for bit in ``tests/test_engine_draws.py``). The beta law of the
in-policy share is drawn by inversion instead (:func:`table_quantile`, one uniform through a
quantile table of :mod:`.quantiles`: a few ns against some 20 for numpy's two gammas).

Why not numba's own support for Generator objects: it calls numpy's bit generator through a
function pointer (about 5 ns a number, against about 2 ns inline), and unboxing a generator costs
tens of microseconds a call. The samplers take the state by value and return ``(value, state)``:
plain numbers stay in registers, whereas an array argument of a function called in a hot loop
costs reference counting (atomic operations) at every call.

Numba caches compiled code per source file, keyed by that file's time stamp only, while the engine
kernel in :mod:`.simulate` inlines the functions of this module and the constants of
:mod:`.quantiles`: :func:`drop_stale_cache` (called when this module is imported, before anything is
compiled) deletes the cached code of both modules when the source of this module or of :mod:`.quantiles` has changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from pathlib import Path

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

# numpy's ziggurat tables (numba keeps verbatim copies of numpy's ziggurat_constants.h)
from numba.np.random._constants import (
    fe_double,
    fi_double,
    ke_double,
    ki_double,
    we_double,
    wi_double,
    ziggurat_exp_r,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

from ..rules.layers import Admissions, CompiledCascade
from ..scenario.schema import LEVELS, Base, Settlement
from .quantiles import EDGE1 as _EDGE1
from .quantiles import EDGE2 as _EDGE2
from .quantiles import M as _Q_M
from .quantiles import R as _Q_R

_HERE = Path(__file__).resolve().parent


def drop_stale_cache(here: Path = _HERE) -> None:
    """Delete numba's cached code of this module and of :mod:`.simulate` (in ``__pycache__``) when
    the source of this module or of :mod:`.quantiles` differs from the one they were compiled
    from (a digest kept in ``__pycache__/kernel.digest``). Best effort: a read-only install keeps
    its cache (numba then caches elsewhere), and a failure here never stops an import. Called
    when this module is imported."""
    with contextlib.suppress(OSError):
        digest = hashlib.blake2b(
            (here / "kernel.py").read_bytes() + (here / "quantiles.py").read_bytes(),
            digest_size=16,
        ).hexdigest()
        cache = here / "__pycache__"
        stamp = cache / "kernel.digest"
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return
        if cache.is_dir():
            for pattern in ("kernel.*.nb*", "simulate.*.nb*"):
                for f in cache.glob(pattern):
                    f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        tmp = cache / f"kernel.digest.{os.getpid()}"
        tmp.write_text(digest + "\n")
        os.replace(tmp, stamp)


drop_stale_cache()

_BASE_CODE = {Base.IN_POLICY: 0, Base.OUT_OF_POLICY: 1, Base.TOTAL: 2}
_SETTLEMENT_CODE = {Settlement.PER_ADMISSION: 0, Settlement.ANNUAL_CUMULATIVE: 1}


# --------------------------------------------------------------------------- the cascade


class PackedCascade:
    """A :class:`CompiledCascade` as flat arrays for the kernel (built once per year).

    ``arrays`` is the tuple the compiled functions take: ``(base, settlement, covered,
    claim_types, lower, width, ratio, cap, fund, n_bands, b0)``, schedules reshaped to
    ``(n_layers, n_categories * n_levels, n_bands)`` (row = category * n_levels + level), with
    ``width = upper - lower``; ``n_bands[j, row]``: the bands up to the last one with a ratio above
    0 (later ones pay nothing); ``b0[j, row] = B(0)``, the schedule's value at 0.
    """

    def __init__(self, cc: CompiledCascade, fund_index: dict[str, int]) -> None:
        layers = cc.layers
        n_lev = len(LEVELS)
        self.base = np.array([_BASE_CODE[layer.base] for layer in layers], dtype=np.int64)
        self.settlement = np.array(
            [_SETTLEMENT_CODE[layer.settlement] for layer in layers], dtype=np.int64
        )
        self.covered = np.stack([layer.covered for layer in layers])
        self.claim_types = np.stack([layer.claim_types for layer in layers])
        n_cat = len(cc.categories)
        self.lower = np.stack([layer.lower.reshape(n_cat * n_lev, -1) for layer in layers])
        self.upper = np.stack([layer.upper.reshape(n_cat * n_lev, -1) for layer in layers])
        self.ratio = np.stack([layer.ratio.reshape(n_cat * n_lev, -1) for layer in layers])
        self.cap = np.stack([layer.cap for layer in layers])
        self.fund = np.array([fund_index[layer.fund] for layer in layers], dtype=np.int64)
        self.n_levels = n_lev
        self.n_funds = len(fund_index)
        self.n_layers = len(layers)
        self.width = self.upper - self.lower
        nonzero = self.ratio != 0.0
        last = self.ratio.shape[2] - np.argmax(nonzero[:, :, ::-1], axis=2)
        self.n_bands = np.where(nonzero.any(axis=2), last, 0).astype(np.int64)
        self.b0 = np.zeros(self.n_bands.shape)
        for k in range(self.ratio.shape[2]):  # B(0), band by band in order, as the kernel sums
            self.b0 += self.ratio[:, :, k] * np.minimum(
                np.maximum(0.0 - self.lower[:, :, k], 0.0), self.width[:, :, k]
            )
        self.arrays = (
            self.base, self.settlement, self.covered, self.claim_types, self.lower, self.width,
            self.ratio, self.cap, self.fund, self.n_bands, self.b0,
        )  # fmt: skip


@nb.njit(cache=True, inline="always")
def _schedule(ratio, lower, width, j, r, m, arg):
    """``B(arg) = sum_k ratio_k * min(max(arg - lower_k, 0), width_k)`` over the first ``m``
    bands of row ``r`` of layer ``j``, in order (as :func:`simulation.rules.layers._uncapped_payment`).

    At or below the first threshold (thresholds increase, ratios are at least 0) every term is 0,
    and so is ``B``: returning 0 at once is the same number and cuts the admission's chain of
    dependent steps (5-6% faster on Henan, measured). There is no exit at a later band not reached:
    that data-dependent branch costs more than the remaining terms."""
    if arg <= lower[j, r, 0]:  # below the first threshold every term is 0
        return 0.0
    b = 0.0
    for k in range(m):
        b += ratio[j, r, k] * min(max(arg - lower[j, r, k], 0.0), width[j, r, k])
    return b


@nb.njit(cache=True, inline="always")
def start_person(cascade, r, s_run, b_run, b_row, c_run):
    """Reset a person's running sums per layer (see :func:`pay_admission`) before the first
    admission of the year, of schedule row ``r``: ``S = 0``, ``C = 0`` and ``B(S) = B(0)`` (the
    table ``b0``). Stores of constants: the next person's sums do not wait for the last one's."""
    b0 = cascade[10]
    for j in range(b0.shape[0]):
        s_run[j] = 0.0
        c_run[j] = 0.0
        b_run[j] = b0[j, r]
        b_row[j] = r


@nb.njit(cache=True, inline="always")
def pay_admission(cascade, cat, ct, r, total, in_policy, s_run, b_run, b_row, c_run, paid, col):
    """Pay one admission through the layers of ``cascade`` (:attr:`PackedCascade.arrays`): write
    ``paid[j, col]`` (yuan paid by layer ``j``) and return the out-of-pocket yuan.

    ``cat``, ``ct``: category and claim type; ``r = cat * n_levels + level``: the schedule row;
    ``total``, ``in_policy``: the admission's cost and its in-policy part (yuan). A person's
    admissions come in time order, the first after :func:`start_person`; the person's running
    sums per layer live in ``s_run`` (year-to-date base ``S``), ``b_run`` and ``b_row`` (``B(S)``
    and the schedule row it was computed for) and ``c_run`` (cumulative uncapped payments ``C``).

    The steps of :func:`simulation.rules.layers.apply_cascade`, layer by layer: eligibility and
    base ``x`` from the remaining in-/out-of-policy cost (0 when not eligible); the schedule's
    argument, ``x`` per admission or the person's year-to-date base ``S_i`` when annual cumulative;
    the uncapped payment ``u = B(x)`` or ``B(S_i) - B(S_{i-1})`` with ``B(x) = sum_k ratio_k *
    min(max(x - lower_k, 0), width_k)`` (:func:`_schedule`; ``B(S_{i-1})`` is the value kept from
    the person's previous admission, or ``B(0)``, when its schedule row was the same: the very same
    number); the annual cap on the person's cumulative payments, ``min(C_i, cap) - min(C_{i-1},
    cap)`` clipped to ``[0, x]``; then the remaining amounts (a ``total`` base is paid from the
    in-policy remainder first).
    """
    base, settlement, covered, claim_types, lower, width, ratio, cap, _fund, n_bands, _b0 = cascade
    in_rem = in_policy
    out_rem = max(total - in_policy, 0.0)
    for j in range(base.shape[0]):
        base_j = base[j]
        if base_j == 0:
            xi = in_rem
        elif base_j == 1:
            xi = out_rem
        else:
            xi = in_rem + out_rem
        xi = xi if covered[j, cat] and claim_types[j, ct] else 0.0
        m = n_bands[j, r]
        if settlement[j] != 0:
            s_before = s_run[j]
            arg = s_before + xi
            s_run[j] = arg
            if b_row[j] == r:
                b_before = b_run[j]
            else:
                b_before = _schedule(ratio, lower, width, j, r, m, s_before)
            if xi == 0.0:
                b_arg = b_before  # B(S_i) with S_i = S_{i-1}
            else:
                b_arg = _schedule(ratio, lower, width, j, r, m, arg)
            b_run[j] = b_arg
            b_row[j] = r
            u = b_arg - b_before
        else:
            u = _schedule(ratio, lower, width, j, r, m, xi)
        if u == 0.0:  # nothing to pay (the cap step below gives 0 too, and C is unchanged)
            p = 0.0
        else:
            before = c_run[j]
            c = before + u
            c_run[j] = c
            cap_j = cap[j, cat]
            p = min(max(min(c, cap_j) - min(before, cap_j), 0.0), xi)
        paid[j, col] = p
        if base_j == 0:
            in_rem -= p
        elif base_j == 1:
            out_rem -= p
        else:
            from_in = min(p, in_rem)
            in_rem -= from_in
            out_rem = max(out_rem - (p - from_in), 0.0)
    return in_rem + out_rem


@nb.njit(cache=True)
def pay_admissions(n, first, category, level, claim_type, total, in_policy, cascade, paid, oop):
    """Pay ``n`` admissions through the layers of ``cascade`` (:attr:`PackedCascade.arrays`),
    filling ``paid[j, i]`` (yuan paid by layer ``j`` for admission ``i``) and ``oop[i]``
    (out-of-pocket yuan), by :func:`pay_admission`. A person's admissions are contiguous and in
    time order; ``first[i]`` is True at each person's first admission (:func:`start_person`).
    """
    n_layers = cascade[0].shape[0]
    n_levels = cascade[4].shape[1] // cascade[2].shape[1]
    s_run = np.zeros(n_layers)
    b_run = np.zeros(n_layers)
    b_row = np.full(n_layers, -1, dtype=np.int64)
    c_run = np.zeros(n_layers)
    for i in range(n):
        cat = category[i]
        r = cat * n_levels + level[i]
        if first[i]:
            start_person(cascade, r, s_run, b_run, b_row, c_run)
        oop[i] = pay_admission(
            cascade, cat, claim_type[i], r, total[i], in_policy[i], s_run, b_run, b_row, c_run,
            paid, i,
        )  # fmt: skip


def first_admissions(person: np.ndarray) -> np.ndarray:
    """True at each person's first admission (a person's admissions contiguous)."""
    first = np.ones(person.shape[0], dtype=np.bool_)
    np.not_equal(person[1:], person[:-1], out=first[1:])
    return first


def cascade_kernel(pc: PackedCascade, adm: Admissions) -> tuple[np.ndarray, np.ndarray]:
    """``(paid (n, n_layers), oop (n,))`` for ``adm``: the same as ``apply_cascade``."""
    n = len(adm)
    paid = np.empty((pc.n_layers, n))
    oop = np.empty(n)
    pay_admissions(
        n, first_admissions(adm.person), adm.category, adm.level, adm.claim_type, adm.total,
        adm.in_policy, pc.arrays, paid, oop,
    )  # fmt: skip
    return np.ascontiguousarray(paid.T), oop


@nb.njit(cache=True)
def _per_person(person, paid, oop, fund, n_funds, n_persons):
    fund_pp = np.zeros((n_persons, n_funds))
    oop_pp = np.zeros(n_persons)
    layer_sum = np.zeros(paid.shape[1])
    for i in range(person.shape[0]):
        p = person[i]
        for j in range(paid.shape[1]):
            fund_pp[p, fund[j]] += paid[i, j]
            layer_sum[j] += paid[i, j]
        oop_pp[p] += oop[i]
    return fund_pp, oop_pp, layer_sum


def per_person(
    pc: PackedCascade, person: np.ndarray, paid: np.ndarray, oop: np.ndarray, n_persons: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person (ids 0..n_persons-1): paid by each fund, out-of-pocket; and paid by each layer."""
    return _per_person(person, paid, oop, pc.fund, pc.n_funds, n_persons)


# --------------------------------------------------------------------------- PCG64DXSM

_MASK64 = (1 << 64) - 1
_CHEAP = np.uint64(0xDA942042E4DD58B5)
"""PCG's 64-bit "cheap multiplier", used by DXSM both as the LCG multiplier and in the output."""
_U0, _U1, _U3, _U8, _U11, _U32, _U48 = (np.uint64(s) for s in (0, 1, 3, 8, 11, 32, 48))
_U_IDX = np.uint64(0xFF)
_U_52 = np.uint64(0x000FFFFFFFFFFFFF)
_TO_DOUBLE = 1.0 / 9007199254740992.0  # 2^-53


@intrinsic
def _mulhi(typingctx, a, b):
    """The high 64 bits of the 128-bit product of two ``uint64``."""
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))

    return sig, codegen


def pcg_state(rng: np.random.Generator) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """The state of ``rng`` (a PCG64DXSM generator) as ``(state_hi, state_lo, inc_hi, inc_lo)``."""
    state = rng.bit_generator.state
    if state["bit_generator"] != "PCG64DXSM":
        raise TypeError(
            f"the engine's kernels need a PCG64DXSM generator, found {state['bit_generator']}"
        )
    s, inc = state["state"]["state"], state["state"]["inc"]
    return tuple(np.uint64(v) for v in (s >> 64, s & _MASK64, inc >> 64, inc & _MASK64))


def set_pcg_state(rng: np.random.Generator, s: tuple) -> None:
    """Write the state ``s`` (from :func:`pcg_state`, advanced by compiled code) back into ``rng``."""
    state = rng.bit_generator.state
    hi, lo, inc_hi, inc_lo = (int(v) for v in s)
    state["state"] = {"state": (hi << 64) | lo, "inc": (inc_hi << 64) | inc_lo}
    rng.bit_generator.state = state


# The samplers take the generator state ``s = (state_hi, state_lo, inc_hi, inc_lo)`` by value and
# return ``(value, new state)``: plain numbers, so the compiled loops keep the state in registers
# and never touch reference counts.


@nb.njit(cache=True, inline="always")
def next_uint64(s):
    """PCG64DXSM: output ``hi ^= hi >> 32; hi *= M; hi ^= hi >> 48; hi *= lo | 1`` of the state,
    then the step ``state = state * M + inc`` (mod 2^128), ``M = 0xda942042e4dd58b5``."""
    hi, lo, inc_hi, inc_lo = s
    out = hi ^ (hi >> _U32)
    out *= _CHEAP
    out ^= out >> _U48
    out *= lo | _U1
    low = lo * _CHEAP
    high = _mulhi(lo, _CHEAP) + hi * _CHEAP
    new_lo = low + inc_lo
    carry = _U1 if new_lo < low else _U0
    return out, (high + inc_hi + carry, new_lo, inc_hi, inc_lo)


@nb.njit(cache=True, inline="always")
def next_double(s):
    """A uniform number on [0, 1): the top 53 bits of :func:`next_uint64` times 2^-53."""
    r, s = next_uint64(s)
    return np.float64(r >> _U11) * _TO_DOUBLE, s


@nb.njit(cache=True, inline="always")
def standard_normal(s):
    """numpy's ``random_standard_normal``: 256-layer ziggurat, exact tail by Marsaglia's method.
    The common case (a point inside its layer's rectangle, ~99%) is inline, the rest in
    :func:`_normal_rest`."""
    r, s = next_uint64(s)
    idx = np.int64(r & _U_IDX)
    r >>= _U8
    rabs = (r >> _U1) & _U_52
    # the sign from bit 0, as numpy's ``if (r & 0x1) x = -x``, by a multiplication: a random
    # branch would be mispredicted half the time (same numbers: x * -1.0 == -x, zero included)
    x = np.float64(rabs) * wi_double[idx] * (1.0 - 2.0 * np.float64(r & _U1))
    if rabs < ki_double[idx]:
        return x, s
    return _normal_rest(s, idx, rabs, x)


@nb.njit(cache=True)
def _normal_rest(s, idx, rabs, x):
    """:func:`standard_normal` after a first draw ``(idx, rabs, x)`` outside its layer's
    rectangle: the tail or wedge test, then further draws, as numpy does."""
    while True:
        if idx == 0:
            while True:
                u1, s = next_double(s)
                u2, s = next_double(s)
                xx = -ziggurat_nor_inv_r * math.log1p(-u1)
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    if (rabs >> _U8) & _U1:
                        return -(ziggurat_nor_r + xx), s
                    return ziggurat_nor_r + xx, s
        else:
            u, s = next_double(s)
            if (fi_double[idx - 1] - fi_double[idx]) * u + fi_double[idx] < math.exp(-0.5 * x * x):
                return x, s
        r, s = next_uint64(s)
        idx = np.int64(r & _U_IDX)
        r >>= _U8
        rabs = (r >> _U1) & _U_52
        x = np.float64(rabs) * wi_double[idx]
        if r & _U1:
            x = -x
        if rabs < ki_double[idx]:
            return x, s


@nb.njit(cache=True)
def standard_exponential(s):
    """numpy's ``random_standard_exponential``: 256-layer ziggurat."""
    while True:
        ri, s = next_uint64(s)
        ri >>= _U3
        idx = np.int64(ri & _U_IDX)
        ri >>= _U8
        x = np.float64(ri) * we_double[idx]
        if ri < ke_double[idx]:
            return x, s
        u, s = next_double(s)
        if idx == 0:
            return ziggurat_exp_r - math.log1p(-u), s
        if (fe_double[idx - 1] - fe_double[idx]) * u + fe_double[idx] < math.exp(-x):
            return x, s


@nb.njit(cache=True, inline="always")
def standard_gamma(s, shape, d, c):
    """numpy's ``random_standard_gamma`` of ``shape``: Marsaglia-Tsang for shape above 1 (inline,
    with ``d = shape - 1/3`` and ``c = 1 / sqrt(9 d)`` precomputed by :func:`gamma_constants`),
    else :func:`_gamma_small`."""
    if shape <= 1.0:
        return _gamma_small(s, shape)
    while True:
        x, s = standard_normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u, s = next_double(s)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return d * v, s
        if math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v, s


@nb.njit(cache=True)
def _gamma_small(s, shape):
    """numpy's ``random_standard_gamma`` for shape at most 1: exponential for 1, 0 for 0, else
    Ahrens-Dieter (GS)."""
    if shape == 1.0:
        return standard_exponential(s)
    if shape == 0.0:
        return 0.0, s
    while True:
        u, s = next_double(s)
        v, s = standard_exponential(s)
        if u <= 1.0 - shape:
            x = u ** (1.0 / shape)
            if x <= v:
                return x, s
        else:
            y = -math.log((1.0 - u) / shape)
            x = (1.0 - shape + shape * y) ** (1.0 / shape)
            if x <= v + y:
                return x, s


def gamma_constants(shape: float) -> tuple[float, float]:
    """``(d, c) = (shape - 1/3, 1 / sqrt(9 d))`` of Marsaglia-Tsang (as numpy computes them;
    zeros for a shape below 1, which does not use them)."""
    if shape < 1.0:
        return 0.0, 0.0
    d = shape - 1.0 / 3.0
    return d, 1.0 / math.sqrt(9.0 * d)


_QM = float(_Q_M)
_Q_EDGE1 = _EDGE1
_Q_EDGE2 = _EDGE2
_Q_HI1 = 1.0 - _EDGE1
_Q_HI2 = 1.0 - _EDGE2
_Q_SCALE1 = float(_Q_M * _Q_R)
_Q_SCALE2 = float(_Q_M * _Q_R * _Q_R)


@nb.njit(cache=True, inline="always")
def table_quantile(u, tables, c, lvl):
    """The quantile at ``u`` in [0, 1) of the table ``tables[c, lvl]``
    (:mod:`simulation.engine.quantiles`: five rows, finer ones at the ends), interpolated linearly.
    """
    if u < _Q_EDGE1:
        if u < _Q_EDGE2:
            row = 2
            pos = u * _Q_SCALE2
        else:
            row = 1
            pos = u * _Q_SCALE1
    elif u >= _Q_HI1:
        if u >= _Q_HI2:
            row = 4
            pos = (u - _Q_HI2) * _Q_SCALE2
        else:
            row = 3
            pos = (u - _Q_HI1) * _Q_SCALE1
    else:
        row = 0
        pos = u * _QM
    j = min(np.int64(pos), _Q_M - 1)
    frac = pos - j
    lo = tables[c, lvl, row, j]
    return lo + frac * (tables[c, lvl, row, j + 1] - lo)


# --------------------------------------------------------------------------- severity


SEV_COLUMNS = (
    "body",
    "p1",
    "p2",
    "has_tail",
    "quantile",
    "threshold",
    "shape",
    "gpd_scale",
    "d",
    "c",
)
"""Columns of a severity row (:func:`simulation.engine.plan.severity_row`): ``body`` 0 lognormal
``(p1, p2) = (mu, sigma)``, 1 gamma ``(shape, scale)`` with Marsaglia-Tsang constants ``d, c``."""

_SERIES = 1e-8  # as simulation.models.severity._SERIES


@nb.njit(cache=True, inline="always")
def _gpd_isf(xi, scale, p):
    """The GPD's ``y`` with ``P(Y > y) = p``: ``scale / xi (p^-xi - 1)`` (series for tiny ``xi``)."""
    minus_log_p = -math.log(p)
    b = xi * minus_log_p
    if b < _SERIES:
        return scale * minus_log_p * (1.0 + b / 2.0 + b * b / 6.0)
    return scale * (math.expm1(b) / xi)


@nb.njit(cache=True, inline="always")
def _body(s, body, p1, p2, d, c):
    if body == 0.0:
        z, s = standard_normal(s)
        return math.exp(p1 + p2 * z), s
    g, s = standard_gamma(s, p1, d, c)
    return p2 * g, s


@nb.njit(cache=True, inline="always")
def sample_cost(s, sev):
    """One cost (yuan) from a severity row ``sev`` (:data:`SEV_COLUMNS`): the law of
    :meth:`simulation.models.severity.SplicedSeverity.sample`.

    Without a tail: the body, ``exp(mu + sigma Z)`` or ``scale * Gamma(shape)``. With a tail one
    uniform ``U`` decides the part: ``U >= q`` gives the GPD by inversion, ``u + isf((1 - U) / (1 -
    q))``; ``U < q`` a body cost given ``B <= u``, by rejection of body draws above ``u``
    (acceptance rate ``q``).
    """
    body, p1, p2, has_tail, q, threshold, xi, scale, d, c = sev
    if has_tail == 0.0:
        return _body(s, body, p1, p2, d, c)
    u, s = next_double(s)
    if u >= q:
        return threshold + _gpd_isf(xi, scale, (1.0 - u) / (1.0 - q)), s
    while True:
        x, s = _body(s, body, p1, p2, d, c)
        if x <= threshold:
            return x, s


__all__ = [
    "PackedCascade",
    "SEV_COLUMNS",
    "cascade_kernel",
    "first_admissions",
    "gamma_constants",
    "next_double",
    "next_uint64",
    "pay_admission",
    "pay_admissions",
    "pcg_state",
    "per_person",
    "sample_cost",
    "set_pcg_state",
    "start_person",
    "standard_exponential",
    "standard_gamma",
    "standard_normal",
    "table_quantile",
]
