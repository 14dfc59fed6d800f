"""The per-path measures of a run by name: what each is, along which axis, in which unit.

:data:`MEASURES` is the one list the engine's outputs are laid out from: the arrays a block
returns (:func:`measure_shapes`, each ``(paths, years, width)``), the columns of the per-path sums
the compiled pass adds into (:class:`SumColumns`, built by :func:`sum_columns`), and the labels of
the result tables (:func:`label`). The admissions the compiled pass records are laid out likewise
by :data:`RECORD_COLUMNS` (then one payment column per layer).
"""

from __future__ import annotations

from typing import NamedTuple


class Measure(NamedTuple):
    """One measure per path and year: ``dims`` names the axis of its width (``"fund"``,
    ``"layer"``, ``"category"``; none for a single number); ``unit`` what its numbers count."""

    name: str
    dims: tuple[str, ...]
    unit: str
    label: str
    kernel: bool
    """Summed by the compiled pass over a group's paths (the others are derived from those by the
    group's category at the start of the year, :func:`simulation.engine.simulate.add_group`)."""


MEASURES: tuple[Measure, ...] = (
    Measure("fund_claims", ("fund",), "yuan", "claims paid by the fund", True),
    Measure(
        "fund_claims_old",
        ("fund",),
        "yuan",
        "claims paid by the fund under the rules before a change in force (else the same)",
        True,
    ),
    Measure("fund_beneficiaries", ("fund",), "persons", "persons the fund paid", True),
    Measure("layer_claims", ("layer",), "yuan", "claims paid by the layer", True),
    Measure("category_claims", ("category",), "yuan", "claims paid for the category", False),
    Measure(
        "category_catastrophic",
        ("category",),
        "persons",
        "persons of the category with catastrophic expenditure",
        False,
    ),
    Measure("category_claimants", ("category",), "persons", "claimants of the category", False),
    Measure("catastrophic", (), "persons", "persons with catastrophic expenditure", True),
    Measure("oop", (), "yuan", "out-of-pocket cost", True),
    Measure("total_cost", (), "yuan", "total cost of admissions", True),
    Measure("admissions", (), "admissions", "admissions", True),
    Measure("claimants", (), "persons", "persons with at least one admission", True),
)
"""Every measure of a run, in the order of a block's arrays."""

BY_NAME = {m.name: m for m in MEASURES}


def label(name: str) -> str:
    """The measure's label with its unit, e.g. ``"claims paid by the fund (yuan)"``."""
    m = BY_NAME[name]
    return f"{m.label} ({m.unit})"


def measure_widths(n_funds: int, n_layers: int, n_categories: int) -> dict[str, int]:
    """Per path and year: the width of each measure."""
    sizes = {"fund": n_funds, "layer": n_layers, "category": n_categories}
    out = {}
    for m in MEASURES:
        width = 1
        for d in m.dims:
            width *= sizes[d]
        out[m.name] = width
    return out


class SumColumns(NamedTuple):
    """The first column of each :data:`MEASURES` entry the compiled pass sums, in its per-path
    sums ``(paths, width)`` (:func:`sum_columns`); ``width`` the row's length. Passed to the
    compiled pass as is (numba reads a named tuple's fields by name)."""

    fund_claims: int
    fund_claims_old: int
    fund_beneficiaries: int
    layer_claims: int
    catastrophic: int
    oop: int
    total_cost: int
    admissions: int
    claimants: int
    width: int


def sum_columns(n_funds: int, n_layers: int) -> SumColumns:
    """The layout of the compiled pass's per-path sums: the kernel measures of :data:`MEASURES`
    in order, each as wide as its dimension."""
    widths = measure_widths(n_funds, n_layers, 0)
    offsets = {}
    at = 0
    for m in MEASURES:
        if m.kernel:
            offsets[m.name] = at
            at += widths[m.name]
    return SumColumns(**offsets, width=at)


RECORD_COLUMNS = ("person", "time", "category", "level", "claim_type", "total", "in_policy", "oop")
"""The columns of a recorded admission (:func:`simulation.engine.simulate.path_claims`), before
one payment column (yuan) per layer: the person within its group, the time (fraction of the
year), category, hospital level and claim type codes, total and in-policy cost and the
out-of-pocket cost (yuan)."""


class RecordColumn(NamedTuple):
    """The index of each :data:`RECORD_COLUMNS` column in a recorded admission's row."""

    person: int
    time: int
    category: int
    level: int
    claim_type: int
    total: int
    in_policy: int
    oop: int
    paid: int
    """The first payment column (one per layer)."""


REC = RecordColumn(*range(len(RECORD_COLUMNS) + 1))


__all__ = [
    "BY_NAME",
    "MEASURES",
    "REC",
    "RECORD_COLUMNS",
    "Measure",
    "RecordColumn",
    "SumColumns",
    "label",
    "measure_widths",
    "sum_columns",
]
