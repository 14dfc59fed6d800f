"""How the rule cascade pays one category's persons, for the exact method.

:func:`category_plan` gives a fund's :class:`CategoryPlan` for a category (and rejects the cascades
the exact method does not support); :func:`claim_amounts` pushes claim costs through the
per-admission layers to the claim's tracked amount and :func:`person_payment` gives the fund's
payment on a person's annual sum of them, all in yuan, with the same steps as
:func:`simulation.rules.layers.apply_cascade`. "Module docstring" below means the package's,
:mod:`simulation.engine.exact` (model, order of steps, supported cascades).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ...errors import FundsimError
from ...rules.bands import banded_payment
from ...rules.layers import CompiledCascade, CompiledLayer, remaining_after
from ...scenario.schema import Base, Settlement


@dataclass(frozen=True)
class CategoryPlan:
    """How the cascade turns a person's claims into the fund's payment, for one category.

    Layer entries are indices in the compiled cascade. The tracked amount of a claim is, after the
    ``per_admission`` layers: the fund's own per-admission layer's payment (``target_per_admission``)
    or what is left of the claim's ``base`` for the ``annual`` layers.
    """

    per_admission: tuple[int, ...]
    """Per-admission layers applied to each claim, in order, before the tracked amount."""
    target_per_admission: int | None
    """The fund's per-admission layer, if that is how the fund pays this category."""
    annual: tuple[int, ...]
    """Annual cumulative layers applied to the person's annual sum, in cascade order."""
    base: Base
    claim_types: tuple[int, ...]
    """Claim types (indices in CLAIM_TYPES) whose tracked amounts add up."""
    capped: tuple[int, ...]
    """Layers in ``per_admission`` with a finite annual cap, applied per claim (error bounded)."""


def category_plan(cc: CompiledCascade, fund: str, category: int) -> CategoryPlan | None:
    """The :class:`CategoryPlan` of ``fund`` for the category with code ``category``; ``None`` when
    no layer of the fund covers it. Raises :class:`FundsimError` for cascades the exact method
    does not support (module docstring)."""
    funds = cc.fund_of_layer
    if fund not in funds:
        raise FundsimError(
            f"fund {fund!r} pays no layer of the cascade; funds: {', '.join(dict.fromkeys(funds))}"
        )
    cat = cc.categories[category]
    last = max(j for j, f in enumerate(funds) if f == fund)
    relevant = [j for j in range(last + 1) if cc.layers[j].covered[category]]
    target = [j for j in relevant if funds[j] == fund]
    if not target:
        return None

    def name(j: int) -> str:
        return repr(cc.layer_names[j])

    burden = [j for j in relevant if cc.layers[j].burden > 0.0]
    if burden:
        raise FundsimError(
            f"exact method: layer {name(burden[0])} has eligibility by burden (a test on the "
            "person's household income), which the exact method does not model yet: use method "
            "'full'"
        )
    annual = [j for j in relevant if cc.layers[j].settlement is Settlement.ANNUAL_CUMULATIVE]
    per_adm = [j for j in relevant if cc.layers[j].settlement is Settlement.PER_ADMISSION]
    late = [j for j in per_adm if annual and j > annual[0]]
    if late:
        raise FundsimError(
            f"exact method: layer {name(late[0])} settles per admission after the annual cumulative "
            f"layer {name(annual[0])} (category {cat!r}); the exact method needs every "
            "per-admission layer before the annual cumulative ones"
        )

    def finite_caps(layers: Sequence[int]) -> tuple[int, ...]:
        return tuple(
            j
            for j in layers
            if np.isfinite(cc.layers[j].cap[category]) and cc.layers[j].ratio[category].any()
        )

    target_pa = [j for j in target if j in per_adm]
    if target_pa:
        if len(target) > 1:
            raise FundsimError(
                f"exact method: fund {fund!r} pays category {cat!r} through layers "
                f"{', '.join(name(j) for j in target)}, one of them per admission; it needs a single "
                "per-admission layer or annual cumulative layers only"
            )
        t = target_pa[0]
        before = tuple(j for j in per_adm if j != t)
        layer = cc.layers[t]
        return CategoryPlan(
            per_admission=before,
            target_per_admission=t,
            annual=(),
            base=layer.base,
            claim_types=tuple(int(i) for i in np.flatnonzero(layer.claim_types)),
            capped=finite_caps(before),
        )
    first = cc.layers[annual[0]]
    for j in annual:
        layer = cc.layers[j]
        if layer.base is not first.base:
            raise FundsimError(
                f"exact method: annual cumulative layers {name(annual[0])} and {name(j)} pay on "
                f"different bases ({first.base.value}, {layer.base.value}); the exact method "
                "needs one base for them"
            )
        if not np.array_equal(layer.claim_types, first.claim_types):
            raise FundsimError(
                f"exact method: annual cumulative layers {name(annual[0])} and {name(j)} cover "
                "different claim types; the exact method needs the same claim types for them"
            )
        for arr in (layer.lower, layer.upper, layer.ratio):
            if not np.all(arr[category] == arr[category, :1]):
                raise FundsimError(
                    f"exact method: the annual cumulative layer {name(j)} has a schedule that "
                    f"depends on the hospital level (category {cat!r}); not supported"
                )
    return CategoryPlan(
        per_admission=tuple(per_adm),
        target_per_admission=None,
        annual=tuple(annual),
        base=first.base,
        claim_types=tuple(int(i) for i in np.flatnonzero(first.claim_types)),
        capped=finite_caps(per_adm),
    )


def _base_amount(base: Base, in_rem: NDArray, out_rem: NDArray) -> NDArray:
    if base is Base.IN_POLICY:
        return in_rem
    if base is Base.OUT_OF_POLICY:
        return out_rem
    return in_rem + out_rem


def _per_claim_payment(layer: CompiledLayer, c: int, level: int, x: NDArray) -> NDArray:
    """A per-admission layer's payment on claim bases ``x`` before its annual cap, yuan:
    ``clip(B(x), 0, x)`` with the category's and level's schedule."""
    b = banded_payment(x, layer.lower[c, level], layer.upper[c, level], layer.ratio[c, level])
    return np.clip(b, 0.0, x)


def claim_amounts(
    cc: CompiledCascade,
    plan: CategoryPlan,
    c: int,
    claim_type: int,
    level: int,
    cost: NDArray,
    share: float,
) -> tuple[NDArray, dict[int, NDArray]]:
    """The tracked amount of claims of total cost ``cost`` (yuan) and in-policy share ``share``,
    and the payments per claim ``V = min(paid, cap)`` of the ``plan.capped`` layers, yuan.

    Steps as :func:`simulation.rules.layers.apply_cascade` for one claim: in-policy remaining
    ``s X``, out-of-policy remaining ``(1 - s) X``; each per-admission layer covering the claim type
    pays on its base and reduces what is left.
    """
    in_rem = share * cost
    out_rem = (1.0 - share) * cost
    capped: dict[int, NDArray] = {}
    for j in plan.per_admission:
        layer = cc.layers[j]
        if not layer.claim_types[claim_type]:
            continue
        paid = _per_claim_payment(layer, c, level, _base_amount(layer.base, in_rem, out_rem))
        if j in plan.capped:
            paid = np.minimum(paid, layer.cap[c])  # exact for a person's only claim
            capped[j] = paid
        in_rem, out_rem = remaining_after(layer.base, paid, in_rem, out_rem)
    if plan.target_per_admission is not None:
        layer = cc.layers[plan.target_per_admission]
        tracked = _per_claim_payment(layer, c, level, _base_amount(layer.base, in_rem, out_rem))
    else:
        tracked = _base_amount(plan.base, in_rem, out_rem)
    return tracked, capped


def person_payment(
    cc: CompiledCascade, plan: CategoryPlan, c: int, fund: str, annual_sum: NDArray
) -> NDArray:
    """The fund's payment to a person whose tracked amounts add up to ``annual_sum`` (yuan).

    Annual layers in order: ``paid_k = min(B_k(remaining), cap_k)``, ``remaining -= paid_k``; the
    fund's payment is the sum of its layers' ``paid_k``. With the fund's per-admission layer:
    ``min(annual_sum, cap)``.
    """
    if plan.target_per_admission is not None:
        return np.minimum(annual_sum, cc.layers[plan.target_per_admission].cap[c])
    remaining = np.asarray(annual_sum, dtype=np.float64)
    paid_by_fund = np.zeros_like(remaining)
    for j in plan.annual:
        layer = cc.layers[j]
        b = banded_payment(
            remaining, layer.lower[c, 0], layer.upper[c, 0], layer.ratio[c, 0], layer.cap[c]
        )
        b = np.clip(b, 0.0, remaining)
        if layer.fund == fund:
            paid_by_fund += b
        remaining = remaining - b
    return paid_by_fund
