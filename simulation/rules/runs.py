"""Running sums and minima within runs of a person's admissions (persons contiguous), exact and
vectorised: the per-person year-to-date amounts of the cascade (:mod:`simulation.rules.layers`)."""

from __future__ import annotations

import numpy as np


def run_flags(person: np.ndarray) -> np.ndarray:
    """True at each person's first admission (persons contiguous)."""
    is_start = np.empty(person.shape[0], dtype=bool)
    if person.size:
        is_start[0] = True
        np.not_equal(person[1:], person[:-1], out=is_start[1:])
    return is_start


def run_starts(person: np.ndarray) -> np.ndarray:
    """Index of each person's first admission (persons contiguous)."""
    return np.flatnonzero(run_flags(person))


def grouped_cumsum(
    values: np.ndarray, starts: np.ndarray, run_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-person running sums: ``(inclusive, exclusive)`` of ``values`` within each run.

    ``inclusive_i = G_i - G_{s-1}`` and ``exclusive_i = G_{i-1} - G_{s-1}``, with ``G`` the global
    cumulative sum and ``s`` the first index of ``i``'s run; so ``exclusive`` is exactly 0 at a
    run's start and exactly the previous ``inclusive`` inside a run.
    """
    g = np.cumsum(values)
    g_before = np.empty_like(g)
    if g.size:
        g_before[0] = 0.0
        g_before[1:] = g[:-1]
    offset = g_before[starts][run_id]
    return g - offset, g_before - offset


def grouped_cummin(values: np.ndarray, run_id: np.ndarray) -> np.ndarray:
    """Running minimum of ``values`` within each run (``run_id`` non-decreasing), exactly: a
    segmented doubling scan, ``log2`` of the longest run vectorised steps."""
    m = values.copy()
    d = 1
    while d < m.shape[0]:
        same = run_id[d:] == run_id[:-d]
        if not same.any():
            break
        m[d:] = np.where(same, np.minimum(m[d:], m[:-d]), m[d:])
        d *= 2
    return m
