"""The engine's compiled pieces, by what they hold (this module re-exports them by name).

- :mod:`.samplers`: the random draws, ports of numpy's algorithms on a stream's own PCG64DXSM
  state (uniform, normal, exponential, gamma; the in-policy share's quantile tables; a claim's
  cost from a :class:`~.samplers.SeverityRow`);
- :mod:`.cascade`: the layer cascade (:class:`~.cascade.CascadeArrays`, :func:`~.cascade.pay_admission`),
  tested against :func:`simulation.rules.layers.apply_cascade`;
- :mod:`.paths`: the compiled pass over a group's paths and its entry points
  (:func:`~.paths.pay_paths`, :func:`~.paths.record_paths`, :func:`~.paths.draw_only`);
- :mod:`.measures`: the per-path measures by name, and the layouts of the pass's sums and records;
- :mod:`._numba_cache`: numba's cache of all of them, dropped when a source they inline changes.
"""

from __future__ import annotations

from ._numba_cache import drop_stale_cache
from .cascade import (
    CascadeArrays,
    PackedCascade,
    cascade_kernel,
    first_admissions,
    pay_admission,
    pay_admissions,
    per_person,
    start_person,
)
from .samplers import (
    SEV_COLUMNS,
    SeverityRow,
    gamma_constants,
    next_double,
    next_uint64,
    pcg_state,
    sample_cost,
    set_pcg_state,
    severity_at,
    standard_exponential,
    standard_gamma,
    standard_normal,
    table_quantile,
)

__all__ = [
    "SEV_COLUMNS",
    "CascadeArrays",
    "PackedCascade",
    "SeverityRow",
    "cascade_kernel",
    "drop_stale_cache",
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
    "severity_at",
    "standard_exponential",
    "standard_gamma",
    "standard_normal",
    "start_person",
    "table_quantile",
]
