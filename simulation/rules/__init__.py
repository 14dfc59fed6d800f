"""The rules: layers of cover and the fund contracts, as pure vectorised functions.

- :mod:`.bands`: the banded payment ``B(x)`` every layer uses;
- :mod:`.layers`: layers compiled from a scenario for a year, and the cascade of a year's
  admissions through them (:func:`compile_cascade`, :func:`apply_cascade`);
- :mod:`.contract`: the contract between government and insurer (clawback, corridor, cost-plus,
  policy-change subsidy) and the settlement of a year or a contract term.

Rules never draw random numbers: the engine draws, rules are deterministic functions of arrays.
"""

from .bands import band_share, banded_payment
from .contract import (
    capped_result,
    clawback,
    corridor,
    cost_plus_payment,
    operating_cost,
    policy_change_subsidy,
    settle_paths,
    settle_term,
    settle_year,
    settlement_periods,
)
from .layers import (
    Admissions,
    CascadeResult,
    CompiledCascade,
    CompiledLayer,
    apply_cascade,
    compile_cascade,
    compile_layer,
)

__all__ = [
    "Admissions",
    "CascadeResult",
    "CompiledCascade",
    "CompiledLayer",
    "apply_cascade",
    "band_share",
    "banded_payment",
    "capped_result",
    "clawback",
    "compile_cascade",
    "compile_layer",
    "corridor",
    "cost_plus_payment",
    "operating_cost",
    "policy_change_subsidy",
    "settle_paths",
    "settle_term",
    "settle_year",
    "settlement_periods",
]
