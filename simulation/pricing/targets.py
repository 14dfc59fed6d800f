"""What a pricing solve aims at: break-even, a target margin, or a bound on the loss probability.

A :class:`Target` is stated over the pricing horizon (the term): ``E[R] = 0``, ``E[R] = m * P``
(``P`` the premium in yuan; the expected claims paid for the cost-plus management rate), or
``P(R < 0) <= a``, ``R`` the insurer's net result in yuan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from ..errors import FundsimError


class TargetKind(StrEnum):
    """What a solve aims at, over the pricing horizon."""

    BREAK_EVEN = "break-even"  # E[R] = 0
    MARGIN = "margin"  # E[R] = m * P (premium), or m * E[S] for the management rate
    LOSS_PROBABILITY = "loss-prob"  # P(R < 0) <= a


@dataclass(frozen=True)
class Target:
    """A pricing target: ``Target.parse("margin:0.02")``, ``Target.loss_probability(0.1)``."""

    kind: TargetKind = TargetKind.BREAK_EVEN
    value: float = 0.0

    def __post_init__(self) -> None:
        kind = TargetKind(self.kind)
        object.__setattr__(self, "kind", kind)
        if not math.isfinite(self.value):
            raise FundsimError(f"target {kind.value}: value must be finite, found {self.value!r}")
        if kind is TargetKind.LOSS_PROBABILITY and not 0.0 < self.value < 1.0:
            raise FundsimError(
                f"target loss-prob: the probability of a loss must be in (0, 1), found {self.value:g}"
            )
        if kind is TargetKind.MARGIN and not -1.0 < self.value < 1.0:
            raise FundsimError(f"target margin: a margin must be in (-1, 1), found {self.value:g}")
        if kind is TargetKind.BREAK_EVEN and self.value != 0.0:
            raise FundsimError("target break-even takes no value")

    @classmethod
    def break_even(cls) -> Target:
        return cls(TargetKind.BREAK_EVEN)

    @classmethod
    def margin(cls, margin: float) -> Target:
        return cls(TargetKind.MARGIN, float(margin))

    @classmethod
    def loss_probability(cls, probability: float) -> Target:
        return cls(TargetKind.LOSS_PROBABILITY, float(probability))

    @classmethod
    def parse(cls, text: str) -> Target:
        """``break-even``, ``margin:0.02`` or ``loss-prob:0.1``."""
        name, _, value = str(text).strip().partition(":")
        allowed = "break-even, margin:M (e.g. margin:0.02) or loss-prob:A (e.g. loss-prob:0.1)"
        try:
            kind = TargetKind(name)
        except ValueError:
            raise FundsimError(f"unknown target {text!r}; expected {allowed}") from None
        if kind is TargetKind.BREAK_EVEN:
            if value:
                raise FundsimError(f"target {text!r}: break-even takes no value")
            return cls.break_even()
        try:
            number = float(value)
        except ValueError:
            raise FundsimError(f"target {text!r}: expected a number after ':'; {allowed}") from None
        return cls(kind, number)

    @property
    def is_mean(self) -> bool:
        return self.kind is not TargetKind.LOSS_PROBABILITY

    def __str__(self) -> str:
        return (
            self.kind.value
            if self.kind is TargetKind.BREAK_EVEN
            else f"{self.kind.value}:{self.value:g}"
        )


def _target(target: Target | str | None) -> Target:
    if target is None:
        return Target.break_even()
    return target if isinstance(target, Target) else Target.parse(target)


@dataclass(frozen=True)
class ReportTargets:
    """The pricing targets of the report's pricing table
    (:func:`~simulation.pricing.summary.pricing_summary`).

    ASSUMPTION: these are the report's illustrative targets, chosen to show how financing moves
    with the insurer's aims; they are not policy numbers (neither RULES.md nor the seeds state
    them). A tender's own targets are solved with ``fundsim price --target``.
    """

    margin: float = 0.02
    """Target expected margin, a fraction of premium over the term (2%): the table shows the
    financing per head for it, only when the contract's profit cap is above it (a capped result
    cannot reach a margin at or above the cap)."""
    loss_probability: float = 0.1
    """Highest probability of a loss over the term (10%): the table shows the financing per head
    at which ``P(loss)`` falls to it."""
    break_even_half_width_yuan: float = 0.1
    """Half-width of a 95% interval on break-even financing, yuan per head (0.1 yuan): the table
    shows how many paths reach it."""

    def __post_init__(self) -> None:
        Target.margin(self.margin)  # the same checks as a solve's target
        Target.loss_probability(self.loss_probability)
        if not (
            math.isfinite(self.break_even_half_width_yuan) and self.break_even_half_width_yuan > 0
        ):
            raise FundsimError(
                "report targets: the break-even half-width must be a positive number of yuan, "
                f"found {self.break_even_half_width_yuan!r}"
            )


REPORT_TARGETS = ReportTargets()
"""The report's default pricing targets: a 2% expected margin, a 10% probability of a loss, and
break-even financing to +-0.1 yuan per head (95%). See :class:`ReportTargets`."""
