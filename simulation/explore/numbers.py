"""The explorer's one-year headline numbers per fund, by the exact method, and their cache.

For a scenario and its first policy year, per fund: the premium raised (the engine's plan: roster
groups times the financing in force), and from the exact law of the fund's claims
(:func:`~simulation.engine.exact.exact_claims_distribution`) the contract measures of
:func:`~simulation.engine.exact.exact_contract_measures`: expected claims, expected insurer result
(after its operating cost), probability of an insurer loss, expected clawback, probability of a
deficit. The share of people with catastrophic out-of-pocket costs is not given by the exact
method (it needs each person's out-of-pocket against income): the explorer says so.

Cache: a fund's claims law depends only on the people, the illness costs and the layers up to the
fund's last layer in the cascade; not on financing, contracts, labels or later layers. Its key is
that part of the scenario (:func:`claims_key`), so moving a financing or contract lever settles
the cached law again (milliseconds) and moving a layer recomputes only the funds it reaches.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..engine.exact import ExactDistribution, exact_claims_distribution, exact_contract_measures
from ..engine.plan import build_plan
from ..errors import FundsimError
from ..scenario.schema import ContractKind, Scenario

MEASURES = (
    ("premium", "premium", "yuan"),
    ("expected_claims", "expected claims", "yuan"),
    ("expected_insurer_result_net", "insurer result (after operating cost)", "yuan"),
    ("p_insurer_loss", "P(insurer loss)", "probability"),
    ("expected_clawback", "expected clawback", "yuan"),
    ("p_deficit", "P(claims > premium)", "probability"),
)
"""(key, label, unit) of the headline measures, in the order shown."""

INSURER_ONLY = {"expected_insurer_result_net", "p_insurer_loss", "expected_clawback"}
"""Measures that exist only for a fund run by an insurer (contract kind not ``none``)."""

CATASTROPHIC_NOTE = (
    "share of people with catastrophic out-of-pocket cost: not given by the exact method (it needs "
    "each person's out-of-pocket against income); it arrives with the fast method"
)


@dataclass(frozen=True)
class FundNumbers:
    """One fund's headline numbers for one year (``values`` keyed as :data:`MEASURES`; a measure
    that does not apply is absent), or the reason the exact method could not give them."""

    fund: str
    label: str
    year: int
    values: dict[str, float] = field(default_factory=dict)
    error: str = ""
    notes: tuple[str, ...] = ()


def claims_key(scenario: Scenario, fund: str) -> str:
    """What fund ``fund``'s one-year claims law depends on, as text (the cache key): the scenario
    without names, labels, financing or contracts, with the cascade cut after the fund's last layer."""
    data = scenario.model_dump(mode="json", by_alias=True)
    order = [n for n in scenario.cascade]
    last = max(i for i, n in enumerate(order) if scenario.layers[n].fund == fund)
    kept = order[: last + 1]
    data["layers"] = {n: data["layers"][n] for n in kept}
    data["cascade"] = kept
    for k in ("name", "title", "description", "cashflow", "horizon_years"):
        data.pop(k, None)
    data["funds"] = sorted(data["funds"])
    data["fund"] = fund
    return json.dumps(data, sort_keys=True, default=str)


class ExactCache:
    """Exact claims laws by :func:`claims_key` (the last ``size`` kept)."""

    def __init__(self, size: int = 32, **exact_options: Any) -> None:
        self.size = size
        self.options = exact_options
        self._laws: OrderedDict[str, ExactDistribution | FundsimError] = OrderedDict()
        self._measures: OrderedDict[tuple, dict[str, float]] = OrderedDict()
        self.computed = 0
        """How many laws were computed (not found in the cache)."""

    def measures(
        self, scenario: Scenario, fund: str, year: int, premium: float
    ) -> tuple[dict[str, float], ExactDistribution]:
        """:func:`exact_contract_measures` of the fund's law at ``premium`` under its contract
        (cached: a lever of one fund leaves the others' measures as they were)."""
        law_key = f"{year}:{claims_key(scenario, fund)}"
        law = self._law(law_key, scenario, fund, year)
        contract = scenario.funds[fund].contract
        key = (law_key, float(premium), contract.model_dump_json())
        if key not in self._measures:
            self._measures[key] = exact_contract_measures(law, premium, contract)
            while len(self._measures) > 4 * self.size:
                self._measures.popitem(last=False)
        return self._measures[key], law

    def law(self, scenario: Scenario, fund: str, year: int) -> ExactDistribution:
        """The exact law of ``fund``'s claims in ``year`` (cached by :func:`claims_key`)."""
        return self._law(f"{year}:{claims_key(scenario, fund)}", scenario, fund, year)

    def _law(self, key: str, scenario: Scenario, fund: str, year: int) -> ExactDistribution:
        if key not in self._laws:
            self.computed += 1
            try:
                self._laws[key] = exact_claims_distribution(scenario, fund, year, **self.options)
            except FundsimError as e:  # the method cannot handle this cascade: say so, per fund
                self._laws[key] = e
            while len(self._laws) > self.size:
                self._laws.popitem(last=False)
        self._laws.move_to_end(key)
        found = self._laws[key]
        if isinstance(found, FundsimError):
            raise found
        return found


def headline(scenario: Scenario, cache: ExactCache | None = None) -> list[FundNumbers]:
    """The headline numbers of every fund of ``scenario`` in its start year (module docstring)."""
    cache = cache if cache is not None else ExactCache()
    year = scenario.start_year
    plan_year = build_plan(scenario, 1).years[0]
    out = []
    for fname, fund in scenario.funds.items():
        premium = float(plan_year.premium[fname])
        try:
            measures, law = cache.measures(scenario, fname, year, premium)
        except FundsimError as e:
            out.append(FundNumbers(fname, fund.label, year, {"premium": premium}, error=str(e)))
            continue
        insurer = ContractKind(fund.contract.kind) is not ContractKind.NONE
        values = {
            key: float(measures[key])
            for key, _label, _unit in MEASURES
            if key in measures and (insurer or key not in INSURER_ONLY)
        }
        out.append(FundNumbers(fname, fund.label, year, values, notes=tuple(law.notes)))
    return out
