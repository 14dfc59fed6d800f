"""Scenario files: loading, validation and the year-by-year view of the rules."""

from .load import deep_merge, load_scenario, resolve_raw, validate_raw
from .schema import (
    CLAIM_TYPES,
    LEVELS,
    Base,
    ClaimType,
    ContractKind,
    HospitalLevel,
    Scenario,
    Settlement,
)

__all__ = [
    "CLAIM_TYPES",
    "LEVELS",
    "Base",
    "ClaimType",
    "ContractKind",
    "HospitalLevel",
    "Scenario",
    "Settlement",
    "deep_merge",
    "load_scenario",
    "resolve_raw",
    "validate_raw",
]
