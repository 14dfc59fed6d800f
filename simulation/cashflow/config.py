"""Cash-flow settings: defined with the scenario schema (a scenario's optional ``[cashflow]``
table), re-exported here for the cash-flow package."""

from ..scenario.cashflow import (
    CashflowConfig,
    Installment,
    Lag,
    LagDistribution,
    SettlementBasis,
    TriangleGrain,
)
from ..scenario.load import load_cashflow_config

__all__ = [
    "CashflowConfig",
    "Installment",
    "Lag",
    "LagDistribution",
    "SettlementBasis",
    "TriangleGrain",
    "load_cashflow_config",
]
