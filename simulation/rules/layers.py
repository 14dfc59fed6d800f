"""The layers of cover as data, and the cascade that runs a year's admissions through them.

RULES.md section 1: a person's medical cost passes through the layers in the scenario's
``cascade`` order (insurance before assistance); each layer pays part of what the layers before it
left. This module is the single source of truth for those rules; any faster kernel is tested
against :func:`apply_cascade`.

Order of steps for one layer ``j`` (vectorised over all admissions; loops only over layers and
bands):

1. **Eligibility.** An admission is eligible if its category is in the layer's ``covers`` and its
   claim type in ``claim_types``. An ineligible admission gets nothing from the layer and does not
   count in the layer's year-to-date base.
2. **Base** ``x_i`` of admission ``i`` (yuan), from what is still unpaid: ``in_policy`` -> in-policy
   remaining; ``out_of_policy`` -> out-of-policy remaining; ``total`` -> their sum. Initially the
   in-policy remaining is ``in_policy`` and the out-of-policy remaining ``total - in_policy``.
3. **Payment** with the admission's schedule ``B`` (its category and hospital level; see
   :func:`~simulation.rules.bands.banded_payment`; here without the cap) and annual cap ``cap``.
   First the uncapped amount ``u_i``:

   - per admission: ``u_i = B(x_i)``: each admission's base alone goes through the schedule;
   - annual cumulative: ``u_i = B(S_i) - B(S_{i-1})`` with ``S_i`` the person's year-to-date base
     up to and including ``i`` (eligible admissions only, ``S_0 = 0``), so the deductible counts
     once and a person's ``u`` add up to ``B(annual base)``.

   Then the annual cap on the person's cumulative payments of the layer: with ``C_i`` the
   cumulative ``u`` up to and including ``i``, ``p_i = min(C_i, cap) - min(C_{i-1}, cap)``. For
   annual cumulative settlement this is ``p_i = min(B(S_i), cap) - min(B(S_{i-1}), cap)``, i.e.
   the capped ``B`` of the year-to-date base, and a person's payments add up to
   ``min(B(annual base), cap)``.

   Grouped (per-person) cumulative sums are a global ``cumsum`` minus its value before each
   person's first admission. ``p_i`` is then clipped to ``[0, x_i]`` (differences of floats can be
   off by an ulp).
4. **Remaining.** ``in_policy`` base: in-policy remaining -= ``p_i``; ``out_of_policy``:
   out-of-policy remaining -= ``p_i``; ``total``: the payment reduces in-policy remaining first,
   then out-of-policy.

Out-of-pocket (OOP) of an admission = in-policy + out-of-policy remaining after the last layer, so
``sum of payments + OOP = total cost`` for every admission (to rounding, far below a cent).

A person's category is expected to be constant within a year. If it changes (roster entries and
exits), each admission is paid with its own category's schedule and cap, applied to the person's
year-to-date amounts (payments stay non-negative; the cap of the admission's category bounds the
cumulative payments up to it). Likewise, with ``by_level`` schedules under annual cumulative
settlement each admission's ``u_i`` uses its own hospital level's schedule; the cap still holds on
the cumulative payments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ClaimsDataError, ParameterError
from ..scenario.schema import (
    CLAIM_TYPES,
    LEVELS,
    Base,
    Layer,
    Preferential,
    Scenario,
    Settlement,
)
from .admissions import Admissions, readonly
from .runs import grouped_cummin, grouped_cumsum, run_flags, run_starts

# --------------------------------------------------------------------------- compiled layers


@dataclass(frozen=True)
class CompiledLayer:
    """One layer resolved for one year: every rule as numeric arrays, ready for a kernel.

    - ``covered[c]``: category code ``c`` is covered (bool, ``(n_categories,)``);
    - ``claim_types[t]``: claim type code ``t`` is covered (bool, ``(len(CLAIM_TYPES),)``);
    - ``lower``, ``upper``, ``ratio``: band schedule by category, hospital level and band, shape
      ``(n_categories, len(LEVELS), n_bands)``; boundaries in yuan of the layer's base, the last
      real band's ``upper`` is ``np.inf``; unused bands are padded with ``lower = upper = 0`` and
      ``ratio = 0`` (they pay nothing). Already shifted to the deductible in force and with the
      preferential terms applied;
    - ``cap[c]``: annual cap by category, yuan (``np.inf`` for none).

    An uncovered category has ratio 0 and cap 0 everywhere (and ``covered`` False: it also does not
    count in the year-to-date base).
    """

    name: str
    fund: str
    base: Base
    settlement: Settlement
    covered: NDArray[np.bool_]
    claim_types: NDArray[np.bool_]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    ratio: NDArray[np.float64]
    cap: NDArray[np.float64]
    label: str = ""
    burden: float = 0.0
    """Eligibility by burden: the share of household income the year-to-date base must exceed
    before the layer pays (:class:`~simulation.scenario.schema.Burden`); 0 for no burden test."""

    @property
    def n_bands(self) -> int:
        return int(self.lower.shape[-1])


@dataclass(frozen=True)
class CompiledCascade:
    """All layers of a scenario resolved for one year, in cascade (payment) order."""

    layers: tuple[CompiledLayer, ...]
    categories: tuple[str, ...]
    """Category names; an admission's category code indexes this tuple."""
    layer_names: tuple[str, ...]
    fund_of_layer: tuple[str, ...]
    """The fund paying each layer, in layer order."""
    year: int


def _layer_n_bands(layer: Layer) -> int:
    return len(layer.bands) if layer.bands else 1


def _at(value, year: int, layer_name: str, key: str) -> float:
    try:
        return float(value.at(year))
    except ParameterError as e:
        raise ParameterError(f"layer {layer_name!r}, {key}: {e}") from None


def _schedule_for(
    layer: Layer, layer_name: str, pref: Preferential | None, year: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One category's schedule ``(lower, upper, ratio)``, each ``(len(LEVELS), n_bands)``.

    Banded layer: deductible in force ``d0`` = the dated ``deductible`` at ``year``, else
    ``bands[0].from``; for a preferential category ``d = pref.deductible`` if given, else
    ``d0 * threshold_multiplier``. Every boundary moves by ``d - bands[0].from`` (widths kept).
    ``by_level`` layer: per level one band from ``d_level`` (same preferential rule) to infinity.
    Ratios: ``clip(ratio + ratio_addon, 0, 1)``.
    """
    multiplier = pref.threshold_multiplier if pref is not None else 1.0
    addon = pref.ratio_addon if pref is not None else 0.0
    fixed = (
        _at(pref.deductible, year, layer_name, "preferential deductible")
        if pref is not None and pref.deductible is not None
        else None
    )

    def deductible(d_ordinary: float) -> float:
        return float(fixed) if fixed is not None else d_ordinary * multiplier

    n_levels = len(LEVELS)
    if layer.bands:
        starts = np.array([b.from_yuan for b in layer.bands], dtype=np.float64)
        ratios = np.array([b.ratio for b in layer.bands], dtype=np.float64)
        d0 = (
            _at(layer.deductible, year, layer_name, "deductible")
            if layer.deductible is not None
            else starts[0]
        )
        shift = deductible(d0) - starts[0]
        lower = starts + shift
        upper = np.append(starts[1:] + shift, np.inf)
        ratio = _adjusted_ratio(ratios, addon)
        return (
            np.tile(lower, (n_levels, 1)),
            np.tile(upper, (n_levels, 1)),
            np.tile(ratio, (n_levels, 1)),
        )
    lower = np.array([[deductible(layer.by_level[lv].deductible)] for lv in LEVELS])
    upper = np.full((n_levels, 1), np.inf)
    ratio = np.array([[layer.by_level[lv].ratio] for lv in LEVELS], dtype=np.float64)
    return lower, upper, _adjusted_ratio(ratio, addon)


def _adjusted_ratio(ratio: np.ndarray, addon: float) -> np.ndarray:
    """``clip(ratio + addon, 0, 1)``, rounded to 12 decimals so 0.8 + 0.05 is 0.85 (no 1e-16 noise)."""
    return np.round(np.clip(ratio + addon, 0.0, 1.0), 12)


def compile_layer(
    name: str, layer: Layer, categories: tuple[str, ...], year: int, n_bands: int | None = None
) -> CompiledLayer:
    """Resolve one scenario layer for ``year`` into a :class:`CompiledLayer`.

    ``n_bands`` pads the schedule to that many bands (default: the layer's own count).
    """
    own = _layer_n_bands(layer)
    n_bands = own if n_bands is None else n_bands
    if n_bands < own:
        raise ValueError(f"layer {name!r} has {own} bands, more than n_bands={n_bands}")
    n_cat, n_lev = len(categories), len(LEVELS)
    covers_all = "all" in layer.covers
    covered = np.array([covers_all or c in layer.covers for c in categories], dtype=bool)
    claim_types = np.array([ct in layer.claim_types for ct in CLAIM_TYPES], dtype=bool)
    lower = np.zeros((n_cat, n_lev, n_bands))
    upper = np.zeros((n_cat, n_lev, n_bands))
    ratio = np.zeros((n_cat, n_lev, n_bands))
    cap = np.zeros(n_cat)
    cap_ordinary = (
        _at(layer.annual_cap, year, name, "annual_cap") if layer.annual_cap is not None else np.inf
    )
    for c, cat in enumerate(categories):
        if not covered[c]:
            continue
        pref = layer.preferential.get(cat)
        lo, hi, r = _schedule_for(layer, name, pref, year)
        lower[c, :, :own], upper[c, :, :own], ratio[c, :, :own] = lo, hi, r
        cap[c] = np.inf if (pref is not None and pref.cap_removed) else cap_ordinary
    return CompiledLayer(
        name=name,
        fund=layer.fund,
        base=Base(layer.base),
        settlement=Settlement(layer.settlement),
        covered=readonly(covered),
        claim_types=readonly(claim_types),
        lower=readonly(lower),
        upper=readonly(upper),
        ratio=readonly(ratio),
        cap=readonly(cap),
        label=layer.label,
        burden=float(layer.burden.share) if layer.burden is not None else 0.0,
    )


def compile_cascade(scenario: Scenario, year: int) -> CompiledCascade:
    """The scenario's layers resolved for ``year``, in ``scenario.cascade`` order.

    Dated deductibles and caps are looked up with ``.at(year)`` (a year before a value's first
    date is a :class:`~simulation.errors.ParameterError`). Rule changes (``scenario.changes``) are
    not applied here: pass the scenario already resolved for the year. All layers share one band
    count (the largest), shorter schedules padded with zero-width bands.
    """
    categories = tuple(scenario.categories)
    n_bands = max(_layer_n_bands(scenario.layers[name]) for name in scenario.cascade)
    layers = tuple(
        compile_layer(name, scenario.layers[name], categories, year, n_bands)
        for name in scenario.cascade
    )
    return CompiledCascade(
        layers=layers,
        categories=categories,
        layer_names=tuple(layer.name for layer in layers),
        fund_of_layer=tuple(layer.fund for layer in layers),
        year=int(year),
    )


# --------------------------------------------------------------------------- the cascade


@dataclass(frozen=True)
class CascadeResult:
    """What each layer paid for each admission, and what was left to the person.

    - ``paid``: ``(n_admissions, n_layers)`` yuan, columns in cascade order;
    - ``oop``: ``(n_admissions,)`` out-of-pocket yuan, so ``paid.sum(1) + oop == total``;
    - ``person``: the admissions' person ids (to group by person);
    - ``layer_names``, ``fund_of_layer``: the columns' layers and the funds paying them.
    """

    paid: NDArray[np.float64]
    oop: NDArray[np.float64]
    person: NDArray[np.int64]
    layer_names: tuple[str, ...] = field(default=())
    fund_of_layer: tuple[str, ...] = field(default=())

    def per_person(self) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """``(persons, paid_by_person (n_persons, n_layers), oop_by_person (n_persons,))``, yuan.

        Sums over each person's contiguous run of admissions (``np.add.reduceat``).
        """
        if self.person.size == 0:
            n_layers = self.paid.shape[1]
            return self.person.copy(), np.zeros((0, n_layers)), np.zeros(0)
        starts = run_starts(self.person)
        return (
            self.person[starts],
            np.add.reduceat(self.paid, starts, axis=0),
            np.add.reduceat(self.oop, starts),
        )

    def by_fund(
        self, fund_names: tuple[str, ...] | list[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Payments per admission by fund, yuan: the sum of the columns of each fund's layers.

        ``fund_names`` defaults to the funds of the cascade in first-layer order.
        """
        known = list(dict.fromkeys(self.fund_of_layer))
        names = known if fund_names is None else list(fund_names)
        out = {}
        for name in names:
            cols = [j for j, f in enumerate(self.fund_of_layer) if f == name]
            if not cols:
                raise ValueError(f"fund {name!r} pays no layer of this cascade; funds: {known}")
            out[name] = self.paid[:, cols].sum(axis=1)
        return out


def _gather_schedule(layer: CompiledLayer, flat: np.ndarray) -> list[tuple]:
    """Each admission's bands ``(lower, width, ratio)``, one tuple per band that pays anything
    (``flat`` = category * n_levels + level). A band the same for every covered category and
    level is kept as scalars (an uncovered category's admissions have base 0 and pay 0 whatever
    their schedule, see :func:`apply_cascade`)."""
    n_bands = layer.n_bands
    width = layer.upper - layer.lower
    out = []
    for k in range(n_bands):
        if not layer.ratio[layer.covered, :, k].any():
            continue
        band: list[np.ndarray | np.float64] = []
        for table in (layer.lower, width, layer.ratio):
            col = table[:, :, k]
            used = col[layer.covered]
            if np.all(used == used.flat[0]):
                band.append(used.flat[0])
            else:
                band.append(np.take(np.ascontiguousarray(col).ravel(), flat))
        out.append(tuple(band))
    return out


def _uncapped_payment(bands: list[tuple], x: np.ndarray) -> np.ndarray:
    """Uncapped ``B(x) = sum_k ratio_k * clip(x - lower_k, 0, width_k)`` per admission, yuan.

    The formula of :func:`~simulation.rules.bands.band_share`, computed in place to save memory
    traffic on millions of admissions.
    """
    total = np.zeros(x.shape[0])
    amount = np.empty(x.shape[0])
    for lower, width, ratio in bands:
        np.subtract(x, lower, out=amount)
        np.maximum(amount, 0.0, out=amount)
        np.minimum(amount, width, out=amount)
        np.multiply(amount, ratio, out=amount)
        total += amount
    return total


def remaining_after(
    base: Base, p: np.ndarray, in_rem: np.ndarray, out_rem: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The remaining in- and out-of-policy amounts after paying ``p`` on ``base`` (step 4;
    ``total`` pays in-policy first). The exact method's cascade uses it too."""
    if base is Base.IN_POLICY:
        return in_rem - p, out_rem
    if base is Base.OUT_OF_POLICY:
        return in_rem, out_rem - p
    from_in = np.minimum(p, in_rem)
    return in_rem - from_in, np.maximum(out_rem - (p - from_in), 0.0)


def _burden_payment(
    layer: CompiledLayer,
    bands: list[tuple],
    eligible: np.ndarray,
    x: np.ndarray,
    s_incl: np.ndarray,
    income: np.ndarray,
    cap: np.ndarray,
    starts: np.ndarray,
    run_id: np.ndarray,
) -> np.ndarray:
    """Payments of a layer with eligibility by burden (schema ``Burden``), yuan per admission.

    Target ``t_i = min(B(S_i), cap)`` for an eligible admission with ``S_i > burden * income``,
    else 0, and ``M_i = max_{k<=i} t_k`` (the person's running largest: the same as ``t_i`` when the
    category is constant in the year); the person's payments up to ``i`` are ``P_i = min(M_i,
    P_{i-1} + x_i)`` (``P_0 = 0``: at most what each admission left), in closed form ``P_i = X_i +
    min(0, min_{k<=i} (M_k - X_k))`` with ``X`` the year-to-date ``x``; admission ``i`` is paid
    ``P_i - P_{i-1}``, clipped to ``[0, x_i]``.
    """
    b = _uncapped_payment(bands, s_incl)
    passed = eligible & (s_incl > layer.burden * income)
    target = -grouped_cummin(-np.minimum(np.where(passed, b, 0.0), cap), run_id)
    big_x, _ = grouped_cumsum(x, starts, run_id)
    p_incl = big_x + np.minimum(grouped_cummin(target - big_x, run_id), 0.0)
    p_excl = np.empty_like(p_incl)
    if p_incl.size:
        p_excl[1:] = p_incl[:-1]
        p_excl[starts] = 0.0
    return np.clip(p_incl - p_excl, 0.0, x)


def apply_cascade(
    cc: CompiledCascade, adm: Admissions, income: ArrayLike | None = None
) -> CascadeResult:
    """Run a year's admissions through the layers of ``cc`` (see the module docstring for the order
    of steps). Vectorised over admissions: loops only over layers and bands.

    ``income``: each admission's person's household income, yuan a year (one value per admission,
    the same for a person's admissions); needed by a layer with eligibility by burden, whose
    schedule counts as ``B'(S) = B(S) if S > burden * income else 0`` on the year-to-date base
    ``S`` (so ``u_i = B'(S_i) - B'(S_{i-1})``). Without it no person passes a burden test.

    ``adm`` must be sorted by person (:meth:`Admissions.validate` checks it); category codes must
    index ``cc.categories``.
    """
    n = len(adm)
    n_layers = len(cc.layers)
    if n and (adm.category.min() < 0 or adm.category.max() >= len(cc.categories)):
        bad = adm.category[(adm.category < 0) | (adm.category >= len(cc.categories))][0]
        raise ClaimsDataError(
            f"category code {bad} is not in 0..{len(cc.categories) - 1} "
            f"({', '.join(f'{i}={c}' for i, c in enumerate(cc.categories))})"
        )
    category = adm.category.astype(np.intp)
    claim_type = adm.claim_type.astype(np.intp)
    flat = category * len(LEVELS) + adm.level.astype(np.intp)
    is_start = run_flags(adm.person)
    starts = np.flatnonzero(is_start)
    run_id = np.cumsum(is_start) - 1

    inc = np.full(n, np.inf) if income is None else np.asarray(income, dtype=np.float64).reshape(n)
    in_rem = adm.in_policy.copy()
    out_rem = np.maximum(adm.total - adm.in_policy, 0.0)
    paid = np.zeros((n, n_layers))
    for j, layer in enumerate(cc.layers):
        eligible = layer.covered[category] & layer.claim_types[claim_type]
        if not eligible.any():
            continue
        if layer.base is Base.IN_POLICY:
            x = in_rem
        elif layer.base is Base.OUT_OF_POLICY:
            x = out_rem
        else:
            x = in_rem + out_rem
        x = np.where(eligible, x, 0.0)
        cap = layer.cap[category]
        bands = _gather_schedule(layer, flat)
        if layer.settlement is Settlement.PER_ADMISSION:
            u = _uncapped_payment(bands, x)
        else:
            s_incl, s_excl = grouped_cumsum(x, starts, run_id)
            if layer.burden > 0.0:
                p = _burden_payment(layer, bands, eligible, x, s_incl, inc, cap, starts, run_id)
                p = np.where(eligible, p, 0.0)
                paid[:, j] = p
                in_rem, out_rem = remaining_after(layer.base, p, in_rem, out_rem)
                continue
            u = _uncapped_payment(bands, s_incl) - _uncapped_payment(bands, s_excl)
        c_incl, c_excl = grouped_cumsum(u, starts, run_id)
        p = np.minimum(c_incl, cap) - np.minimum(c_excl, cap)
        p = np.where(eligible, np.clip(p, 0.0, x), 0.0)
        paid[:, j] = p
        in_rem, out_rem = remaining_after(layer.base, p, in_rem, out_rem)
    return CascadeResult(
        paid=paid,
        oop=in_rem + out_rem,
        person=adm.person,
        layer_names=cc.layer_names,
        fund_of_layer=cc.fund_of_layer,
    )
