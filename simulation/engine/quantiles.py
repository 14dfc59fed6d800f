"""Inverse-distribution tables: one uniform number in, a draw out, in a few nanoseconds.

The engine draws the in-policy share (a beta law, whose numpy algorithm takes two gamma draws,
some 20 ns) by inversion through a table of its quantile function ``Q``, interpolated linearly.
Near 0 and 1, ``Q`` can be steep (a beta shape far above or below 1), so the ends have finer
rows: with ``M = 2^12`` cells per row and a refinement ``R = 64``,

- row 0: ``Q`` on ``[0, 1]`` in cells of ``1/M`` (used for ``u`` in ``[1/R, 1 - 1/R)``);
- rows 1, 2: ``Q`` on ``[0, 1/R]`` and ``[0, 1/R^2]`` in cells of ``1/(R M)`` and ``1/(R^2 M)``;
- rows 3, 4: the same at the upper end, ``[1 - 1/R, 1]`` and ``[1 - 1/R^2, 1]``.

The interpolation error on a cell of width ``w`` is at most ``w^2/8 max|Q''|``; the finer rows put
the narrow cells where ``Q''`` is large. ``tests/test_engine_draws.py`` measures the error and the
bias of the mean against scipy's ``betaincinv`` and checks the law of the engine's draws.
The kernel's lookup is :func:`simulation.engine.kernel.table_quantile`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

M = 1 << 12
"""Cells per row."""
R = 64
"""Refinement of each end row over the row before it."""
EDGE1 = 1.0 / R
EDGE2 = 1.0 / (R * R)


def quantile_rows(ppf) -> np.ndarray:
    """The five rows ``(5, M + 1)`` of a quantile function ``ppf`` (vectorised on [0, 1])."""
    i = np.arange(M + 1, dtype=np.float64) / M
    rows = np.stack(
        [
            ppf(i),
            ppf(i * EDGE1),
            ppf(i * EDGE2),
            ppf((1.0 - EDGE1) + i * EDGE1),
            ppf((1.0 - EDGE2) + i * EDGE2),
        ]
    )
    rows[:, 0] = np.where(np.arange(5) >= 3, rows[:, 0], ppf(0.0))
    rows[3:, -1] = ppf(1.0)
    return rows


@lru_cache(maxsize=256)
def beta_quantile_table(a: float, b: float) -> np.ndarray:
    """The quantile table ``(5, M + 1)`` of the beta law ``(a, b)``. Cached: a scenario has a few
    distinct laws, each built once per process (some 20 ms)."""
    table = quantile_rows(lambda u: special.betaincinv(a, b, u))
    table.setflags(write=False)
    return table


def table_quantile_numpy(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The table's interpolated quantile at ``u`` in [0, 1), vectorised: the same arithmetic as the
    kernel's :func:`simulation.engine.kernel.table_quantile` (for tests)."""
    u = np.asarray(u, dtype=np.float64)
    row = np.select(
        [u < EDGE2, u < EDGE1, u >= 1.0 - EDGE2, u >= 1.0 - EDGE1], [2, 1, 4, 3], default=0
    )
    pos = np.select(
        [row == 2, row == 1, row == 4, row == 3],
        [
            u * (M * R * R),
            u * (M * R),
            (u - (1.0 - EDGE2)) * (M * R * R),
            (u - (1.0 - EDGE1)) * (M * R),
        ],
        default=u * M,
    )
    j = np.minimum(pos.astype(np.int64), M - 1)
    frac = pos - j
    return table[row, j] + frac * (table[row, j + 1] - table[row, j])


def table_mean(table: np.ndarray) -> float:
    """The exact mean of the law the table draws (piecewise-linear quantile function)."""
    cell = [1.0 / M, EDGE1 / M, EDGE2 / M, EDGE1 / M, EDGE2 / M]
    # the u-ranges each row serves, in cells of that row
    spans = [(M // R, M - M // R), (M // R, M), (0, M), (0, M - M // R), (0, M)]
    total = 0.0
    for r, (lo, hi) in enumerate(spans):
        t = table[r]
        total += float(np.sum((t[lo:hi] + t[lo + 1 : hi + 1]) / 2.0)) * cell[r]
    return total


__all__ = ["EDGE1", "EDGE2", "M", "R", "beta_quantile_table", "table_mean", "table_quantile_numpy"]
