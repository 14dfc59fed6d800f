"""The scenario file's typed, frozen model (pydantic v2).

Units are in the field names or docstrings: money in yuan, rates per person-year, ratios and shares
as fractions in [0, 1]. Policy values that may change by year are :class:`~simulation.params.Dated`;
after validation each one carries its key path as its ``name`` (``funds.basic.financing_per_head``),
so a lookup for a year it does not cover names the parameter.

Numbers, text and booleans are checked strictly (``ratio = "0.5"`` or ``ratio = true`` is an error,
not 0.5 or 1); enum values are written as text (``settlement = "per_admission"``).
Cross-references (a layer naming a category, a cell naming a tier) are checked in
:func:`_check_references` so that every error names the key path it comes from.
:func:`~simulation.scenario.messages.explain_validation_error` turns pydantic's errors into one
message in the scenario file's vocabulary: the key path, what was expected and what was found.

The schema is a package with a module per section of the scenario file: :mod:`.base` (the shared
bases: limits, :class:`Frozen`, dated values, errors, key paths, hospital levels and claim types),
:mod:`.population`, :mod:`.claims` (frequency and severity), :mod:`.layers`, :mod:`.funds`
(funds and contracts), :mod:`.systematic`, :mod:`.economy` and :mod:`.scenario` (the whole
scenario and its cross-references). Every name is imported from here:
``from simulation.scenario.schema import Scenario``.
"""

from __future__ import annotations

from .base import (
    CLAIM_TYPES,
    LEVELS,
    MAX_CLAIM_YUAN,
    MAX_GROWTH,
    MAX_HORIZON,
    MAX_PER_HEAD_YUAN,
    MAX_PERSONS,
    MAX_YUAN,
    YEARS,
    ClaimType,
    ClaimTypeName,
    DatedValue,
    FieldProblem,
    Fraction,
    Frozen,
    HospitalLevel,
    LevelName,
    Rate,
    ReferenceError_,
    Yuan,
    _year_or_meta,
    format_loc,
    number_text,
    toml_text,
)
from .claims import (
    BodyKind,
    ClaimModel,
    Frequency,
    FrequencyKind,
    LevelSeverity,
    Severity,
    Tail,
)
from .economy import (
    Economy,
)
from .funds import (
    Contract,
    ContractKind,
    Fund,
)
from .layers import (
    Band,
    Base,
    Burden,
    Layer,
    LevelRule,
    Preferential,
    Settlement,
)
from .population import (
    AGE_BAND_EXAMPLE,
    ALL_AGES,
    AgeBand,
    Category,
    Cell,
    Income,
    Population,
    Roster,
    parse_age_band,
)
from .scenario import (
    NOT_CHANGEABLE,
    Scenario,
    _did_you_mean,
    iter_dated,
)
from .systematic import (
    PARAMETER_NAMES,
    DemandResponse,
    EventEffect,
    FactorGroups,
    FactorLaw,
    LevelFactor,
    NamedEvent,
    ParameterUncertainty,
    Systematic,
)

__all__ = [
    "AGE_BAND_EXAMPLE",
    "ALL_AGES",
    "AgeBand",
    "Band",
    "Base",
    "BodyKind",
    "CLAIM_TYPES",
    "Category",
    "Cell",
    "ClaimModel",
    "ClaimType",
    "ClaimTypeName",
    "Contract",
    "ContractKind",
    "DatedValue",
    "Economy",
    "DemandResponse",
    "EventEffect",
    "FactorGroups",
    "FactorLaw",
    "FieldProblem",
    "Fraction",
    "Frequency",
    "FrequencyKind",
    "Frozen",
    "Fund",
    "HospitalLevel",
    "Income",
    "LEVELS",
    "Layer",
    "LevelFactor",
    "LevelName",
    "LevelRule",
    "LevelSeverity",
    "MAX_CLAIM_YUAN",
    "MAX_GROWTH",
    "MAX_HORIZON",
    "MAX_PERSONS",
    "MAX_PER_HEAD_YUAN",
    "MAX_YUAN",
    "NOT_CHANGEABLE",
    "NamedEvent",
    "PARAMETER_NAMES",
    "ParameterUncertainty",
    "Population",
    "Preferential",
    "Burden",
    "Rate",
    "ReferenceError_",
    "Roster",
    "Scenario",
    "Settlement",
    "Severity",
    "Systematic",
    "Tail",
    "YEARS",
    "Yuan",
    "_did_you_mean",
    "_year_or_meta",
    "format_loc",
    "iter_dated",
    "number_text",
    "parse_age_band",
    "toml_text",
]
