"""Dated policy parameters: a value that takes effect from a year on.

In a scenario file a dated parameter is written either as a scalar (in force for every year) or as a
table of years, optionally with a growth rule and a source note::

    financing_per_head = 130
    financing_per_head = {2019 = 130, 2021 = 150}
    financing_per_head = {2019 = 130, growth = 0.06, source = "Henan 2019 notice (seed 000)"}

``{2019 = 130, 2021 = 150}`` means 130 from 2019, 150 from 2021 on. After the last dated year the
value stays constant, or grows by ``growth`` a year (compound) if a growth rule is given. Looking a
value up for a year before the first dated year is an error, never a silent default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ParameterError

_META_KEYS = ("growth", "source")


@dataclass(frozen=True)
class Dated:
    """A policy value by year: ``values`` maps the first year of each value to the value.

    ``values`` is empty for a scalar, which is then held in ``scalar``.
    """

    scalar: float | None = None
    values: tuple[tuple[int, float], ...] = ()
    growth: float | None = None
    source: str | None = None
    name: str = field(default="", compare=False)

    @classmethod
    def parse(cls, raw: Any) -> Dated:
        """Build from the TOML form; raises ``ValueError`` with a readable reason."""
        if isinstance(raw, Dated):
            return raw
        if isinstance(raw, bool):
            raise ValueError(f"expected a number or a table of years, found {raw!r}")
        if isinstance(raw, int | float):
            if not math.isfinite(raw):
                raise ValueError(f"expected a finite number, found {raw!r}")
            return cls(scalar=float(raw))
        if isinstance(raw, dict):
            growth = raw.get("growth")
            source = raw.get("source")
            if growth is not None and (
                isinstance(growth, bool) or not isinstance(growth, int | float)
            ):
                raise ValueError(f"growth must be a number (a rate per year), found {growth!r}")
            if source is not None and not isinstance(source, str):
                raise ValueError(f"source must be text, found {source!r}")
            values = []
            for key, value in raw.items():
                if key in _META_KEYS:
                    continue
                if not (isinstance(key, str | int) and str(key).isdigit() and len(str(key)) == 4):
                    raise ValueError(
                        f"expected a year (like 2019), 'growth' or 'source' as key, found {key!r}"
                    )
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"the value for {key} must be a number, found {value!r}")
                values.append((int(key), float(value)))
            if not values:
                raise ValueError("a dated value needs at least one year, like {2019 = 130}")
            values.sort()
            return cls(values=tuple(values), growth=growth, source=source)
        raise ValueError(f"expected a number or a table of years, found {raw!r}")

    @property
    def first_year(self) -> int | None:
        """The first year the value is defined for; None for a scalar (defined for every year)."""
        return self.values[0][0] if self.values else None

    def all_values(self) -> list[float]:
        """Every value written in the file (for range checks)."""
        return [self.scalar] if self.scalar is not None else [v for _, v in self.values]

    def at(self, year: int) -> float:
        """The value in force in ``year``."""
        if self.scalar is not None:
            return self.scalar
        first = self.values[0][0]
        if year < first:
            label = f"'{self.name}' " if self.name else ""
            raise ParameterError(
                f"parameter {label}is not defined for {year}: its first dated year is {first}"
            )
        current = self.values[0][1]
        for y, v in self.values:
            if y <= year:
                current = v
        last_year = self.values[-1][0]
        if self.growth is not None and year > last_year:
            return current * (1.0 + self.growth) ** (year - last_year)
        return current

    def to_toml_value(self) -> float | dict[str, Any]:
        """The value written back in the scenario-file form."""
        if self.scalar is not None:
            return self.scalar
        out: dict[str, Any] = {str(y): v for y, v in self.values}
        if self.growth is not None:
            out["growth"] = self.growth
        if self.source is not None:
            out["source"] = self.source
        return out
