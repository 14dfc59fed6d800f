"""The compiled (numba) layer cascade: the engine's fast path for the rules of cover.

:func:`pay_admission` (one admission; :func:`start_person` before a person's first) is the
engine's fast path for :func:`simulation.rules.layers.apply_cascade`, which stays the single
source of truth of the rules: it follows the same order of steps with the same formulas (see that
module's docstring), and ``tests/test_kernel.py`` checks that both agree on random layers and
admissions (through :func:`pay_admissions` and :func:`cascade_kernel`) and on the admissions the
engine draws. The compiled functions take the cascade as :class:`CascadeArrays` (a named tuple of
arrays, which numba passes by value and reads by field name).
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from ..rules.layers import Admissions, CompiledCascade
from ..scenario.schema import LEVELS, Base, Settlement
from ._numba_cache import drop_stale_cache

drop_stale_cache()

_BASE_CODE = {Base.IN_POLICY: 0, Base.OUT_OF_POLICY: 1, Base.TOTAL: 2}
_SETTLEMENT_CODE = {Settlement.PER_ADMISSION: 0, Settlement.ANNUAL_CUMULATIVE: 1}


class CascadeArrays(NamedTuple):
    """A year's cascade as the compiled functions take it (one entry per layer ``j``, in cascade
    order; a schedule row is ``r = category * n_levels + level``; money in yuan)."""

    base: np.ndarray
    """(n_layers,) int64: the layer's base, 0 in-policy, 1 out-of-policy, 2 total."""
    settlement: np.ndarray
    """(n_layers,) int64: 0 per admission, 1 on the person's annual cumulative base."""
    covered: np.ndarray
    """(n_layers, n_categories) bool: the categories the layer covers."""
    claim_types: np.ndarray
    """(n_layers, n_claim_types) bool: the claim types the layer pays."""
    lower: np.ndarray
    """(n_layers, n_rows, n_bands): each band's lower bound (yuan)."""
    width: np.ndarray
    """(n_layers, n_rows, n_bands): each band's ``upper - lower`` (yuan)."""
    ratio: np.ndarray
    """(n_layers, n_rows, n_bands): each band's reimbursement ratio."""
    cap: np.ndarray
    """(n_layers, n_categories): the annual cap on a person's payments (yuan; inf for none)."""
    fund: np.ndarray
    """(n_layers,) int64: the index of the fund that pays the layer."""
    n_bands: np.ndarray
    """(n_layers, n_rows) int64: the bands up to the last one with a ratio above 0."""
    b0: np.ndarray
    """(n_layers, n_rows): ``B(0)``, the schedule's value at 0."""
    burden: np.ndarray
    """(n_layers,): eligibility by burden, the share of household income the year-to-date base
    must exceed before the layer pays (0: no burden test)."""


class PackedCascade:
    """A :class:`CompiledCascade` as flat arrays for the kernel (built once per year).

    ``arrays`` (a :class:`CascadeArrays`) is what the compiled functions take: schedules reshaped
    to ``(n_layers, n_categories * n_levels, n_bands)`` (row = category * n_levels + level), with
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
        self.burden = np.array([layer.burden for layer in layers], dtype=np.float64)
        self.b0[self.burden > 0.0] = 0.0  # a burden layer's running target starts at 0
        self.arrays = CascadeArrays(
            base=self.base,
            settlement=self.settlement,
            covered=self.covered,
            claim_types=self.claim_types,
            lower=self.lower,
            width=self.width,
            ratio=self.ratio,
            cap=self.cap,
            fund=self.fund,
            n_bands=self.n_bands,
            b0=self.b0,
            burden=self.burden,
        )


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
    b0 = cascade.b0
    for j in range(b0.shape[0]):
        s_run[j] = 0.0
        c_run[j] = 0.0
        b_run[j] = b0[j, r]
        b_row[j] = r


@nb.njit(cache=True, inline="always")
def pay_admission(
    cascade, cat, ct, r, total, in_policy, s_run, b_run, b_row, c_run, paid, col, income
):
    """Pay one admission through the layers of ``cascade`` (:class:`CascadeArrays`): write
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
    in-policy remainder first). ``income``: the person's household income (yuan a year); a layer
    with eligibility by burden pays ``min(max(M_i - P, 0), x)`` with ``M_i`` the largest target
    ``min(B(S_k), cap)`` so far of the person's eligible admissions whose ``S_k`` is above ``burden
    * income`` (kept in ``b_run``, from 0) and ``P`` the person's payments so far (in ``c_run``), as
    :func:`simulation.rules.layers._burden_payment`.
    """
    base, settlement, covered, claim_types = (
        cascade.base, cascade.settlement, cascade.covered, cascade.claim_types
    )  # fmt: skip
    lower, width, ratio, cap, n_bands = (
        cascade.lower, cascade.width, cascade.ratio, cascade.cap, cascade.n_bands
    )  # fmt: skip
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
        eligible = covered[j, cat] and claim_types[j, ct]
        xi = xi if eligible else 0.0
        m = n_bands[j, r]
        p = 0.0
        share = cascade.burden[j]
        if share > 0.0:  # eligibility by burden (annual cumulative): see the docstring
            arg = s_run[j] + xi
            s_run[j] = arg
            if eligible and arg > share * income:
                target = min(_schedule(ratio, lower, width, j, r, m, arg), cap[j, cat])
                if target > b_run[j]:
                    b_run[j] = target
            p = min(max(b_run[j] - c_run[j], 0.0), xi)
            c_run[j] += p
            u = 0.0  # paid: skip the cap step below
        elif settlement[j] != 0:
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
        if u == 0.0:  # nothing to pay (the cap step gives 0 too, and C is unchanged); or the
            pass  # burden step above paid p
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
def pay_admissions(
    n, first, category, level, claim_type, total, in_policy, cascade, paid, oop, income
):
    """Pay ``n`` admissions through the layers of ``cascade`` (:class:`CascadeArrays`),
    filling ``paid[j, i]`` (yuan paid by layer ``j`` for admission ``i``) and ``oop[i]``
    (out-of-pocket yuan), by :func:`pay_admission`. A person's admissions are contiguous and in
    time order; ``first[i]`` is True at each person's first admission (:func:`start_person`);
    ``income[i]``: the admission's person's household income (yuan a year).
    """
    n_layers = cascade.base.shape[0]
    n_levels = cascade.lower.shape[1] // cascade.covered.shape[1]
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
            paid, i, income[i],
        )  # fmt: skip


def first_admissions(person: np.ndarray) -> np.ndarray:
    """True at each person's first admission (a person's admissions contiguous)."""
    first = np.ones(person.shape[0], dtype=np.bool_)
    np.not_equal(person[1:], person[:-1], out=first[1:])
    return first


def cascade_kernel(
    pc: PackedCascade, adm: Admissions, income: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(paid (n, n_layers), oop (n,))`` for ``adm`` (``income``: per admission, yuan a year;
    none: infinite, no one passes a burden test): the same as ``apply_cascade``."""
    n = len(adm)
    inc = np.full(n, np.inf) if income is None else np.ascontiguousarray(income, dtype=np.float64)
    paid = np.empty((pc.n_layers, n))
    oop = np.empty(n)
    pay_admissions(
        n, first_admissions(adm.person), adm.category, adm.level, adm.claim_type, adm.total,
        adm.in_policy, pc.arrays, paid, oop, inc,
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


__all__ = [
    "CascadeArrays",
    "PackedCascade",
    "cascade_kernel",
    "first_admissions",
    "pay_admission",
    "pay_admissions",
    "per_person",
    "start_person",
]
