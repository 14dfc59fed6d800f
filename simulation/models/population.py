"""Who is insured, in which category, and when: the roster of people in need within a policy year.

RULES.md section 2 (seed 000). The roster is approved each year; its rural registered-poor part is
adjusted every quarter, taking effect on day ``verification_day`` of the quarter's first month:

- The **January** adjustment is the new year's approved roster: it is already in each cell's dated
  ``count`` (persons on the roster at the start of the year), so nothing happens in the year for it.
- The **April, July and October** adjustments (quarters 2, 3, 4) happen during the year, at
  ``t_q`` = the day of the year of that date, as a fraction of the year (calendar of ``year``;
  2019, day 10: 99/365, 190/365, 282/365).

For a cell of category ``c`` with count ``n`` at the start of the year and quarterly rates
``exit_rate[c] = e``, ``entry_rate[c] = i``, ``stay_needy[c] = p``, each quarter ``q``:

- **exits**: ``E_q`` persons, cumulative rounding of ``e n`` per quarter
  (``E_q = R(j e n) - R((j - 1) e n)``, ``j = q - 1``, ``R(x) = floor(x + 1/2)``), so the year's
  exits are ``R(3 e n)``. Of these ``S_q = R(p E_<=q) - R(p E_<q)`` still belong to a needy
  category: they move to ``stay_needy_category[c]`` at ``t_q`` and keep cover. The other
  ``E_q - S_q`` leave: they move to ``entrant_from`` (the non-needy category) at ``t_q`` and lose
  the cover of layers that do not cover it. Both were financed this year.
- **entrants**: ``I_q`` persons (cumulative rounding of ``i n``), in ``entrant_from`` before
  ``t_q`` and in ``c`` after: no retroactive cover. A fund covering only ``c`` receives their
  financing for this year in the next year (``financed_this_year`` False).
- the **stayers**, ``n - sum_q E_q``, are in ``c`` all year.

Cells without roster rates have only stayers. Persons of one cell with the same coverage timeline
are exchangeable: they form a :class:`Group`, keyed by a stable name built from the cell's name
only (``registered_poor_16_59_other/exit_q2/stay``), so the random streams of a group never move
when another cell changes. Groups with no persons are left out.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import FundsimError
from ..scenario.schema import Cell, Frequency, Roster, Scenario
from .frequency import cell_rate

__all__ = [
    "FinancedCount",
    "Group",
    "Segment",
    "cell_groups",
    "exposure",
    "financed_count",
    "group_expected_claims",
    "roster_groups",
    "sample_claim_times",
    "segment_expected_claims",
    "verification_times",
]

QUARTERS = (2, 3, 4)
"""The quarters with an in-year roster adjustment (April, July, October)."""


@dataclass(frozen=True)
class Segment:
    """A stretch ``[start, end)`` of the policy year (fractions in [0, 1]) spent in ``category``."""

    start: float
    end: float
    category: str

    @property
    def length(self) -> float:
        """Fraction of the year, i.e. person-years per person."""
        return self.end - self.start


@dataclass(frozen=True)
class Group:
    """``count`` exchangeable persons of cell ``cell`` sharing one coverage timeline.

    ``segments`` follow each other from 0 to 1. ``financed_this_year`` is False for entrants:
    a fund covering only their new category raises their financing for this year in the next year.
    """

    key: str
    cell: str
    count: int
    segments: tuple[Segment, ...]
    financed_this_year: bool = True

    @property
    def start_category(self) -> str:
        """The category at the start of the year."""
        return self.segments[0].category


def _round_half_up(x: float) -> int:
    """``floor(x + 1/2)``: shift-invariant, so cumulative rounding never gives a negative part."""
    return int(math.floor(x + 0.5))


def _quarterly(total_per_quarter: float) -> list[int]:
    """Whole persons per quarter 2, 3, 4 by cumulative rounding of ``j * total_per_quarter``."""
    cum = [_round_half_up(j * total_per_quarter) for j in range(len(QUARTERS) + 1)]
    return [cum[j + 1] - cum[j] for j in range(len(QUARTERS))]


def verification_times(year: int, verification_day: int) -> tuple[float, ...]:
    """Fractions of ``year`` at which the quarter 2, 3, 4 roster changes take effect:
    (days from January 1 to day ``verification_day`` of the quarter's first month, counted from
    that month's first day) / days in the year."""
    first = _dt.date(year, 1, 1)
    days = (_dt.date(year + 1, 1, 1) - first).days
    out = []
    for q in QUARTERS:
        when = _dt.date(year, 3 * (q - 1) + 1, 1) + _dt.timedelta(days=verification_day - 1)
        out.append((when - first).days / days)
    return tuple(out)


def _rate(rates: dict, category: str, year: int) -> float:
    d = rates.get(category)
    return 0.0 if d is None else float(d.at(year))


def cell_groups(
    name: str, cell: Cell, roster: Roster, year: int, times: tuple[float, ...] | None = None
) -> list[Group]:
    """The groups of one cell in ``year`` (see the module docstring for the rules)."""
    if times is None:
        times = verification_times(year, roster.verification_day)
    c = cell.category
    n = int(round(cell.count.at(year)))
    exits = _quarterly(_rate(roster.exit_rate, c, year) * n)
    entries = _quarterly(_rate(roster.entry_rate, c, year) * n)
    p = roster.stay_needy.get(c, 0.0)
    cum_exits = np.cumsum([0, *exits])
    cum_stay = [_round_half_up(p * e) for e in cum_exits]
    stays = [cum_stay[j + 1] - cum_stay[j] for j in range(len(QUARTERS))]
    stayers = n - sum(exits)
    if stayers < 0:
        raise FundsimError(
            f"population.roster.exit_rate.{c}: in {year}, 3 quarters of exits "
            f"({sum(exits)} persons) exceed cell {name!r}'s {n} persons at the start of the year"
        )
    groups = [Group(f"{name}/whole_year", name, stayers, (Segment(0.0, 1.0, c),), True)]
    other = roster.entrant_from or c  # the schema requires entrant_from with any rate
    for q, t, e, s, i in zip(QUARTERS, times, exits, stays, entries, strict=True):
        if s:
            target = roster.stay_needy_category[c]
            segs = (Segment(0.0, t, c), Segment(t, 1.0, target))
            groups.append(Group(f"{name}/exit_q{q}/stay", name, s, segs, True))
        if e - s:
            segs = (Segment(0.0, t, c), Segment(t, 1.0, other))
            groups.append(Group(f"{name}/exit_q{q}/leave", name, e - s, segs, True))
        if i:
            segs = (Segment(0.0, t, other), Segment(t, 1.0, c))
            groups.append(Group(f"{name}/entry_q{q}", name, i, segs, False))
    return [g for g in groups if g.count > 0]


def roster_groups(scenario: Scenario, year: int) -> list[Group]:
    """Every cell's groups in ``year``, cell by cell in the scenario's order."""
    roster = scenario.population.roster
    times = verification_times(year, roster.verification_day)
    out: list[Group] = []
    for name, cell in scenario.population.cells.items():
        out.extend(cell_groups(name, cell, roster, year, times))
    return out


def exposure(groups: Iterable[Group], categories: set[str] | frozenset[str]) -> float:
    """Person-years spent in ``categories``: ``sum over groups of count * length of its segments in
    them``."""
    return float(
        sum(g.count * s.length for g in groups for s in g.segments if s.category in categories)
    )


class FinancedCount(NamedTuple):
    """Persons a fund covering some categories is financed for in a year (per head, by tier)."""

    this_year: int
    """Persons whose category at the start of the year is covered (stayers and exits)."""
    next_year: int
    """Entrants into a covered category from one that is not: their financing for this year
    arrives in the next year (a receivable)."""


def financed_count(groups: Iterable[Group], categories: set[str] | frozenset[str]) -> FinancedCount:
    """:class:`FinancedCount` of a fund covering ``categories`` (see its fields)."""
    now = later = 0
    for g in groups:
        if g.start_category in categories:
            now += g.count
        elif not g.financed_this_year and any(s.category in categories for s in g.segments):
            later += g.count
    return FinancedCount(now, later)


def segment_expected_claims(
    group: Group, freq: Frequency, cell: Cell, start_year: int, year: int
) -> NDArray[np.float64]:
    """Expected claims per person in each segment: ``cell_rate(segment's category) * length``."""
    return np.array(
        [
            cell_rate(freq, s.category, cell.age_band, start_year, year) * s.length
            for s in group.segments
        ]
    )


def group_expected_claims(
    group: Group, freq: Frequency, cell: Cell, start_year: int, year: int
) -> float:
    """Expected claims of one person of the group in the year (claims scale with exposure):
    ``sum over segments of cell_rate(segment's category) * segment length``."""
    return float(segment_expected_claims(group, freq, cell, start_year, year).sum())


def sample_claim_times(
    rng: np.random.Generator, group: Group, seg_means: ArrayLike, n: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Times in the year (fractions in [0, 1)) of ``n`` claims of the group, and their segments.

    A claim falls in segment ``j`` with probability ``seg_means[j] / sum(seg_means)`` (by segment
    lengths if every mean is 0), uniformly within it. Draws: ``n`` uniforms for the segments, then
    ``n`` for the times.
    """
    w = np.asarray(seg_means, dtype=np.float64)
    if w.shape != (len(group.segments),):
        raise ValueError(
            f"expected one expected-claims value per segment ({len(group.segments)}), "
            f"found shape {w.shape}"
        )
    start = np.array([s.start for s in group.segments])
    end = np.array([s.end for s in group.segments])
    if not w.sum() > 0:
        w = end - start
    cum = np.cumsum(w)
    last = int(np.flatnonzero(w > 0)[-1])
    seg = np.minimum(np.searchsorted(cum, rng.random(int(n)) * cum[-1], side="right"), last)
    times = start[seg] + rng.random(int(n)) * (end[seg] - start[seg])
    return times, seg.astype(np.int64)
