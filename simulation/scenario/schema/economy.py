"""``[economy]``: the catastrophic-cost threshold and the economic series policy values may be
indexed to."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from ...params import Dated
from .base import DatedValue, FieldProblem, Fraction, Frozen, _dated_nonnegative, _year_or_meta


class Economy(Frozen):
    """Economic context: the catastrophic-cost threshold and the economic series that policy
    values may be indexed to."""

    series: dict[str, DatedValue | dict[str, DatedValue]] = {}
    """Economic series by name, yuan per person and year (e.g. per-capita disposable income),
    each a dated value, or a table of them by area (``disposable_income = { rural = {...}, urban =
    {...} }``, named ``disposable_income.rural``). A threshold, deductible or cap elsewhere may be
    written as ``{ share = 0.5, of = "disposable_income.rural", lag = 1 }``: that share of the
    series ``lag`` years before (default 1), resolved on load (:mod:`simulation.scenario.indexed`)."""

    @field_validator("series", mode="before")
    @classmethod
    def _series_dated(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        return {
            k: Dated.parse(v) if isinstance(v, dict) and any(_year_or_meta(x) for x in v) else v
            for k, v in raw.items()
        }

    @field_validator("series")
    @classmethod
    def _series_nonnegative(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name, d in v.items():
            for area, value in d.items() if isinstance(d, dict) else [(None, d)]:
                try:
                    _dated_nonnegative(value, "a series value")
                except FieldProblem as e:
                    sub = (name, *e.sub) if area is None else (name, area, *e.sub)
                    raise FieldProblem(e.message, sub) from None
        return v

    catastrophic_share: Fraction = 0.4
    """Out-of-pocket above this share of household income per person is catastrophic (WHO-style).
    Default 0.4: ASSUMPTION. RULES.md §1 and seeds 000 and 004 make the share of people with
    catastrophic out-of-pocket costs an output but give no threshold. 40% follows the WHO measure
    (Xu et al. 2003), which is 40% of *capacity to pay* (income net of subsistence spending);
    applied to whole income it is stricter and counts fewer people. The SDG 3.8.2 indicator uses
    10% and 25% of household consumption or income."""
