"""Compiled (numba) random draws: ports of numpy's algorithms on the stream's own generator state.

The engine's streams are numpy ``PCG64DXSM`` generators (:mod:`.streams`). Compiled code advances
such a generator itself: :func:`pcg_state` reads its state (128-bit state and increment) as four
``uint64``, :func:`next_uint64` is PCG64DXSM's step (numpy's C code: the DXSM output of the state,
then the cheap-multiplier LCG step) and :func:`set_pcg_state` writes the state back, so the
generator continues exactly where compiled code stopped. On top of it the samplers are
line-by-line translations of numpy's own algorithms
(``numpy/random/src/distributions/distributions.c``: 256-layer ziggurat normal and exponential,
Marsaglia-Tsang gamma), with numpy's ziggurat tables; from the same state they return the same
numbers as ``Generator.random``, ``standard_normal``, ``standard_exponential`` and
``standard_gamma`` (tested bit for bit in ``tests/test_engine_draws.py``). The beta law of the
in-policy share is drawn by inversion instead (:func:`table_quantile`, one uniform through a
quantile table of :mod:`.quantiles`: a few ns against some 20 for numpy's two gammas). A claim's
cost is :func:`sample_cost` on a severity row (columns :data:`SEV_COLUMNS`).

Why not numba's own support for Generator objects: it calls numpy's bit generator through a
function pointer (about 5 ns a number, against about 2 ns inline), and unboxing a generator costs
tens of microseconds a call. The samplers take the state by value and return ``(value, state)``:
plain numbers stay in registers, whereas an array argument of a function called in a hot loop
costs reference counting (atomic operations) at every call.
"""

from __future__ import annotations

import math
from typing import NamedTuple

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

from ._numba_cache import drop_stale_cache
from .quantiles import EDGE1 as _EDGE1
from .quantiles import EDGE2 as _EDGE2
from .quantiles import M as _Q_M
from .quantiles import R as _Q_R

drop_stale_cache()


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


class SeverityRow(NamedTuple):
    """A claim type's severity at one hospital level, as the compiled sampler reads it
    (:func:`simulation.engine.plan.severity_row`; costs in yuan). ``body`` 0: lognormal with
    ``(p1, p2) = (mu, sigma)``; 1: gamma with ``(p1, p2) = (shape, scale)`` and Marsaglia-Tsang
    constants ``d, c`` (:func:`gamma_constants`). ``has_tail`` 1: a GPD tail above ``threshold``
    (yuan) from the body's quantile ``quantile``, with ``shape`` and ``gpd_scale`` (yuan)."""

    body: float
    p1: float
    p2: float
    has_tail: float
    quantile: float
    threshold: float
    shape: float
    gpd_scale: float
    d: float
    c: float


SEV_COLUMNS = SeverityRow._fields
"""The columns of a severity table's last axis (``YearPlan.severity_table``), in order."""


@nb.njit(cache=True, inline="always")
def severity_at(table, ct, lvl):
    """The :class:`SeverityRow` of claim type ``ct`` at level ``lvl`` of a severity table
    ``(n_claim_types, n_levels, len(SEV_COLUMNS))`` (the one place its columns are read)."""
    return SeverityRow(
        table[ct, lvl, 0], table[ct, lvl, 1], table[ct, lvl, 2], table[ct, lvl, 3],
        table[ct, lvl, 4], table[ct, lvl, 5], table[ct, lvl, 6], table[ct, lvl, 7],
        table[ct, lvl, 8], table[ct, lvl, 9],
    )  # fmt: skip


_SERIES = 1e-8  # as simulation.models.laws._SERIES


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
    """One cost (yuan) from a :class:`SeverityRow` ``sev``: the law of
    :meth:`simulation.models.severity.SplicedSeverity.sample`.

    Without a tail: the body, ``exp(mu + sigma Z)`` or ``scale * Gamma(shape)``. With a tail one
    uniform ``U`` decides the part: ``U >= q`` gives the GPD by inversion, ``u + isf((1 - U) / (1 -
    q))``; ``U < q`` a body cost given ``B <= u``, by rejection of body draws above ``u``
    (acceptance rate ``q``).
    """
    body, p1, p2, d, c = sev.body, sev.p1, sev.p2, sev.d, sev.c
    has_tail, q, threshold, xi, scale = (
        sev.has_tail,
        sev.quantile,
        sev.threshold,
        sev.shape,
        sev.gpd_scale,
    )
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
    "SEV_COLUMNS",
    "SeverityRow",
    "gamma_constants",
    "next_double",
    "next_uint64",
    "pcg_state",
    "sample_cost",
    "set_pcg_state",
    "severity_at",
    "standard_exponential",
    "standard_gamma",
    "standard_normal",
    "table_quantile",
]
