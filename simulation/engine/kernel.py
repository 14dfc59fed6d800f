"""The layer cascade as one compiled (numba) pass over a year's admissions.

This is the engine's fast path for :func:`simulation.rules.layers.apply_cascade`, which stays the
single source of truth of the rules: the kernel follows the same order of steps (see that module's
docstring) and ``tests/test_kernel.py`` checks that both agree on random layers and admissions.
Instead of grouped cumulative sums over whole arrays it walks the admissions once, keeping each
layer's running year-to-date amount for the current person, so it needs no temporary arrays.

It also reduces per person on the fly: the fund's payments and out-of-pocket cost per person,
which is all the engine keeps.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..rules.layers import Admissions, CompiledCascade
from ..scenario.schema import LEVELS, Base, Settlement

_BASE_CODE = {Base.IN_POLICY: 0, Base.OUT_OF_POLICY: 1, Base.TOTAL: 2}
_SETTLEMENT_CODE = {Settlement.PER_ADMISSION: 0, Settlement.ANNUAL_CUMULATIVE: 1}


class PackedCascade:
    """A :class:`CompiledCascade` as flat arrays for the kernel (built once per year)."""

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


@nb.njit(cache=True, inline="always")
def _schedule(x, lower, upper, ratio, row):
    total = 0.0
    for k in range(lower.shape[1]):
        r = ratio[row, k]
        if r == 0.0:
            continue
        amount = x - lower[row, k]
        if amount <= 0.0:
            continue
        width = upper[row, k] - lower[row, k]
        if amount > width:
            amount = width
        total += r * amount
    return total


@nb.njit(cache=True)
def _cascade(
    person, category, level, claim_type, total, in_policy,
    base, settlement, covered, claim_types, lower, upper, ratio, cap, n_levels,
    paid,
):  # fmt: skip
    """Fill ``paid`` (n, n_layers) and return out-of-pocket per admission."""
    n = person.shape[0]
    n_layers = base.shape[0]
    base_sum = np.zeros(n_layers)  # year-to-date base (annual cumulative layers)
    unc_sum = np.zeros(n_layers)  # year-to-date uncapped payments
    oop = np.empty(n)
    for i in range(n):
        if i == 0 or person[i] != person[i - 1]:
            base_sum[:] = 0.0
            unc_sum[:] = 0.0
        c = category[i]
        row = c * n_levels + level[i]
        in_rem = in_policy[i]
        out_rem = total[i] - in_policy[i]
        if out_rem < 0.0:
            out_rem = 0.0
        for j in range(n_layers):
            if not covered[j, c] or not claim_types[j, claim_type[i]]:
                paid[i, j] = 0.0
                continue
            if base[j] == 0:
                x = in_rem
            elif base[j] == 1:
                x = out_rem
            else:
                x = in_rem + out_rem
            if settlement[j] == 0:
                u = _schedule(x, lower[j], upper[j], ratio[j], row)
            else:
                s_before = base_sum[j]
                s_after = s_before + x
                base_sum[j] = s_after
                u = _schedule(s_after, lower[j], upper[j], ratio[j], row) - _schedule(
                    s_before, lower[j], upper[j], ratio[j], row
                )
            capj = cap[j, c]
            before = unc_sum[j]
            after = before + u
            unc_sum[j] = after
            p = min(after, capj) - min(before, capj)
            if p < 0.0:
                p = 0.0
            if p > x:
                p = x
            paid[i, j] = p
            if base[j] == 0:
                in_rem -= p
            elif base[j] == 1:
                out_rem -= p
            else:
                from_in = min(p, in_rem)
                in_rem -= from_in
                out_rem -= p - from_in
                if out_rem < 0.0:
                    out_rem = 0.0
        oop[i] = in_rem + out_rem
    return oop


def cascade_kernel(pc: PackedCascade, adm: Admissions) -> tuple[np.ndarray, np.ndarray]:
    """``(paid (n, n_layers), oop (n,))`` for ``adm``: the same as ``apply_cascade``."""
    paid = np.empty((len(adm), pc.base.shape[0]))
    oop = _cascade(
        adm.person, adm.category, adm.level, adm.claim_type, adm.total, adm.in_policy,
        pc.base, pc.settlement, pc.covered, pc.claim_types, pc.lower, pc.upper, pc.ratio,
        pc.cap, pc.n_levels, paid,
    )  # fmt: skip
    return paid, oop


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
