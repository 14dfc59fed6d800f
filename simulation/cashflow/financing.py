"""The deterministic money of a fund's policy years, from the run plan: the financing transfers
and the roster updates (the financing rules are in :mod:`.simulate`'s docstring).

Everything here is read off the plan (:class:`~simulation.engine.plan.YearPlan`: the premium, the
financing per head by tier and the categories each fund covers under the year's rules): no
scenario is resolved again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine.plan import RunPlan, YearPlan, financing_per_head
from .account import Flow, RosterUpdate, ScheduledFinancing
from .config import CashflowConfig
from .timing import DAYS_PER_YEAR, transfer_time


@dataclass(frozen=True)
class FinancingYear:
    """The deterministic money of one fund in one policy year (yuan)."""

    year: int
    index: int
    premium: float
    """Funds raised for the year (the plan's premium: ``base + late``)."""
    base: float
    """Persons covered at the start of the year x this year's financing per head."""
    late: float
    """Financing of last year's entrants, received this year."""
    schedule: tuple[ScheduledFinancing, ...]
    roster: tuple[RosterUpdate, ...]


def _roster_updates(
    yp: YearPlan, index: int, fund: str, cats: tuple[str, ...]
) -> tuple[RosterUpdate, ...]:
    """Entrants and exits of the fund's cover at the segment boundaries (the quarterly updates)."""
    covered = yp.covered[fund]
    by_time: dict[float, list[float]] = {}
    for g in yp.groups:
        cov = np.array([cats[c] in covered for c in g.seg_category])
        financed_late = (not cov[0]) and cov[-1]
        accrued = False
        for k in range(1, len(cov)):
            if cov[k] == cov[k - 1]:
                continue
            t = DAYS_PER_YEAR * (index + float(g.seg_start[k]))
            slot = by_time.setdefault(t, [0.0, 0.0, 0.0])
            if cov[k]:
                slot[0] += g.count
                if financed_late and not accrued:
                    slot[2] += g.count * yp.financing[fund][g.tier]
                    accrued = True
            else:
                slot[1] += g.count
    return tuple(
        RosterUpdate(time=t, year=yp.year, entrants=v[0], exits=v[1], receivable=v[2])
        for t, v in sorted(by_time.items())
    )


def fund_financing(plan: RunPlan, fund: str, config: CashflowConfig) -> tuple[FinancingYear, ...]:
    """Each policy year's financing transfers and roster updates for ``fund`` (the rules in
    :mod:`.simulate`'s docstring)."""
    out = []
    base_prev: float | None = None
    for index, yp in enumerate(plan.years):
        covered = yp.covered[fund]
        base = 0.0
        for g in yp.groups:
            if plan.categories[g.start_category] in covered:
                base += g.count * yp.financing[fund][g.tier]
        premium = float(yp.premium[fund])
        late = premium - base
        last = base if base_prev is None else base_prev
        schedule = [
            ScheduledFinancing(
                transfer_time(index, i.day), Flow.PRE_ALLOCATION, i.share * last, yp.year
            )
            for i in config.pre_allocation
        ]
        advanced = math.fsum(s.amount for s in schedule)
        schedule.append(
            ScheduledFinancing(
                transfer_time(index, config.true_up_day), Flow.TRUE_UP, base - advanced, yp.year
            )
        )
        schedule.append(
            ScheduledFinancing(
                transfer_time(index, config.entrant_financing_day),
                Flow.ENTRANT_FINANCING,
                late,
                yp.year,
            )
        )
        out.append(
            FinancingYear(
                year=yp.year,
                index=index,
                premium=premium,
                base=base,
                late=late,
                schedule=tuple(s for s in schedule if s.amount != 0.0),
                roster=_roster_updates(yp, index, fund, plan.categories),
            )
        )
        base_prev = base
    return tuple(out)


__all__ = ["FinancingYear", "financing_per_head", "fund_financing"]
