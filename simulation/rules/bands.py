"""Banded reimbursement schedules: the one formula every layer of cover uses.

A schedule is a list of bands ``[lower_k, upper_k)`` of a base amount (yuan), each paid at
``ratio_k``; the last band's ``upper`` is ``np.inf``. A layer pays

    B(x) = min( sum_k ratio_k * clip(x - lower_k, 0, upper_k - lower_k), cap )

of its base ``x`` (RULES.md section 1, seed 001). Bands may be padded with zero-width bands
(``lower == upper``, ratio 0) so that schedules of different lengths stack into one array; a
zero-width band pays nothing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def band_share(x: ArrayLike, lower: ArrayLike, upper: ArrayLike, ratio: ArrayLike) -> NDArray:
    """What one band pays of base ``x``, yuan: ``ratio * clip(x - lower, 0, upper - lower)``.

    Broadcasts like numpy; ``upper`` may be ``np.inf`` (an open last band). A zero-width band
    (``lower == upper``) pays 0.
    """
    x = np.asarray(x, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    amount = np.minimum(np.maximum(x - lower, 0.0), upper - lower)
    return np.asarray(ratio, dtype=np.float64) * amount


def banded_payment(
    x: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    ratio: ArrayLike,
    cap: ArrayLike = np.inf,
) -> NDArray[np.float64]:
    """A banded layer's payment on base ``x``, yuan.

    ``B(x) = min( sum_k ratio_k * clip(x - lower_k, 0, upper_k - lower_k), cap )``

    - ``x``: base amounts, yuan, any shape ``s``.
    - ``lower``, ``upper``, ``ratio``: the bands, either 1-D ``(n_bands,)`` (one schedule for every
      element) or ``s + (n_bands,)`` (a schedule per element, e.g. ``(n, n_bands)``).
    - ``cap``: the most paid, yuan; scalar or broadcastable to ``s``; ``np.inf`` for none.

    The sum runs band by band, so memory stays at a few arrays of the shape of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    ratio = np.asarray(ratio, dtype=np.float64)
    if not (lower.shape == upper.shape == ratio.shape) or lower.ndim == 0:
        raise ValueError(
            "lower, upper and ratio must have the same shape with bands on the last axis, found "
            f"{lower.shape}, {upper.shape}, {ratio.shape}"
        )
    if lower.ndim > 1 and lower.shape[:-1] != x.shape:
        raise ValueError(
            f"per-element bands of shape {lower.shape} do not match base amounts of shape {x.shape}"
        )
    total = np.zeros(x.shape, dtype=np.float64)
    for k in range(lower.shape[-1]):
        total += band_share(x, lower[..., k], upper[..., k], ratio[..., k])
    return np.minimum(total, cap)
