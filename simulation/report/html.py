"""The HTML model of a report page (tables, cells, figures) and number formatting.

A page is a list of sections, each a list of blocks (a table, a figure, a note); a table is an
:class:`HtmlTable` of :class:`Row` s of :class:`Cell` s, rendered by ``templates/report.html.j2``
with autoescaping on. Numbers are formatted here: thousands separators, decimals by magnitude,
``mean ± SE`` with the SE shown to its first significant digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import figures as F

# --------------------------------------------------------------------------- the HTML model


@dataclass(frozen=True)
class Cell:
    text: str
    num: bool = False
    sub: str = ""
    data: tuple[tuple[str, str], ...] = ()
    muted: bool = False
    sub_muted: bool = False
    """Shown greyed: a value the run cannot support (e.g. "needs 2,000 paths")."""
    code: bool = False
    """Shown as code: a scenario key path or a value as the scenario file writes it."""


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...] = ()
    group: str = ""
    note: str = ""
    """A line under a group heading (e.g. what the fund's balance means)."""


@dataclass(frozen=True)
class HtmlTable:
    id: str
    header: list[str]
    rows: list[Row]


@dataclass(frozen=True)
class HtmlFigure:
    id: str
    data: str
    alt: str
    width: int
    caption: str = ""


# --------------------------------------------------------------------------- formatting


def decimals_for(v: float) -> int:
    """Decimals shown for an amount: 0 from 1,000, 1 from 10, else 2."""
    a = abs(v)
    return 0 if a >= 1000 or a == 0 else (1 if a >= 10 else 2)


def se_decimals(v: float, decimals: int, most: int = 4) -> int:
    """At least ``decimals``, more (up to ``most``) until ``v`` shows a non-zero digit."""
    d = decimals
    while d < most and math.isfinite(v) and 0 < abs(v) < 0.95 * 10.0 ** (-d):
        d += 1
    return d


def fmt_number(v: float, decimals: int | None = None) -> str:
    """Thousands separators; decimals by magnitude (0 from 1,000, 1 from 10, else 2)."""
    if v is None or not math.isfinite(v):
        return "—"
    d = decimals_for(v) if decimals is None else decimals
    return f"{v:,.{d}f}"


def fmt_pct(p: float, decimals: int = 1) -> str:
    if p is None or not math.isfinite(p):
        return "—"
    return f"{100 * p:.{decimals}f}%"


@dataclass(frozen=True)
class Formatter:
    unit: F.MoneyUnit
    paths: int = 0
    """Paths of the run (0: unknown); :meth:`prob_est` bounds a probability all paths agree on."""

    def money(self, yuan: float) -> str:
        return fmt_number(float(self.unit(yuan)))

    def money_se(self, mean_yuan: float, se_yuan: float) -> str:
        """``mean ± se`` in the money unit; the SE with enough decimals to show its first
        significant digit; the mean alone when the SE is 0 (a deterministic amount)."""
        m, s = float(self.unit(mean_yuan)), float(self.unit(se_yuan))
        if s == 0:
            return fmt_number(m)
        return f"{fmt_number(m)} ± {fmt_number(s, se_decimals(s, decimals_for(s)))}"

    def prob_se(self, p: float, se: float, decimals: int = 1) -> str:
        """``p ± se`` in percent (the SE with at least one significant digit; ``p`` alone when
        the SE is 0, i.e. every path agrees)."""
        if se == 0:
            return fmt_pct(p, decimals)
        return f"{fmt_pct(p, decimals)} ± {fmt_pct(se, se_decimals(100 * se, decimals))}"

    def pp_se(self, d: float, se: float, decimals: int = 1, pp: str = "pp") -> str:
        """A difference of probabilities in percentage points, signed: ``+5.0 pp ± 1.2 pp``."""
        text = f"{100 * d:+.{decimals}f} {pp}"
        if se == 0 or not math.isfinite(se):
            return text
        return f"{text} ± {100 * se:.{se_decimals(100 * se, decimals)}f} {pp}"

    def prob_est(self, p: float, se: float, decimals: int = 1) -> str:
        """A probability estimated on the run's paths: ``< 1/K`` or ``> 1 − 1/K`` when every
        path agrees (:func:`.precision.bounded_probability`), else :meth:`prob_se`."""
        from .precision import bounded_probability

        return bounded_probability(p, se, self.paths) or self.prob_se(p, se, decimals)


def cell_data(**kw: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        (k.replace("_", "-"), repr(v) if isinstance(v, float) else str(v)) for k, v in kw.items()
    )
