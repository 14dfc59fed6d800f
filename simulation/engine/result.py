"""The result of a run: per-path measures as tidy DataFrames and the summary table.

Conventions: money in yuan; ``insurer_result`` is the insurer's result after clawback and subsidy,
including its operating cost in its margin (what the 3% cap applies to); ``insurer_result_net`` is
the same net of operating cost. A loss is a negative result. VaR and TVaR at 99.5% are stated as
positive losses: ``var_995 = -q_0.005(result)``, ``tvar_995 = -E[result | result <= q_0.005]``.
Every mean comes with its Monte Carlo standard error ``<name>_se`` (sd / sqrt(paths); for a
probability sqrt(p (1 - p) / paths)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .measures import MEASURES
from .streams import BLOCK_PATHS

if TYPE_CHECKING:
    from .factors import FactorPaths
    from .plan import RunPlan

FUND_MEASURES = (
    "premium",
    "claims",
    "claims_old",
    "surplus",
    "balance",
    "insurer_result",
    "insurer_result_net",
    "clawback",
    "subsidy",
    "operating_cost",
    "management_payment",
    "fund_loss_share",
    "insurer_cumulative",
    "finance_account",
)
POPULATION_MEASURES = tuple(m.name for m in MEASURES if not m.dims)
"""The population's measures (one number per path and year; :data:`~.measures.MEASURES`)."""
QUANTILES = (0.05, 0.5, 0.95, 0.995)


def _qname(q: float) -> str:
    return "q" + f"{q:.3f}".split(".")[1].rstrip("0").ljust(2, "0")


@dataclass
class RunInfo:
    """How a run was made: its seed, paths and years, the block size that keys its streams, the
    runner and its timings (seconds)."""

    seed: int
    paths: int
    years: int
    block_paths: int = BLOCK_PATHS
    timings: dict[str, float] = field(default_factory=dict)
    runner: str = "in-process"


def _factor_design(features: np.ndarray | None, k: int) -> np.ndarray | None:
    """The regression design on the factors ``features`` ``(paths, p)``: standardised, duplicates
    dropped; with at least 10 paths per term their squares, then their products; None when there
    is nothing to regress on."""
    if features is None or features.shape[1] == 0 or k < 3:
        return None
    x = features[:, features.std(axis=0) > 0]
    if x.shape[1] == 0:
        return None
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    # the same factor may appear twice (a claim type's mean multiplier and its named factor)
    x = x[:, np.sort(np.unique(np.round(x, 12), axis=1, return_index=True)[1])]
    p = x.shape[1]
    if k >= 10 * (p * (p + 3) // 2 + 1):
        i, j = np.triu_indices(p)
        x = np.hstack([x, x[:, i] * x[:, j]])
    elif k >= 10 * (2 * p + 1):
        x = np.hstack([x, x * x])
    return x


def _split(values: np.ndarray, x: np.ndarray | None) -> tuple[float, float, np.ndarray | None]:
    """``(systematic, process, fitted)``: least squares of ``values`` on ``[1, x]``; process = the
    residual variance with ``paths - terms`` degrees of freedom, systematic = total - process."""
    k = values.shape[0]
    total = float(values.var(ddof=1)) if k > 1 else 0.0
    if x is None or k <= x.shape[1] + 2:
        return 0.0, total, None
    design = np.hstack([np.ones((k, 1)), x])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    fitted = design @ coef
    resid = values - fitted
    process = float(resid @ resid / (k - design.shape[1]))
    return max(total - process, 0.0), min(process, total), fitted


def variance_split(values: np.ndarray, features: np.ndarray | None) -> tuple[float, float]:
    """``(systematic, process)`` parts of the variance of ``values`` (one per path), by the law of
    total variance ``Var S = Var E[S | F] + E Var(S | F)``, with ``E[S | F]`` estimated by least
    squares on the factors ``features`` ``(paths, p)`` (the logarithms of the combined multipliers
    and the events; with at least 10 paths per term, their squares, then their products):
    process = the residual variance with ``paths - terms`` degrees of freedom, systematic = total -
    process (at least 0). No factors: all process. An estimate: a part of ``E[S | F]`` the terms
    miss is counted as process.
    """
    sys_v, proc_v, _ = _split(values, _factor_design(features, values.shape[0]))
    return sys_v, proc_v


HINGES = 6
"""Knots (at quantiles of the claims' conditional mean) of :func:`result_variance_split`."""


def result_variance_split(
    values: np.ndarray, claims: list[np.ndarray], features: list[np.ndarray | None]
) -> tuple[float, float]:
    """``(systematic, process)`` parts of the variance of the insurer's result ``values`` (one per
    path) in year ``y``, ``claims[t]`` and ``features[t]`` the fund's claims and factors of the
    years ``t <= y`` (year ``y`` last). The result is a kinked function of the claims (a profit
    cap, a loss corridor), so ``E[R | F]`` is not smooth in the factors: it is estimated through
    the claims' conditional means ``m_t(F)`` (:func:`variance_split`'s least squares, smooth in
    ``F``) as least squares on ``[1, m_y, (m_y - c_j)+ for knots c_j at the quantiles j / (HINGES
    + 1) of m_y, m_t for t < y, the year-y factor design]`` (a single-index spline: exact for a
    one-year contract when the claims' process law does not change with ``F``); process = the
    residual variance with ``paths - terms`` degrees of freedom. Falls back to
    :func:`variance_split` on every year's factors when the claims' means cannot be fitted."""
    k = values.shape[0]
    means = []
    for c, f in zip(claims, features, strict=True):
        _, _, fitted = _split(c, _factor_design(f, k))
        means.append(fitted)
    if means[-1] is None or means[-1].std() == 0:
        both = [f for f in features if f is not None]
        return variance_split(values, np.hstack(both) if both else None)
    m = means[-1]
    scale = m.std()
    z = (m - m.mean()) / scale
    knots = np.quantile(z, np.arange(1, HINGES + 1) / (HINGES + 1))
    cols = [z[:, None], np.maximum(z[:, None] - knots[None, :], 0.0)]
    cols += [
        ((v - v.mean()) / v.std())[:, None] for v in means[:-1] if v is not None and v.std() > 0
    ]
    own = _factor_design(features[-1], k)
    if own is not None and k >= 10 * (own.shape[1] + HINGES + len(cols)):
        cols.append(own)
    x = np.hstack(cols)
    x = x[:, np.sort(np.unique(np.round(x, 12), axis=1, return_index=True)[1])]
    sys_v, proc_v, _ = _split(values, x)
    return sys_v, proc_v


@dataclass(frozen=True)
class SimulationResult:
    plan: RunPlan
    sims: dict[str, np.ndarray]
    """Raw per-path aggregates from the blocks, shape (paths, years, width)."""
    money: dict[str, np.ndarray]
    """Per-path fund flows after the contracts, shape (paths, years, funds)."""
    info: RunInfo
    factors: FactorPaths | None = None
    """The systematic factors of every path (None when systematic risk is off)."""

    @property
    def n_paths(self) -> int:
        return self.sims["fund_claims"].shape[0]

    @property
    def years(self) -> list[int]:
        return self.plan.year_labels

    def catastrophic_share(self) -> np.ndarray:
        """Share of the population with catastrophic out-of-pocket cost, (paths, years)."""
        pop = np.array([y.population for y in self.plan.years], dtype=float)
        return self.sims["catastrophic"][:, :, 0] / np.maximum(pop, 1.0)

    @property
    def paths(self) -> pd.DataFrame:
        """One row per path, year and fund: every fund measure plus the population measures."""
        paths, n_years, nf = self.money["claims"].shape
        idx = pd.MultiIndex.from_product(
            [range(paths), self.years, self.plan.funds], names=["path", "year", "fund"]
        )
        cols: dict[str, Any] = {m: self.money[m].reshape(-1) for m in FUND_MEASURES}
        cols["beneficiaries"] = self.sims["fund_beneficiaries"].reshape(-1)
        for m in POPULATION_MEASURES:
            cols[m] = np.repeat(self.sims[m][:, :, 0].reshape(-1), nf)
        cols["catastrophic_share"] = np.repeat(self.catastrophic_share().reshape(-1), nf)
        if self.factors is not None:
            for name, v in self.factors.columns().items():
                cols[name] = np.repeat(v.reshape(-1), nf)
        return pd.DataFrame(cols, index=idx).reset_index()

    @property
    def layers(self) -> pd.DataFrame:
        """Claims paid by each layer: path, year, layer, fund, claims (yuan)."""
        a = self.sims["layer_claims"]
        paths, n_years, nl = a.shape
        idx = pd.MultiIndex.from_product(
            [range(paths), self.years, self.plan.layers], names=["path", "year", "layer"]
        )
        df = pd.DataFrame({"claims": a.reshape(-1)}, index=idx).reset_index()
        fund_of = dict(
            zip(self.plan.layers, (self.plan.funds[i] for i in self.plan.layer_fund), strict=True)
        )
        df["fund"] = df["layer"].map(fund_of)
        return df

    @property
    def categories(self) -> pd.DataFrame:
        """By category (at the start of the year): claims paid by all layers, claimants, catastrophic."""
        paths, n_years, nc = self.sims["category_claims"].shape
        idx = pd.MultiIndex.from_product(
            [range(paths), self.years, self.plan.categories], names=["path", "year", "category"]
        )
        return pd.DataFrame(
            {
                "claims": self.sims["category_claims"].reshape(-1),
                "claimants": self.sims["category_claimants"].reshape(-1),
                "catastrophic": self.sims["category_catastrophic"].reshape(-1),
            },
            index=idx,
        ).reset_index()

    def summary(self) -> pd.DataFrame:
        """One row per fund and year: means with standard errors, quantiles, probabilities, risk."""
        k = self.n_paths
        rows = []
        cat_share = self.catastrophic_share()
        fcols = self.factors.columns() if self.factors is not None else {}
        # the reduced form: the combined multipliers (logs) and the events (level effects)
        flog = {
            n: (v if n.startswith("event_") else np.log(np.maximum(v, 1e-300)))
            for n, v in fcols.items()
            if n.startswith(("frequency_multiplier_", "cost_multiplier_", "event_"))
        }
        for y, year in enumerate(self.years):
            for f, fund in enumerate(self.plan.funds):
                row: dict[str, Any] = {"fund": fund, "year": year, "paths": k}

                def mean(name: str, values: np.ndarray, row: dict[str, Any] = row) -> None:
                    row[f"{name}_mean"] = float(values.mean())
                    row[f"{name}_se"] = (
                        float(values.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan")
                    )

                def prob(name: str, event: np.ndarray, row: dict[str, Any] = row) -> None:
                    p = float(event.mean())
                    row[name] = p
                    row[f"{name}_se"] = float(np.sqrt(p * (1 - p) / k))

                for m in FUND_MEASURES:
                    mean(m, self.money[m][:, y, f])
                claims = self.money["claims"][:, y, f]
                result = self.money["insurer_result"][:, y, f]
                row["claims_sd"] = float(claims.std(ddof=1)) if k > 1 else 0.0
                for q in QUANTILES:
                    row[f"claims_{_qname(q)}"] = float(np.quantile(claims, q))
                    row[f"insurer_result_{_qname(q)}"] = float(np.quantile(result, q))
                row["insurer_result_sd"] = float(result.std(ddof=1)) if k > 1 else 0.0
                # law of total variance: this year's factors for claims, the term's so far for
                # the insurer's result
                years_f = [
                    np.stack([v[:, t] for v in flog.values()], 1) if flog else None
                    for t in range(y + 1)
                ]
                past = [self.money["claims"][:, t, f] for t in range(y + 1)]
                splits = {
                    "claims": variance_split(claims, years_f[-1]),
                    "insurer_result": result_variance_split(result, past, years_f),
                }
                for name, (sys_v, proc_v) in splits.items():
                    row[f"{name}_var_systematic"] = sys_v
                    row[f"{name}_var_process"] = proc_v
                    tot = sys_v + proc_v
                    row[f"{name}_systematic_share"] = sys_v / tot if tot > 0 else 0.0
                prob("p_deficit", self.money["surplus"][:, y, f] < 0)
                prob("p_insurer_loss", self.money["insurer_result_net"][:, y, f] < 0)
                q005 = float(np.quantile(result, 0.005))
                row["var_995"] = -q005
                tail = result[result <= q005]
                row["tvar_995"] = -float(tail.mean()) if tail.size else -q005
                mean("beneficiaries", self.sims["fund_beneficiaries"][:, y, f])
                mean("catastrophic_share", cat_share[:, y])
                mean("catastrophic_count", self.sims["catastrophic"][:, y, 0])
                rows.append(row)
        return pd.DataFrame(rows)


def summary_records(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """The summary as JSON-ready records (NaN as None)."""
    records = summary.to_dict("records")
    return [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        for r in records
    ]


def save_result(result: SimulationResult, out: str | Path, **manifest_fields: Any) -> Path:
    """Write summary.json, summary.csv, paths.parquet, layers.csv, categories.csv and manifest.json
    into ``out`` atomically (all or nothing)."""
    import json

    from ..outputs import atomic_dir, manifest

    summary = result.summary()
    resolved = result.plan.scenario.model_dump(mode="json", by_alias=True)
    with atomic_dir(out) as tmp:
        (tmp / "summary.json").write_text(
            json.dumps(summary_records(summary), indent=1, ensure_ascii=False), encoding="utf-8"
        )
        summary.to_csv(tmp / "summary.csv", index=False)
        result.paths.to_parquet(tmp / "paths.parquet", index=False)
        layers = result.layers.groupby(["year", "layer", "fund"], as_index=False)["claims"].agg(
            ["mean", "std"]
        )
        layers.to_csv(tmp / "layers.csv", index=False)
        cats = result.categories.groupby(["year", "category"], as_index=False)[
            ["claims", "claimants", "catastrophic"]
        ].mean()
        cats.to_csv(tmp / "categories.csv", index=False)
        info = result.info
        doc = manifest(
            resolved,
            seed=info.seed,
            paths=info.paths,
            years=info.years,
            block_paths=info.block_paths,
            runner=info.runner,
            timings_s=info.timings,
            **manifest_fields,
        )
        (tmp / "manifest.json").write_text(
            json.dumps(doc, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
    return Path(out)
