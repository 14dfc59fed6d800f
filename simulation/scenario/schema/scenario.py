"""The whole scenario (:class:`Scenario`), its cross-references (a layer naming a category, a
cell naming a tier: :func:`_check_references`) and the walk over its dated values."""

from __future__ import annotations

import dataclasses
import difflib
import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator, model_validator

from ...params import Dated
from ..cashflow import CashflowConfig
from ..indexed import IndexProblem, resolve_indexed_values
from .base import (
    LEVELS,
    MAX_HORIZON,
    ClaimTypeName,
    FieldProblem,
    Frozen,
    ReferenceError_,
    _key,
    format_loc,
    toml_text,
)
from .claims import ClaimModel
from .economy import Economy
from .funds import Fund
from .layers import Layer
from .population import Category, Population
from .systematic import FactorGroups, Systematic

NOT_CHANGEABLE = ("name", "start_year", "horizon_years", "changes", "systematic")
"""Top-level keys a ``[changes.YYYY]`` table may not set."""


class Scenario(Frozen):
    """A whole scenario: people, illness costs, layers of cover, funds and contracts."""

    name: str
    """The scenario's name, text (1 to 200 characters, no control characters): it names the output
    folders, tables and reports. A label, no policy value."""
    title: str = ""
    """A one-line title for reports, text; empty for none. A label, no policy value."""
    description: str = ""
    """What the scenario models and where its figures come from, text, shown in reports; empty for
    none. A label, no policy value."""
    title_zh: str | None = None
    """The title in Chinese reports (``--lang zh``); the title when absent."""
    description_zh: str | None = None
    """The description in Chinese reports; the description when absent."""
    start_year: Annotated[int, Field(ge=1990, le=2100)]
    """The first policy year simulated, a calendar year (1990 to 2100): dated values and
    ``[changes.YYYY]`` are read from it on. No default: the year of the scenario's rules (e.g. 2019,
    seed 000)."""
    horizon_years: Annotated[int, Field(ge=1, le=MAX_HORIZON)] = 1
    """Policy years simulated from ``start_year``, years (1 to 50; ``--years`` overrides). Default
    1: a single year, no policy value (a contract runs 3 years, RULES.md §3 and §5)."""
    categories: dict[str, Category]
    """The categories of insured person by name (:class:`Category`; RULES.md §2: extremely poor,
    minimum-allowance, registered poor, children in distress, ordinary residents). Cells, layers and
    rates refer to these names."""
    population: Population
    """The insured persons: their cells and the roster's quarterly dynamics (:class:`Population`,
    RULES.md §2)."""
    claims: dict[ClaimTypeName, ClaimModel]
    """Illness costs by claim type (``inpatient``, ``chronic``): a frequency and a severity model
    each (:class:`ClaimModel`); RULES.md §5 gives the national figures to calibrate them."""
    cascade: list[str]
    """Layer names in the order they pay (insurance before assistance)."""
    layers: dict[str, Layer]
    """The layers of cover by name (:class:`Layer`, RULES.md §1); each is listed in ``cascade``."""
    funds: dict[str, Fund]
    """The funds by name (:class:`Fund`), each paying one or more layers (RULES.md §1 and §3)."""
    economy: Economy = Economy()
    """Economic context (:class:`Economy`): the catastrophic-cost threshold and the economic series
    policy values may be indexed to."""
    cashflow: CashflowConfig | None = None
    """Intra-year timing of financing and claim payments (``fundsim cashflow``); defaults apply
    when absent."""
    changes: dict[str, dict[str, Any]] = {}
    """Rule changes by year: ``[changes.2021]`` is merged onto the scenario from 2021 on (tables
    merge, other values replace; see :func:`simulation.scenario.resolve.scenario_for_year`)."""
    systematic: Systematic = Systematic()
    """Systematic risk (factors common to a path-year, :class:`Systematic`); off when absent."""

    @model_validator(mode="before")
    @classmethod
    def _indexed_values(cls, raw: Any) -> Any:
        """Values written as a share of an economic series become their dated equivalent."""
        if not isinstance(raw, dict):
            return raw
        try:
            return resolve_indexed_values(raw)
        except IndexProblem as e:
            raise ReferenceError_(e.loc, e.message) from None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        """A name is a label for folders, tables and reports: 1 to 200 characters, none of them a
        control character (a NUL, a newline)."""
        if not v.strip():
            raise FieldProblem(f"expected a name of 1 to 200 characters, found {toml_text(v)}")
        bad = next((c for c in v if unicodedata.category(c).startswith("C")), None)
        if bad is not None:
            raise FieldProblem(
                f"expected a name without control characters, found U+{ord(bad):04X} in it"
            )
        if len(v) > 200:
            raise FieldProblem(f"expected a name of 1 to 200 characters, found {len(v)}")
        return v

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        _check_references(self)
        _check_systematic(self)
        _name_dated(self, ())
        return self

    def with_values(self, values: dict[str, Any]) -> Scenario:
        """A copy with each key path of ``values`` set (``{"layers.supplementary.bands[0].ratio":
        0.6}``), validated like a scenario file (:func:`simulation.scenario.values.with_values`)."""
        from ..values import with_values

        return with_values(self, values)


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_references(s: Scenario) -> None:
    cats = list(s.categories)

    def need_category(loc: tuple, name: str, allow_all: bool = False) -> None:
        if allow_all and name == "all":
            return
        if name not in s.categories:
            raise ReferenceError_(
                loc,
                f"category {name!r} is not defined in [categories]{_did_you_mean(name, cats)}; "
                f"defined: {', '.join(cats)}",
            )

    for cname, cell in s.population.cells.items():
        need_category(("population", "cells", cname, "category"), cell.category)
    r = s.population.roster
    for field in ("entry_rate", "exit_rate", "stay_needy", "stay_needy_category"):
        for cat in getattr(r, field):
            need_category(("population", "roster", field, cat), cat)
    for cat, target in r.stay_needy_category.items():
        loc = ("population", "roster", "stay_needy_category", cat)
        need_category(loc, target)
        if not s.categories[target].needy:
            needy = [c for c, v in s.categories.items() if v.needy]
            raise ReferenceError_(
                loc,
                f"expected a needy category (one with needy = true: {', '.join(needy) or 'none'}), "
                f"found {target!r}, which has needy = false",
            )
    if r.entrant_from is not None:
        need_category(("population", "roster", "entrant_from"), r.entrant_from)

    bands = list(dict.fromkeys(cell.age_band for cell in s.population.cells.values()))
    for ct, model in s.claims.items():
        for cat in model.frequency.rate:
            if cat != "default":
                need_category(("claims", ct.value, "frequency", "rate", cat), cat)
        for band in model.frequency.age_factor:
            # a key no cell uses would be silently ignored (the cells' bands get factor 1)
            if band not in bands:
                raise ReferenceError_(
                    ("claims", ct.value, "frequency", "age_factor", band),
                    f"age band {band!r} is not the age_band of any cell in [population.cells]"
                    f"{_did_you_mean(band, bands)}: expected one of {', '.join(bands)}",
                )
        for cat in model.severity.level_mix:
            if cat != "default":
                need_category(("claims", ct.value, "severity", "level_mix", cat), cat)
        missing_rate = [c for c in cats if c not in model.frequency.rate]
        if missing_rate and "default" not in model.frequency.rate:
            raise ReferenceError_(
                ("claims", ct.value, "frequency", "rate"),
                f"expected a rate for every category or a 'default' one, found none for "
                f"{', '.join(missing_rate)}",
            )
        missing_mix = [c for c in cats if c not in model.severity.level_mix]
        if missing_mix and "default" not in model.severity.level_mix:
            raise ReferenceError_(
                ("claims", ct.value, "severity", "level_mix"),
                f"expected a level mix for every category or a 'default' one, found none for "
                f"{', '.join(missing_mix)}",
            )
        missing_levels = [lvl.value for lvl in LEVELS if lvl not in model.severity.levels]
        if missing_levels:
            raise ReferenceError_(
                ("claims", ct.value, "severity", "levels"),
                f"expected a cost model for every hospital level "
                f"({', '.join(lvl.value for lvl in LEVELS)}), missing: {', '.join(missing_levels)}",
            )

    seen: set[str] = set()
    for i, name in enumerate(s.cascade):
        if name not in s.layers:
            raise ReferenceError_(
                ("cascade", i),
                f"layer {name!r} is not defined in [layers]{_did_you_mean(name, list(s.layers))}; "
                f"defined: {', '.join(s.layers)}",
            )
        if name in seen:
            raise ReferenceError_(("cascade", i), f"layer {name!r} is listed twice")
        seen.add(name)
    for name in s.layers:
        if name not in s.cascade:
            raise ReferenceError_(
                ("layers", name),
                "layer is defined but not in 'cascade': expected its name in the cascade list",
            )
    for lname, layer in s.layers.items():
        for i, cat in enumerate(layer.covers):
            need_category(("layers", lname, "covers", i), cat, allow_all=True)
        for cat in layer.preferential:
            need_category(("layers", lname, "preferential", cat), cat)
        if layer.fund not in s.funds:
            raise ReferenceError_(
                ("layers", lname, "fund"),
                f"fund {layer.fund!r} is not defined in [funds]"
                f"{_did_you_mean(layer.fund, list(s.funds))}; defined: {', '.join(s.funds)}",
            )
        for i, ct in enumerate(layer.claim_types):
            if ct not in s.claims:
                raise ReferenceError_(
                    ("layers", lname, "claim_types", i),
                    f"claim type {ct.value!r} has no model in [claims.{ct.value}]",
                )
    for fname, fund in s.funds.items():
        if isinstance(fund.financing_per_head, dict):
            tiers = list(fund.financing_per_head)
            for cname, cell in s.population.cells.items():
                if cell.tier is None:
                    raise ReferenceError_(
                        ("population", "cells", cname, "tier"),
                        f"required because fund {fname!r} finances by tier: expected one of "
                        f"{', '.join(tiers)}, found no tier",
                    )
                if cell.tier not in fund.financing_per_head:
                    raise ReferenceError_(
                        ("funds", fname, "financing_per_head"),
                        f"tier {cell.tier!r} (of cell {cname!r}) is missing: expected a financing "
                        f"per head for every tier the cells use, found only {', '.join(tiers)}"
                        f"{_did_you_mean(cell.tier, tiers)}",
                    )
        if not any(layer.fund == fname for layer in s.layers.values()):
            raise ReferenceError_(
                ("funds", fname), f"fund pays no layer: expected a layer with fund = {fname!r}"
            )
    for year, change in s.changes.items():
        if not (year.isdigit() and len(year) == 4):
            raise ReferenceError_(("changes", year), f"expected a year like 2021, found {year!r}")
        if int(year) < s.start_year:
            raise ReferenceError_(
                ("changes", year),
                f"expected a year from the start year {s.start_year} on, found {year}",
            )
        for key in change:
            if key in NOT_CHANGEABLE:
                raise ReferenceError_(
                    ("changes", year, key),
                    f"'{key}' cannot change by year: expected rules (layers, funds, claims, "
                    "population, ...) only",
                )


def _check_systematic(s: Scenario) -> None:
    sy = s.systematic
    for kind in ("frequency", "cost"):
        for ct, f in getattr(sy, kind).items():
            if ct not in s.claims:
                raise ReferenceError_(
                    ("systematic", kind, ct.value),
                    f"claim type {ct.value!r} has no model in [claims]",
                )
            if isinstance(f.correlation, list):
                attr = "region" if f.groups is FactorGroups.REGION else "category"
                n = len({getattr(c, attr) for c in s.population.cells.values()})
                if f.groups is FactorGroups.NONE:
                    n = 1
                if len(f.correlation) != n:
                    raise ReferenceError_(
                        ("systematic", kind, ct.value, "correlation"),
                        f"expected a {n} x {n} matrix (one row per group), found {len(f.correlation)} rows",
                    )
    levels = {lvl.value for lvl in LEVELS} | {"all"}
    for name, ev in sy.events.items():
        for kind in ("frequency", "cost"):
            for ct, by_level in getattr(ev, kind).items():
                if ct not in s.claims:
                    raise ReferenceError_(
                        ("systematic", "events", name, kind, ct.value),
                        f"claim type {ct.value!r} has no model in [claims]",
                    )
                for lvl in by_level:
                    if lvl not in levels:
                        raise ReferenceError_(
                            ("systematic", "events", name, kind, ct.value, lvl),
                            f"expected a hospital level ({', '.join(sorted(levels))}), found {lvl!r}",
                        )
    for ct, where in [(c, "parameters") for c in sy.parameters] + [
        (c, "demand_response.elasticity") for c in sy.demand_response.elasticity
    ]:
        if ct not in s.claims:
            raise ReferenceError_(
                ("systematic", *where.split("."), ct.value), f"claim type {ct.value!r} has no model"
            )


def iter_dated(obj: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, Dated]]:
    """Every dated value in a scenario (or part of one), with its key path (aliases, enum values).

    ``changes`` tables (raw, not yet validated) are skipped.
    """
    if isinstance(obj, BaseModel):
        for fname, finfo in type(obj).model_fields.items():
            if isinstance(obj, Scenario) and fname == "changes":
                continue
            yield from iter_dated(getattr(obj, fname), (*loc, finfo.alias or fname))
    elif isinstance(obj, Dated):
        yield loc, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_dated(v, (*loc, _key(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from iter_dated(v, (*loc, i))


def _name_dated(obj: Any, loc: tuple[str | int, ...]) -> None:
    """Give every dated value below ``obj`` its key path as ``name`` (for lookup errors).

    Runs once at the end of validation, on the objects validation has just built: the values are
    replaced by named copies, never changed in place (a default may be shared).
    """
    if isinstance(obj, BaseModel):
        for fname, finfo in type(obj).model_fields.items():
            if isinstance(obj, Scenario) and fname == "changes":
                continue
            value = getattr(obj, fname)
            here = (*loc, finfo.alias or fname)
            if isinstance(value, Dated):
                object.__setattr__(obj, fname, dataclasses.replace(value, name=format_loc(here)))
            else:
                _name_dated(value, here)
    elif isinstance(obj, dict):
        for k, v in list(obj.items()):
            here = (*loc, _key(k))
            if isinstance(v, Dated):
                obj[k] = dataclasses.replace(v, name=format_loc(here))
            else:
                _name_dated(v, here)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _name_dated(v, (*loc, i))
