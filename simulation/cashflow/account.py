"""The discrete-event model (SimPy) of one fund's special account over consecutive policy years.

Three parties hold money: the fund's special **account** (run by the insurer), the **finance**
bureau (source of the financing, receiver of the clawback) and the **providers** (hospitals and
patients, who receive the claim payments). Every change of money is a :class:`Transfer` of a
non-negative amount from one party to another, so the parties' total never changes: money is
conserved at every event by construction, and :attr:`AccountRun.ledger` lets a test check it.

Processes, each a SimPy generator on the shared :class:`simpy.Environment` (time in days, see
:mod:`.timing`):

1. **financing**: the pre-allocation installments, the true-up after the roster is approved and the
   late financing of last year's entrants, on their days (midday);
2. **roster updates**: at each quarterly verification date, entrants and exits; an entrant's
   financing becomes a receivable (no money moves until the next year's entrant financing);
3. **claim payments**: for each policy year, the day's payments to providers as one batch (end of
   the day);
4. **settlement**: at the end of the settlement month of the next year, the contract
   (:func:`simulation.rules.contract.settle_year`) on the year's premium and the claims known then
   (``basis``): the clawback goes to finance, the fund's share of a loss comes from finance, and
   in a year with a rule change in force, the policy-change subsidy comes from finance (the part of
   the loss the change caused: :func:`simulation.rules.contract.policy_change_subsidy`, on the
   same basis shifted by the change's effect on the year's claims). The cost-plus management
   payment is not a flow of this account.

Order of same-time events: payments are booked at whole days and transfers at half days, so they
never coincide; the settlement at the end of its month comes after that day's payments.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd
import simpy

from ..rules.contract import settle_paths
from ..scenario.schema import Contract, ContractKind


class Party(StrEnum):
    ACCOUNT = "account"
    FINANCE = "finance"
    PROVIDERS = "providers"


class Flow(StrEnum):
    """What a transfer is for."""

    PRE_ALLOCATION = "pre_allocation"
    TRUE_UP = "true_up"
    ENTRANT_FINANCING = "entrant_financing"
    CLAIMS = "claims"
    CLAWBACK = "clawback"
    LOSS_SHARE = "fund_loss_share"
    SUBSIDY = "policy_change_subsidy"


FINANCING_FLOWS = (Flow.PRE_ALLOCATION, Flow.TRUE_UP, Flow.ENTRANT_FINANCING)


@dataclass(frozen=True)
class Transfer:
    """``amount`` yuan (>= 0) moved from ``source`` to ``target`` at ``time`` (days)."""

    time: float
    flow: Flow
    source: Party
    target: Party
    amount: float
    year: int
    """The policy year the money belongs to (calendar year)."""
    account_after: float
    """The account's balance after the transfer, yuan."""


@dataclass(frozen=True)
class ScheduledFinancing:
    """A financing transfer of ``amount`` yuan into the account at ``time`` (negative: a refund)."""

    time: float
    flow: Flow
    amount: float
    year: int


@dataclass(frozen=True)
class RosterUpdate:
    """Roster changes taking effect at ``time`` for the fund: persons gaining and losing cover,
    and the financing owed for the entrants (yuan, received next year)."""

    time: float
    year: int
    entrants: float
    exits: float
    receivable: float


@dataclass(frozen=True)
class ClaimPayments:
    """The fund's payments for the claims of one policy year: end-of-day times and amounts."""

    year: int
    paid: np.ndarray
    amount: np.ndarray


@dataclass(frozen=True)
class SettlementTerms:
    """What the year-end settlement of one policy year needs."""

    year: int
    time: float
    premium: float
    """Funds raised for the year, yuan (the contract's P)."""
    unpaid_estimate: float = 0.0
    """Estimated claims of the year not yet paid at ``time`` (0 on the paid basis), yuan."""
    change_effect: float | None = None
    """With a rule change in force in the year: the year's claims under the rules before it minus
    under the rules in force (the engine's, on the same admissions), yuan; else None."""


@dataclass(frozen=True)
class Settlement:
    year: int
    time: float
    paid: float
    """Claims of the policy year paid by the settlement time, yuan (from the ledger)."""
    claims_basis: float
    """Claims the settlement was computed on: ``paid + unpaid_estimate``."""
    clawback: float
    fund_loss_share: float
    subsidy: float = 0.0
    """Policy-change subsidy received from finance, yuan."""


@dataclass
class Account:
    """The account and its counterparties; the only way money moves is :meth:`transfer`."""

    env: simpy.Environment
    opening_balance: float
    opening_receivable: float = 0.0
    balances: dict[Party, float] = field(init=False)
    receivable: float = field(init=False)
    ledger: list[Transfer] = field(default_factory=list, init=False)
    paid_by_year: dict[int, float] = field(default_factory=dict, init=False)
    roster_log: list[tuple[float, int, float, float, float, float]] = field(
        default_factory=list, init=False
    )

    def __post_init__(self) -> None:
        self.balances = {
            Party.ACCOUNT: self.opening_balance,
            Party.FINANCE: 0.0,
            Party.PROVIDERS: 0.0,
        }
        self.receivable = self.opening_receivable

    def transfer(self, flow: Flow, source: Party, target: Party, amount: float, year: int) -> None:
        """Move ``amount`` yuan (>= 0) from ``source`` to ``target`` now."""
        if not amount >= 0.0:
            raise ValueError(f"a transfer moves a non-negative amount, found {amount!r} ({flow})")
        self.balances[source] -= amount
        self.balances[target] += amount
        if flow is Flow.CLAIMS:
            self.paid_by_year[year] = self.paid_by_year.get(year, 0.0) + amount
        self.ledger.append(
            Transfer(self.env.now, flow, source, target, amount, year, self.balances[Party.ACCOUNT])
        )

    def receive(self, flow: Flow, amount: float, year: int) -> None:
        """Financing ``amount`` yuan from finance into the account (negative: a refund to finance)."""
        if amount >= 0:
            self.transfer(flow, Party.FINANCE, Party.ACCOUNT, amount, year)
        else:
            self.transfer(flow, Party.ACCOUNT, Party.FINANCE, -amount, year)


def _until(time: float, env: simpy.Environment) -> float:
    """Delay from now to ``time`` (days); a time a rounding error in the past means now."""
    return max(time - env.now, 0.0)


def financing_process(
    env: simpy.Environment, account: Account, schedule: Sequence[ScheduledFinancing]
) -> Generator[simpy.Event, None, None]:
    """Financing transfers on their days; the entrant financing settles the receivable."""
    for item in sorted(schedule, key=lambda s: s.time):
        yield env.timeout(_until(item.time, env))
        account.receive(item.flow, item.amount, item.year)
        if item.flow is Flow.ENTRANT_FINANCING:
            account.receivable -= item.amount


def roster_process(
    env: simpy.Environment, account: Account, updates: Sequence[RosterUpdate]
) -> Generator[simpy.Event, None, None]:
    """Quarterly roster updates: entrants' financing accrues as a receivable (no money moves)."""
    for u in sorted(updates, key=lambda u: u.time):
        yield env.timeout(_until(u.time, env))
        account.receivable += u.receivable
        account.roster_log.append(
            (env.now, u.year, u.entrants, u.exits, u.receivable, account.receivable)
        )


def claims_process(
    env: simpy.Environment, account: Account, payments: ClaimPayments
) -> Generator[simpy.Event, None, None]:
    """The day's claim payments of one policy year, paid to providers in one batch per day."""
    if payments.amount.size == 0:
        return
    order = np.argsort(payments.paid, kind="stable")
    days, first = np.unique(payments.paid[order], return_index=True)
    sums = np.add.reduceat(payments.amount[order], first)
    for day, amount in zip(days.tolist(), sums.tolist(), strict=True):
        yield env.timeout(_until(day, env))
        account.transfer(Flow.CLAIMS, Party.ACCOUNT, Party.PROVIDERS, amount, payments.year)


def settlement_process(
    env: simpy.Environment,
    account: Account,
    contract: Contract,
    terms: SettlementTerms,
    out: list[Settlement],
) -> Generator[simpy.Event, None, None]:
    """The year-end settlement of ``terms.year`` at ``terms.time`` on paid (+ estimated) claims."""
    yield env.timeout(_until(terms.time, env))
    # after the payments booked at this same instant: SimPy runs same-time events in the order
    # they were scheduled, and this one was scheduled first, at the start; a zero delay puts it
    # behind every event already waiting for this instant
    yield env.timeout(0.0)
    paid = account.paid_by_year.get(terms.year, 0.0)
    basis = paid + terms.unpaid_estimate
    clawback = loss_share = subsidy = 0.0
    if ContractKind(contract.kind) is not ContractKind.NONE:
        old = None if terms.change_effect is None else max(basis + terms.change_effect, 0.0)
        s = settle_paths(
            contract.model_copy(update={"settlement": "annual"}),
            np.array([[terms.premium]]),
            np.array([[basis]]),
            None if old is None else np.array([[old]]),
        )
        clawback, loss_share = float(s["clawback"][0, 0]), float(s["fund_loss_share"][0, 0])
        subsidy = float(s["subsidy"][0, 0])
    if clawback > 0:
        account.transfer(Flow.CLAWBACK, Party.ACCOUNT, Party.FINANCE, clawback, terms.year)
    if loss_share > 0:
        account.transfer(Flow.LOSS_SHARE, Party.FINANCE, Party.ACCOUNT, loss_share, terms.year)
    if subsidy > 0:
        account.transfer(Flow.SUBSIDY, Party.FINANCE, Party.ACCOUNT, subsidy, terms.year)
    out.append(Settlement(terms.year, env.now, paid, basis, clawback, loss_share, subsidy))


@dataclass(frozen=True)
class AccountRun:
    """What one path of the account model produced."""

    ledger: pd.DataFrame
    """One row per transfer: time, flow, source, target, amount, year, account_after."""
    settlements: tuple[Settlement, ...]
    roster: pd.DataFrame
    """One row per roster update: time, year, entrants, exits, receivable_accrued, receivable."""
    opening_balance: float
    opening_receivable: float
    closing_receivable: float


LEDGER_COLUMNS = ["time", "flow", "source", "target", "amount", "year", "account_after"]


def simulate_account(
    opening_balance: float,
    contract: Contract,
    financing: Sequence[ScheduledFinancing],
    payments: Sequence[ClaimPayments],
    settlements: Sequence[SettlementTerms],
    roster: Sequence[RosterUpdate] = (),
    opening_receivable: float = 0.0,
) -> AccountRun:
    """Run the account model of one path to the last event (every claim paid)."""
    env = simpy.Environment()
    account = Account(env, opening_balance, opening_receivable)
    settled: list[Settlement] = []
    env.process(financing_process(env, account, financing))
    env.process(roster_process(env, account, roster))
    for p in payments:
        env.process(claims_process(env, account, p))
    for terms in settlements:
        env.process(settlement_process(env, account, contract, terms, settled))
    env.run()
    ledger = pd.DataFrame(
        [
            (
                t.time,
                t.flow.value,
                t.source.value,
                t.target.value,
                t.amount,
                t.year,
                t.account_after,
            )
            for t in account.ledger
        ],
        columns=LEDGER_COLUMNS,
    )
    log = pd.DataFrame(
        account.roster_log,
        columns=["time", "year", "entrants", "exits", "receivable_accrued", "receivable"],
    )
    total = sum(account.balances.values())
    if not math.isclose(total, opening_balance, rel_tol=1e-9, abs_tol=1e-3):  # pragma: no cover
        raise AssertionError(
            f"money not conserved: parties hold {total!r}, opened with {opening_balance!r}"
        )
    return AccountRun(
        ledger=ledger,
        settlements=tuple(sorted(settled, key=lambda s: s.year)),
        roster=log,
        opening_balance=opening_balance,
        opening_receivable=opening_receivable,
        closing_receivable=account.receivable,
    )


__all__ = [
    "FINANCING_FLOWS",
    "Account",
    "AccountRun",
    "ClaimPayments",
    "Flow",
    "Party",
    "RosterUpdate",
    "ScheduledFinancing",
    "Settlement",
    "SettlementTerms",
    "Transfer",
    "simulate_account",
]
