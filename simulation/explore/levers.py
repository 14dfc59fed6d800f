"""The policy levers of a scenario: the numbers an analyst may move, read from the scenario model.

A :class:`Lever` is one number of the merged raw scenario table (after ``extends``) at a key path
in the file's words (``funds.supplementary.financing_per_head.tier1.2019``,
``layers.supplementary.bands[0].ratio``), with its unit, its valid range (from the schema's field
constraints, or the validator of a dated value: money at least 0), and the note the scenario file
gives for it (a dated value's ``source``, else the comment on its line, else the comment above its
section; ``ASSUMPTION`` when the note says so). Moving a lever is :func:`apply_levers`: the raw
table with the new values, validated by :func:`simulation.scenario.validate_raw`, so a value a
file could not hold is refused with the message the file would get.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel

from ..engine.sweep import set_path
from ..scenario import validate_raw
from ..scenario.schema import Band, Contract, LevelRule, Preferential, Scenario

GROUPS = ("financing", "thresholds", "ratios", "caps", "preferential", "contract", "growth")
"""Lever groups, in the order the explorer shows them."""


@dataclass(frozen=True)
class Lever:
    """One number of a scenario an analyst may change."""

    path: str
    """Key path in the raw scenario table (``layers.x.bands[0].ratio``), as :func:`set_path` reads
    it and as a variant file writes it."""
    label: str
    group: str
    """One of :data:`GROUPS`."""
    unit: str
    """``yuan``, ``yuan per head``, ``fraction``, ``multiplier`` or ``per year``."""
    value: float
    low: float | None
    """Smallest valid value (inclusive unless ``low_open``), None for no bound."""
    high: float | None
    low_open: bool = False
    high_open: bool = False
    note: str = ""
    """The scenario's source for the value, or its ASSUMPTION note (empty when it gives none)."""

    @property
    def assumption(self) -> bool:
        return "ASSUMPTION" in self.note

    def range_text(self) -> str:
        """The valid range as a person reads it: ``0 to 1``, ``at least 0``, ``any number``."""
        lo = None if self.low is None else _num(self.low)
        hi = None if self.high is None else _num(self.high)
        if lo is not None and hi is not None:
            return f"{lo} to {hi}" + (" (exclusive)" if self.low_open or self.high_open else "")
        if lo is not None:
            return f"{'above' if self.low_open else 'at least'} {lo}"
        if hi is not None:
            return f"{'below' if self.high_open else 'at most'} {hi}"
        return "any number"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _bounds(model: type[BaseModel], field: str) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low_open, high_open) of a number field from its pydantic constraints."""
    low = high = None
    low_open = high_open = False
    for m in model.model_fields[field].metadata:
        if isinstance(m, annotated_types.Ge):
            low = float(m.ge)
        elif isinstance(m, annotated_types.Gt):
            low, low_open = float(m.gt), True
        elif isinstance(m, annotated_types.Le):
            high = float(m.le)
        elif isinstance(m, annotated_types.Lt):
            high, high_open = float(m.lt), True
    return low, high, low_open, high_open


_MONEY = (0.0, None, False, False)
"""Dated money (financing, deductibles, caps): the schema's validators want at least 0."""
_ANY = (None, None, False, False)


def _dated_paths(raw: Any, path: str, start_year: int) -> list[tuple[str, float, str]]:
    """(key path, value, sub-label) of the number in force in the start year of a raw dated value,
    and of its growth rule when it has one; ``source`` is returned as the label of the value."""
    if isinstance(raw, bool):
        return []
    if isinstance(raw, int | float):
        return [(path, float(raw), "")]
    if not isinstance(raw, dict):
        return []
    years = sorted(int(k) for k in raw if str(k).isdigit() and int(k) <= start_year)
    out = []
    if years:
        key = str(years[-1])
        out.append((f"{path}.{key}", float(raw[key]), f"from {key}"))
    if isinstance(raw.get("growth"), int | float) and not isinstance(raw.get("growth"), bool):
        out.append((f"{path}.growth", float(raw["growth"]), "growth"))
    return out


def _source(raw: Any) -> str:
    return raw["source"] if isinstance(raw, dict) and isinstance(raw.get("source"), str) else ""


def iter_levers(
    raw: Mapping[str, Any], scenario: Scenario, notes: Mapping[str, str] | None = None
) -> Iterator[Lever]:
    """Every lever of a scenario: ``raw`` its merged raw table, ``scenario`` the validated model,
    ``notes`` the file's comments by key path (:func:`file_notes`)."""
    notes = notes or {}
    y0 = scenario.start_year

    def note_for(path: str, raw_value: Any = None) -> str:
        src = _source(raw_value)
        if src:
            return src
        parts = path.split(".")
        for n in range(len(parts), 0, -1):
            key = re.sub(r"\[\d+\]$", "", ".".join(parts[:n]))
            if key in notes:
                return notes[key]
        return ""

    def dated(path, raw_value, label, group, unit, bounds, growth_group="growth"):
        for p, v, sub in _dated_paths(raw_value, path, y0):
            is_growth = sub == "growth"
            lo, hi, lo_open, hi_open = _ANY if is_growth else bounds
            yield Lever(
                p,
                f"{label} ({sub})" if sub else label,
                growth_group if is_growth else group,
                "per year" if is_growth else unit,
                v,
                lo,
                hi,
                lo_open,
                hi_open,
                note_for(path, raw_value),
            )

    def plain(path, model, field, value, label, group, unit):
        lo, hi, lo_open, hi_open = _bounds(model, field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        yield Lever(
            path, label, group, unit, float(value), lo, hi, lo_open, hi_open, note_for(path)
        )

    # financing per head, by tier
    for fname, fund in raw.get("funds", {}).items():
        fin = fund.get("financing_per_head")
        base = f"funds.{fname}.financing_per_head"
        label = f"{fund.get('label', fname)}: financing per head"
        tiers = scenario.funds[fname].financing_per_head
        if isinstance(tiers, dict):
            for tier, traw in fin.items():
                yield from dated(
                    f"{base}.{tier}", traw, f"{label}, {tier}", "financing", "yuan per head", _MONEY
                )
        else:
            yield from dated(base, fin, label, "financing", "yuan per head", _MONEY)
    # layers: thresholds, ratios, caps, preferential terms
    for lname, layer in raw.get("layers", {}).items():
        ll = layer.get("label", lname)
        base = f"layers.{lname}"
        if "deductible" in layer:
            yield from dated(
                f"{base}.deductible",
                layer["deductible"],
                f"{ll}: deductible",
                "thresholds",
                "yuan",
                _MONEY,
            )
        for i, band in enumerate(layer.get("bands", [])):
            yield from plain(
                f"{base}.bands[{i}].from",
                Band,
                "from_yuan",
                band.get("from"),
                f"{ll}: band {i} from",
                "thresholds",
                "yuan",
            )
            yield from plain(
                f"{base}.bands[{i}].ratio",
                Band,
                "ratio",
                band.get("ratio"),
                f"{ll}: band {i} ratio",
                "ratios",
                "fraction",
            )
        for level, rule in layer.get("by_level", {}).items():
            for field, group, unit in (
                ("deductible", "thresholds", "yuan"),
                ("ratio", "ratios", "fraction"),
            ):
                yield from plain(
                    f"{base}.by_level.{level}.{field}",
                    LevelRule,
                    field,
                    rule.get(field),
                    f"{ll}: {level} {field}",
                    group,
                    unit,
                )
        if "annual_cap" in layer:
            yield from dated(
                f"{base}.annual_cap",
                layer["annual_cap"],
                f"{ll}: annual cap",
                "caps",
                "yuan",
                _MONEY,
            )
        for cat, terms in layer.get("preferential", {}).items():
            for field, unit in (
                ("threshold_multiplier", "multiplier"),
                ("ratio_addon", "fraction"),
                ("deductible", "yuan"),
            ):
                if field in terms:
                    yield from plain(
                        f"{base}.preferential.{cat}.{field}",
                        Preferential,
                        field,
                        terms[field],
                        f"{ll}: {cat} {field.replace('_', ' ')}",
                        "preferential",
                        unit,
                    )
    # contracts
    for fname, fund in raw.get("funds", {}).items():
        contract = fund.get("contract", {})
        for field in (
            "profit_cap_rate",
            "management_rate",
            "loss_band_rate",
            "excess_insurer_share",
            "operating_cost_rate",
            "operating_cost_fixed_yuan",
        ):
            if field in contract:
                unit = "yuan" if field.endswith("_yuan") else "fraction"
                yield from plain(
                    f"funds.{fname}.contract.{field}",
                    Contract,
                    field,
                    contract[field],
                    f"{fund.get('label', fname)}: {field.replace('_', ' ')}",
                    "contract",
                    unit,
                )
    # growth rates of costs and claim frequency
    for ct, model in raw.get("claims", {}).items():
        sev = model.get("severity", {})
        if "trend" in sev:
            yield from dated(
                f"claims.{ct}.severity.trend",
                sev["trend"],
                f"{ct}: cost growth",
                "growth",
                "per year",
                _ANY,
            )
        freq = model.get("frequency", {})
        if isinstance(freq.get("trend"), int | float):
            yield Lever(
                f"claims.{ct}.frequency.trend",
                f"{ct}: claim frequency growth",
                "growth",
                "per year",
                float(freq["trend"]),
                None,
                None,
                note=note_for(f"claims.{ct}.frequency.trend"),
            )


def apply_levers(
    raw: Mapping[str, Any], values: Mapping[str, Any], file: str
) -> tuple[dict, Scenario]:
    """The raw table with each key path of ``values`` set, and its validated scenario.

    Raises the :class:`~simulation.errors.ScenarioError` that a file ``file`` holding those values
    would get (the same :func:`~simulation.scenario.validate_raw`), or a
    :class:`~simulation.errors.FundsimError` for a key path the scenario does not have.
    """
    table = dict(raw)
    for path, value in values.items():
        table = set_path(table, path, value)
    return table, validate_raw(table, file)


def toml_number(value: float, like: Any) -> int | float:
    """A lever's value as the file holds it: an int where the file wrote an int and the value is
    whole (so strict whole-number fields keep validating), else a float."""
    if isinstance(like, int) and not isinstance(like, bool) and math.isfinite(value):
        if float(value).is_integer():
            return int(value)
    return float(value)


# --------------------------------------------------------------------------- notes from comments

_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\"+-]+)\s*=")


def _comment(line: str) -> str:
    """The ``# ...`` comment of a TOML line (outside quoted strings), stripped; empty if none."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[i + 1 :].strip()
    return ""


def file_notes(files: list[Path]) -> dict[str, str]:
    """The comments of a scenario's files (base first; a later file's note wins), by key path:
    ``section.key`` for the trailing comment of a key's line, ``section`` for the comment block
    just above a ``[section]`` header."""
    notes: dict[str, str] = {}
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        section = ""
        block: list[str] = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("#"):
                block.append(stripped.lstrip("#").strip())
                continue
            header = _HEADER.match(line)
            if header:
                section = header.group(1).strip().replace('"', "")
                text = " ".join(b for b in block if b and not set(b) <= set("-= "))
                if text:
                    notes[section] = text
                block = []
                continue
            key = _KEY.match(line)
            if key:
                comment = _comment(line)
                if comment:
                    name = key.group(1).replace('"', "")
                    notes[f"{section}.{name}" if section else name] = comment
            if stripped:
                block = []
    return notes
