"""The schema's shared parts: limits, strict frozen models, dated values, errors and key paths.

:class:`Frozen` is the base of every scenario type; :data:`DatedValue`, :data:`Fraction` and
:data:`Yuan` are the field types the sections share; :class:`FieldProblem` and
:class:`ReferenceError_` carry a validator's finding with its key path; :func:`format_loc` and
:func:`toml_text` write key paths and values as a scenario file does. The hospital levels and claim
types are here because every section names them.
"""

from __future__ import annotations

import math
import re
from enum import Enum, StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, Strict

from ...params import Dated

MAX_PERSONS = 2_000_000_000
"""Most persons a cell's roster may hold (China's population is 1.4e9)."""
MAX_PER_HEAD_YUAN = 1e7
"""Most financing per head a fund may have, yuan a year (the shipped scenarios: 25 to 960; sweeps
and tests go to a million)."""
MAX_CLAIM_YUAN = 1e8
"""Most the mean cost of a claim may be, yuan (a year of intensive care is about 1e6)."""
MAX_YUAN = 1e12
"""Most any other amount of money may be, yuan (deductibles, caps, band boundaries)."""
MAX_GROWTH = 1.0
"""Growth and trends per year lie above -1 (a fall to nothing) and at most +100%."""
MAX_HORIZON = 50
"""Most policy years a scenario (or ``--years``) may run."""
YEARS = (1990, 2100)
"""Years a scenario may name (start year, dated values' keys, ``[changes.YYYY]``)."""


def _parse_dated(raw: Any) -> Dated:
    d = Dated.parse(raw)
    if d.growth is not None and not (-1.0 < d.growth <= MAX_GROWTH):
        raise FieldProblem(
            f"expected growth above -1 and at most {number_text(MAX_GROWTH)} (a rate per year), "
            f"found {number_text(d.growth)}",
            ("growth",),
        )
    for year, _ in d.values:
        if not YEARS[0] <= year <= YEARS[1]:
            raise FieldProblem(
                f"expected a year from {YEARS[0]} to {YEARS[1]} as key, found {year:04d}",
                (f"{year:04d}",),
            )
    return d


DatedValue = Annotated[
    Dated,
    BeforeValidator(_parse_dated),
    PlainSerializer(lambda d: d.to_toml_value(), return_type=Any),
]
"""A scalar or ``{year = value, ..., growth = g}``; see :mod:`simulation.params`."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
"""A ratio, share, rate or probability in [0, 1]."""
Yuan = Annotated[float, Field(ge=0.0)]
"""An amount of money, yuan, not negative."""
Rate = Annotated[float, Field(ge=0.0, le=1e3)]
"""A non-negative rate (claims per person-year, a multiplier)."""

_LAX = Strict(False)
"""Enum values arrive as text from TOML: enums are validated leniently, everything else strictly."""


class Frozen(BaseModel):
    """Base for every scenario type: immutable, no unknown keys, strict types."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, strict=True, allow_inf_nan=False
    )


class FieldProblem(ValueError):
    """A validator's finding at ``sub``, a key path below the key being validated."""

    def __init__(self, message: str, sub: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.sub = sub


class ReferenceError_(ValueError):
    """A cross-reference error carrying its own (absolute) key path."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def number_text(v: float) -> str:
    """A number as a user writes it: ``1.2``, ``-500`` (not ``-500.0``), ``inf``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if math.isfinite(v) and float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v))


def _dated_items(value: Dated) -> list[tuple[tuple[str | int, ...], float]]:
    """(sub-key, value) of every number written: ``()`` for a scalar, ``("2021",)`` in a table."""
    if value.scalar is not None:
        return [((), value.scalar)]
    return [((str(y),), v) for y, v in value.values]


def _dated_nonnegative(value: Dated, what: str, unit: str = " yuan") -> Dated:
    for sub, v in _dated_items(value):
        if not v >= 0:
            raise FieldProblem(f"expected {what} of at least 0{unit}, found {number_text(v)}", sub)
    return value


def _dated_fraction(value: Dated, what: str) -> Dated:
    for sub, v in _dated_items(value):
        if not 0.0 <= v <= 1.0:
            raise FieldProblem(f"expected {what} between 0 and 1, found {number_text(v)}", sub)
    return value


# --------------------------------------------------------------------------- enums


class HospitalLevel(StrEnum):
    """Hospital level of an admission; decides the basic layer's deductible and ratio."""

    PRIMARY = "primary"
    COUNTY = "county"
    CITY = "city"  # city and provincial (tertiary) hospitals


LEVELS: tuple[HospitalLevel, ...] = tuple(HospitalLevel)


class ClaimType(StrEnum):
    """Kind of claim: an inpatient admission or an outpatient special chronic disease claim."""

    INPATIENT = "inpatient"
    CHRONIC = "chronic"


CLAIM_TYPES: tuple[ClaimType, ...] = tuple(ClaimType)


LevelName = Annotated[HospitalLevel, _LAX]
ClaimTypeName = Annotated[ClaimType, _LAX]


# --------------------------------------------------------------------------- key paths and values


def format_loc(loc: tuple[str | int, ...]) -> str:
    """``('layers', 'si', 'bands', 2, 'ratio')`` -> ``layers.si.bands[2].ratio``.

    Keys that are not bare TOML keys are quoted: ``level_mix."60+"``.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
                text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
            out += ("." if out else "") + text
    return out


def toml_text(value: Any, limit: int = 80) -> str:
    """A value as it would be written in a scenario file (inline), shortened to ``limit``."""

    def text(v: Any) -> str:
        if isinstance(v, Dated):
            return text(v.to_toml_value())
        if isinstance(v, Enum):
            return text(v.value)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        if isinstance(v, bool | int | float):
            return number_text(v)
        if isinstance(v, dict):
            return (
                "{"
                + ", ".join(f"{format_loc((str(_key(k)),))} = {text(x)}" for k, x in v.items())
                + "}"
            )
        if isinstance(v, list | tuple):
            return "[" + ", ".join(text(x) for x in v) + "]"
        if v is None:
            return "nothing"
        return repr(v)

    out = text(value)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _key(k: Any) -> str | int:
    return k.value if isinstance(k, Enum) else k


def _year_or_meta(key: Any) -> bool:
    return (str(key).isdigit() and len(str(key)) == 4) or key in ("growth", "source")
