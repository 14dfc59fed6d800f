"""The whole fit of a claims table and its exposure table: frequency and severity for each claim
type (:func:`fit_claims`, :class:`FitResult`). Rates per person-year, costs in base-year yuan."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..claims_data import person_year_counts, with_age_bands
from ..errors import ClaimsDataError
from ..scenario.schema import CLAIM_TYPES
from .frequency import FrequencyFit, fit_frequency
from .settings import TailMode
from .severity import SeverityFit, fit_severity


@dataclass(frozen=True)
class ClaimTypeFit:
    claim_type: str
    frequency: FrequencyFit
    severity: SeverityFit


@dataclass(frozen=True)
class FitResult:
    """Everything fitted from a claims table and its exposure table."""

    claim_types: dict[str, ClaimTypeFit]
    base_year: int
    years: tuple[int, ...]
    claims_source: str = ""
    exposure_source: str = ""
    n_claims: int = 0


def fit_claims(
    claims: pd.DataFrame,
    exposure: pd.DataFrame,
    *,
    base_year: int | None = None,
    severity_trend: float | None = None,
    tail: TailMode = "auto",
    tail_quantile: float | None = None,
) -> FitResult:
    """Fit frequency and severity for every claim type in ``claims`` (see :mod:`simulation.fit`).

    ``claims`` from :func:`~simulation.claims_data.read_claims`, ``exposure`` from
    :func:`~simulation.claims_data.read_exposure`. ``base_year`` (default: the first year of the
    exposure table) is the year the fitted rates and costs refer to. ``severity_trend`` fixes the
    yearly cost growth instead of estimating it.
    """
    if "age_band" not in claims.columns:
        claims = with_age_bands(claims, exposure)
    years = tuple(sorted(int(y) for y in exposure["year"].unique()))
    base = years[0] if base_year is None else int(base_year)
    out: dict[str, ClaimTypeFit] = {}
    for ct in CLAIM_TYPES:
        sub = claims[claims["claim_type"] == ct.value]
        if sub.empty:
            continue
        sub.attrs.update(claims.attrs)
        counts = person_year_counts(sub, exposure)
        freq = fit_frequency(counts, ct.value, base)
        sev = fit_severity(
            sub, ct.value, base, trend=severity_trend, tail=tail, tail_quantile=tail_quantile
        )
        out[ct.value] = ClaimTypeFit(ct.value, freq, sev)
    if not out:
        raise ClaimsDataError(f"{claims.attrs.get('path', 'claims table')}: no claims to fit")
    return FitResult(
        out,
        base,
        years,
        claims.attrs.get("path", ""),
        exposure.attrs.get("path", ""),
        len(claims),
    )
