"""``[funds.NAME]``: the funds, their financing per head and the contract that runs each."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from ...params import Dated
from .base import (
    _LAX,
    MAX_PER_HEAD_YUAN,
    MAX_YUAN,
    DatedValue,
    FieldProblem,
    Fraction,
    Frozen,
    Yuan,
    _dated_items,
    _dated_nonnegative,
    _parse_dated,
    _year_or_meta,
    number_text,
)


class ContractKind(StrEnum):
    """The contract between government and the insurer that runs a fund (RULES.md section 3)."""

    CAPPED_PROFIT = "capped_profit"  # premium-based; result capped at a rate of premium (000)
    COST_PLUS = "cost_plus"  # management cost and profit a rate of claims paid (001)
    CORRIDOR = "corridor"  # capped profit plus a loss corridor shared with the fund
    NONE = "none"  # a public fund with no insurer (basic insurance, medical assistance)


class Contract(Frozen):
    """The contract under which an insurer runs a fund (RULES.md section 3)."""

    kind: Annotated[ContractKind, _LAX] = ContractKind.CAPPED_PROFIT
    profit_cap_rate: Fraction = 0.03
    """Capped profit: the insurer's result incl. operating cost is at most this share of premium.
    Default 0.03: RULES.md §3 and §5, seed 000 III ("controlled within 3% of the total amount of
    funds raised in that year")."""
    management_rate: Fraction = 0.03
    """Cost-plus: management cost and profit as a share of claims paid, paid by finance.
    Default 0.03: RULES.md §3 and §5, seed 001 IV(3) ("generally controlled within 3% of the total
    actual compensation funds ... in that year ... borne by the municipal finance")."""
    loss_band_rate: Fraction = 0.05
    """Corridor: the insurer bears losses up to this share of premium ...
    Default 0.05: ASSUMPTION, the placeholder of RULES.md §5 ("not found in any source": insurer
    bears losses up to 5% of premium); no seed has a loss-corridor clause (RULES.md §3)."""
    excess_insurer_share: Fraction = 0.5
    """... and this share of the loss beyond it; the fund bears the rest.
    Default 0.5: ASSUMPTION, the placeholder of RULES.md §5 (the excess split 50/50 with the
    fund); not in any seed."""
    operating_cost_fixed_yuan: Yuan = 0.0
    """Insurer's operating cost per year, yuan (inside its margin)."""
    operating_cost_rate: Fraction = 0.0
    """Insurer's operating cost as a share of claims paid."""
    term_years: Annotated[int, Field(ge=1)] = 3
    """Contract term, years. Default 3: seed 001 IV(3) ("not less than 3 years in principle"),
    RULES.md §3 and §5 (contract practice: 3 years)."""
    settlement: Literal["annual", "term"] = "annual"


class Fund(Frozen):
    """A fund: its financing per head and the contract that runs it."""

    label: str
    financing_per_head: DatedValue | dict[str, DatedValue]
    """Yuan per insured person-year; a table by tier for differentiated financing."""
    contract: Contract = Contract(kind=ContractKind.NONE)
    opening_balance_yuan: Annotated[float, Field(ge=-MAX_YUAN, le=MAX_YUAN)] = 0.0
    label_zh: str | None = None
    """The label in Chinese reports (``--lang zh``); the label when absent."""
    balance_note: str | None = None
    """What this fund's balance (financing minus claims) means, shown with its figures in the
    report (e.g. a basic fund whose roster is cross-subsidised: a deficit is the subsidy the
    roster receives, not a shortfall)."""
    balance_note_zh: str | None = None
    """The balance note in Chinese reports."""

    @field_validator("financing_per_head", mode="before")
    @classmethod
    def _years_are_dated(cls, raw: Any) -> Any:
        """A table with a year, ``growth`` or ``source`` key is a dated value, never a tier table."""
        if isinstance(raw, dict) and any(_year_or_meta(k) for k in raw):
            return _parse_dated(raw)
        return raw

    @field_validator("financing_per_head")
    @classmethod
    def _fin(cls, v: Dated | dict[str, Dated]) -> Dated | dict[str, Dated]:
        if isinstance(v, dict) and not v:
            raise ValueError(
                "expected an amount in yuan per head or a table of tiers like "
                "{tier1 = 130, tier2 = 110}, found an empty table"
            )
        items = v.items() if isinstance(v, dict) else [(None, v)]
        for tier, d in items:
            try:
                _dated_nonnegative(d, "a financing per head")
                for sub, x in _dated_items(d):
                    if x > MAX_PER_HEAD_YUAN:
                        raise FieldProblem(
                            f"expected a financing per head of at most {MAX_PER_HEAD_YUAN:,.0f} "
                            f"yuan, found {number_text(x)}",
                            sub,
                        )
            except FieldProblem as e:
                raise FieldProblem(e.message, e.sub if tier is None else (tier, *e.sub)) from None
        return v
