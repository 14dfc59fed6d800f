"""Policy values indexed to an economic series (RULES.md sections 1 and 5; seeds 003 and 004).

A threshold, deductible or cap may be written as a share of a series of the scenario's
``[economy.series]`` (per-capita disposable income, by area), in force ``lag`` years later::

    [economy.series]
    disposable_income = { rural = { 2018 = 13831, 2019 = 15164, growth = 0.06 } }

    deductible = { share = 0.25, of = "disposable_income.rural", lag = 1 }

means, in year ``t``, ``0.25 x disposable_income.rural(t - 1)`` (the serious illness threshold is
"at most 50% of the previous year's per-capita disposable income", seed 004 and RULES.md 5). It is
resolved on load into the equivalent dated value, exactly: a series ``{y_k = v_k, growth = g}``
becomes ``{y_k + lag = share * v_k, growth = g}`` (rounded to 1e-6 yuan; a scalar series gives a
value from the first year), with a source note saying what it stands for. So every year's value is what the index gives, and the engine and
the exact method see an ordinary dated value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from ..params import Dated

INDEX_KEYS = frozenset({"share", "of", "lag", "source"})
"""The keys of an indexed value (``share`` and ``of`` required; ``lag`` defaults to 1)."""
DEFAULT_LAG = 1
"""Years between the series and the value: 1 = the previous year's series (seed 004: "the
previous year's per-capita disposable income")."""


class IndexProblem(ValueError):
    """An indexed value that cannot be resolved, at ``loc`` (its absolute key path)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def is_indexed(raw: Any) -> bool:
    """Whether a raw TOML value is written as an index (``{share = ..., of = ...}``)."""
    return isinstance(raw, dict) and "of" in raw and set(raw) <= INDEX_KEYS


def series_table(raw_scenario: dict[str, Any]) -> dict[str, Any]:
    """The scenario's series by dotted name (``disposable_income.rural``), as raw TOML values."""
    economy = raw_scenario.get("economy")
    series = economy.get("series") if isinstance(economy, dict) else None
    out: dict[str, Any] = {}
    if not isinstance(series, dict):
        return out
    for name, value in series.items():
        if isinstance(value, dict) and not any(
            str(k).isdigit() or k in ("growth", "source") for k in value
        ):  # a table of areas, each a dated value
            for sub, v in value.items():
                out[f"{name}.{sub}"] = v
            continue
        out[str(name)] = value
    return out


def _walk(raw: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(raw, dict):
        for k, v in raw.items():
            yield (*loc, k), v
            yield from _walk(v, (*loc, k))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            yield (*loc, i), v
            yield from _walk(v, (*loc, i))


def resolve_index(raw: dict[str, Any], series: Dated, loc: tuple, first_year: int) -> dict | float:
    """The dated TOML value an indexed value stands for (see the module docstring)."""
    share, name, lag = raw.get("share"), raw["of"], raw.get("lag", DEFAULT_LAG)
    if "share" not in raw:
        raise IndexProblem(loc, f"an indexed value needs a 'share' of {name!r}, found none")
    if not (isinstance(share, int | float) and not isinstance(share, bool) and 0 <= share <= 10):
        raise IndexProblem(
            (*loc, "share"), f"expected a share of the series from 0 to 10, found {share!r}"
        )
    share = float(share)
    if isinstance(lag, bool) or not isinstance(lag, int) or not 0 <= lag <= 10:
        raise IndexProblem((*loc, "lag"), f"expected a lag of 0 to 10 whole years, found {lag!r}")
    note = f"{share:g} x {name} of {lag} year{'s' if lag != 1 else ''} before"
    if lag == 0:
        note = f"{share:g} x {name} of the same year"
    if isinstance(raw.get("source"), str):
        note = f"{note}; {raw['source']}"
    if series.scalar is not None:
        return {str(first_year): round(share * series.scalar, 6), "source": note}
    start = series.values[0][0]
    if start + lag > first_year:
        raise IndexProblem(
            (*loc, "lag"),
            f"{name} starts in {start}: with lag {lag} the value is defined from {start + lag}, "
            f"after the scenario's first year {first_year}",
        )
    out: dict[str, Any] = {str(y + lag): round(share * v, 6) for y, v in series.values}
    if series.growth is not None:
        out["growth"] = series.growth
    out["source"] = note
    return out


def resolve_indexed_values(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with every indexed value replaced by its dated equivalent (a new dict)."""
    found = [(loc, v) for loc, v in _walk(raw, ()) if is_indexed(v)]
    if not found:
        return raw
    names = series_table(raw)
    first_year = raw.get("start_year")
    if not isinstance(first_year, int) or isinstance(first_year, bool):
        return raw  # the schema reports the missing or wrong start year
    out = _copy(raw)
    for loc, value in found:
        name = value["of"]
        if not isinstance(name, str) or name not in names:
            close = difflib.get_close_matches(str(name), list(names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(names) or "none: add an [economy.series] table"
            raise IndexProblem(
                (*loc, "of"), f"unknown series {name!r}{hint}; series defined: {known}"
            )
        try:
            series = Dated.parse(names[name])
        except ValueError as e:
            raise IndexProblem(("economy", "series", *name.split(".")), str(e)) from None
        for year, v in series.values or [(None, series.scalar)]:
            if v is None or not v >= 0:
                at = () if year is None else (str(year),)
                raise IndexProblem(
                    ("economy", "series", *name.split("."), *at),
                    f"expected a series value of at least 0, found {v:g}",
                )
        _set(out, loc, resolve_index(value, series, loc, first_year))
    return out


def _copy(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {k: _copy(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_copy(v) for v in raw]
    return raw


def _set(table: Any, loc: tuple[str | int, ...], value: Any) -> None:
    for step in loc[:-1]:
        table = table[step]
    table[loc[-1]] = value
