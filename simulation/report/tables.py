"""The tables of a report, computed from a :class:`~simulation.engine.result.SimulationResult`.

Every function is pure: a result (and its summary) in, a tidy DataFrame out, money in yuan. The
figures are drawn from these same tables, and each is written as a CSV and a workbook sheet, so the
data behind every table and figure is what an analyst opens in a spreadsheet.

Estimators: a mean over K paths with its Monte Carlo standard error ``sd / sqrt(K)``; a probability
``p`` with ``sqrt(p (1 - p) / K)``; quantiles are sample quantiles over paths (numpy's default,
linear interpolation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..engine.result import SimulationResult
from ..errors import FundsimError
from ..scenario.schema import ContractKind

SUMMARY_MEASURES = ("premium", "claims", "p_deficit", "clawback", "subsidy")
"""The director's measures, per fund and year (plus the catastrophic share of the population)."""

FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

MC_ERROR_MEASURES = (
    "premium",
    "claims",
    "insurer_result",
    "clawback",
    "subsidy",
    "balance",
    "p_deficit",
    "catastrophic_share",
)

POPULATION = "population"
"""The ``fund`` value of rows about the whole population (not one fund)."""


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean over paths (axis 0) and its Monte Carlo standard error ``sd / sqrt(K)`` (NaN for K=1)."""
    k = values.shape[0]
    m = float(values.mean())
    se = float(values.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan")
    return m, se


def fund_label(result: SimulationResult, fund: str) -> str:
    if fund == POPULATION:
        return POPULATION
    return result.plan.scenario.funds[fund].label or fund


def insurer_funds(result: SimulationResult) -> list[str]:
    """Funds run by an insurer under a contract (kind other than ``none``), in scenario order."""
    funds = result.plan.scenario.funds
    return [f for f in result.plan.funds if funds[f].contract.kind is not ContractKind.NONE]


def director_summary(result: SimulationResult, summary: pd.DataFrame) -> pd.DataFrame:
    """Per fund, year and measure: mean and Monte Carlo SE (taken from ``summary``, so equal to
    ``summary.json``), and the 5th and 95th percentiles over paths.

    Measures: financing raised, claims, probability of a deficit (claims above financing in the
    year), clawback to the finance account, policy-change subsidy; and the share of the population
    with catastrophic out-of-pocket cost (``fund = "population"``).
    """
    rows: list[dict[str, Any]] = []
    years = result.years
    for f, fund in enumerate(result.plan.funds):
        for y, year in enumerate(years):
            s = summary[(summary["fund"] == fund) & (summary["year"] == year)].iloc[0]
            for m in SUMMARY_MEASURES:
                if m == "p_deficit":
                    values = (result.money["surplus"][:, y, f] < 0).astype(float)
                    mean, se = float(s["p_deficit"]), float(s["p_deficit_se"])
                else:
                    values = result.money[m][:, y, f]
                    mean, se = float(s[f"{m}_mean"]), float(s[f"{m}_se"])
                rows.append(
                    {
                        "fund": fund,
                        "year": year,
                        "measure": m,
                        "mean": mean,
                        "se": se,
                        "q05": float(np.quantile(values, 0.05)),
                        "q95": float(np.quantile(values, 0.95)),
                    }
                )
            if result.factors is not None:  # which part of the claims' variance dominates
                rows.append(
                    {
                        "fund": fund,
                        "year": year,
                        "measure": "claims_systematic_share",
                        "mean": float(s["claims_systematic_share"]),
                        "se": float("nan"),
                        "q05": float("nan"),
                        "q95": float("nan"),
                    }
                )
    share = result.catastrophic_share()
    first = result.plan.funds[0]
    for y, year in enumerate(years):
        s = summary[(summary["fund"] == first) & (summary["year"] == year)].iloc[0]
        rows.append(
            {
                "fund": POPULATION,
                "year": year,
                "measure": "catastrophic_share",
                "mean": float(s["catastrophic_share_mean"]),
                "se": float(s["catastrophic_share_se"]),
                "q05": float(np.quantile(share[:, y], 0.05)),
                "q95": float(np.quantile(share[:, y], 0.95)),
            }
        )
    return pd.DataFrame(rows)


def fan_table(
    result: SimulationResult, measure: str, funds: list[str] | None = None
) -> pd.DataFrame:
    """Quantiles over paths of a fund measure (e.g. ``balance``) per fund and year, yuan:
    columns fund, year, mean, q05, q25, q50, q75, q95."""
    funds = list(result.plan.funds) if funds is None else funds
    rows = []
    for fund in funds:
        f = result.plan.funds.index(fund)
        for y, year in enumerate(result.years):
            v = result.money[measure][:, y, f]
            row: dict[str, Any] = {"fund": fund, "year": year, "mean": float(v.mean())}
            for q in FAN_QUANTILES:
                row[f"q{round(q * 100):02d}"] = float(np.quantile(v, q))
            rows.append(row)
    return pd.DataFrame(rows, columns=["fund", "year", "mean", "q05", "q25", "q50", "q75", "q95"])


def result_base_and_cap(result: SimulationResult, fund: str) -> tuple[str, float] | None:
    """What the insurer's result is measured against and where its cap is, as a fraction:

    ``("premium", profit_cap_rate)`` for capped-profit and corridor contracts (the result is at most
    ``cap_rate * P``); None for cost-plus (the result is ``m * S`` on every path) and public funds.
    """
    contract = result.plan.scenario.funds[fund].contract
    if contract.kind in (ContractKind.CAPPED_PROFIT, ContractKind.CORRIDOR):
        return "premium", float(contract.profit_cap_rate)
    return None


def insurer_result_ratio(result: SimulationResult, fund: str) -> np.ndarray:
    """The insurer's annual result as a fraction of the financing raised, ``R / P``, one value per
    path and year (all years pooled, path-major)."""
    f = result.plan.funds.index(fund)
    premium = result.money["premium"][:, :, f]
    r = result.money["insurer_result"][:, :, f]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(premium > 0, r / np.where(premium > 0, premium, 1.0), np.nan)
    return ratio.reshape(-1)


def result_histogram(ratio: np.ndarray, cap: float, bins: int = 40) -> pd.DataFrame:
    """Histogram of ``ratio`` (fractions): the values at the cap (an atom: the capped upside) in one
    row of zero width, the others on ``bins`` equal bins spanning them and zero.

    Columns: kind ("bin" or "cap"), from_pct, to_pct, path_years, share (of all path-years).
    """
    r = ratio[np.isfinite(ratio)]
    n = max(r.size, 1)
    at_cap = r >= cap - 1e-9
    below = r[~at_cap]
    lo = min(float(below.min()) if below.size else 0.0, 0.0)
    hi = max(float(below.max()) if below.size else 0.0, 0.0, cap)
    span = hi - lo
    lo, hi = lo - 0.03 * span - 1e-6, hi
    counts, edges = np.histogram(below, bins=bins, range=(lo, hi))
    out = pd.DataFrame(
        {
            "kind": "bin",
            "from_pct": 100 * edges[:-1],
            "to_pct": 100 * edges[1:],
            "path_years": counts,
            "share": counts / n,
        }
    )
    atom = pd.DataFrame(
        {
            "kind": ["cap"],
            "from_pct": [100 * cap],
            "to_pct": [100 * cap],
            "path_years": [int(at_cap.sum())],
            "share": [at_cap.sum() / n],
        }
    )
    return pd.concat([out, atom], ignore_index=True)


def result_distribution(result: SimulationResult) -> pd.DataFrame:
    """Per insurer-run fund with a capped contract: histogram of ``R / P`` (percent), with the cap
    and the probabilities of a result below zero and at the cap."""
    frames = []
    for fund in insurer_funds(result):
        bc = result_base_and_cap(result, fund)
        if bc is None:
            continue
        _, cap = bc
        ratio = insurer_result_ratio(result, fund)
        h = result_histogram(ratio, cap)
        h.insert(0, "fund", fund)
        h["cap_pct"] = 100 * cap
        h["p_below_zero"] = float(np.mean(ratio < 0))
        h["p_at_cap"] = float(np.mean(ratio >= cap - 1e-9))
        frames.append(h)
    if not frames:
        return pd.DataFrame(
            columns=[
                "fund",
                "kind",
                "from_pct",
                "to_pct",
                "path_years",
                "share",
                "cap_pct",
                "p_below_zero",
                "p_at_cap",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def layer_table(result: SimulationResult) -> pd.DataFrame:
    """Claims paid by each layer per year, yuan: year, layer, fund, mean, se, q05, q95."""
    a = result.sims["layer_claims"]
    rows = []
    for y, year in enumerate(result.years):
        for i, layer in enumerate(result.plan.layers):
            v = a[:, y, i]
            m, se = mean_se(v)
            rows.append(
                {
                    "year": year,
                    "layer": layer,
                    "fund": result.plan.funds[int(result.plan.layer_fund[i])],
                    "mean": m,
                    "se": se,
                    "q05": float(np.quantile(v, 0.05)),
                    "q95": float(np.quantile(v, 0.95)),
                }
            )
    return pd.DataFrame(rows)


def category_persons(result: SimulationResult) -> np.ndarray:
    """Persons by category at the start of each year (entrants counted in the category they
    start the year in), shape (years, categories)."""
    out = np.zeros((len(result.plan.years), len(result.plan.categories)))
    for y, yp in enumerate(result.plan.years):
        for g in yp.groups:
            out[y, g.start_category] += g.count
    return out


def category_table(result: SimulationResult) -> pd.DataFrame:
    """Per year and category (at the start of the year): persons, claims paid by all layers (yuan),
    claimants, persons with catastrophic out-of-pocket cost and their share, each mean with SE."""
    persons = category_persons(result)
    rows = []
    for y, year in enumerate(result.years):
        for c, cat in enumerate(result.plan.categories):
            claims = result.sims["category_claims"][:, y, c]
            cata = result.sims["category_catastrophic"][:, y, c]
            n = persons[y, c]
            share = cata / n if n > 0 else np.full_like(cata, np.nan)
            cm, cse = mean_se(claims)
            sm, sse = mean_se(share)
            rows.append(
                {
                    "year": year,
                    "category": cat,
                    "persons": n,
                    "claims_mean": cm,
                    "claims_se": cse,
                    "claimants_mean": float(result.sims["category_claimants"][:, y, c].mean()),
                    "catastrophic_mean": float(cata.mean()),
                    "catastrophic_share_mean": sm,
                    "catastrophic_share_se": sse,
                }
            )
    return pd.DataFrame(rows)


def mc_error_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Monte Carlo standard errors of the main estimates: fund, year, measure, mean, se, rel_se
    (``se / |mean|``, NaN for a zero mean)."""
    rows = []
    population_done: set[int] = set()
    for _, s in summary.iterrows():
        for m in MC_ERROR_MEASURES:
            fund = s["fund"]
            if m == "catastrophic_share":
                if s["year"] in population_done:
                    continue
                population_done.add(s["year"])
                fund = POPULATION
            mean = float(s["p_deficit"] if m == "p_deficit" else s[f"{m}_mean"])
            se = float(s["p_deficit_se"] if m == "p_deficit" else s[f"{m}_se"])
            rows.append(
                {
                    "fund": fund,
                    "year": int(s["year"]),
                    "measure": m,
                    "mean": mean,
                    "se": se,
                    "rel_se": se / abs(mean) if mean != 0 else float("nan"),
                }
            )
    return pd.DataFrame(rows)


CONDITIONAL_QUANTITIES = ("mean", "sd", "resid_mean", "resid_sd", "resid_ks_p")
"""The rows of the exact check under systematic risk (:func:`_conditional_rows`)."""

KS_LEVEL = 6.3e-5
"""A KS p-value below this (the two-sided 4-sigma level) fails the check."""


def _conditional_rows(
    result: SimulationResult, summary: pd.DataFrame, f: int, fund: str, year: int,
    notes: list[str],
) -> list[dict[str, Any]]:  # fmt: skip
    """The exact check of the first year under systematic risk. Given a path's factors ``F_i``
    the exact method gives the law of the claims; ``E[S | F]`` and ``Var(S | F)`` are taken as
    quadratic in the path's multipliers ``x`` (the variance's logarithm) (frequency and cost of each claim type that varies),
    interpolating ``1 + 2 k + k (k - 1) / 2`` exact laws at the centre (median), at the lowest and
    the highest path's value along each axis and at the pairwise upper corners; the error is measured
    at the path farthest from the centre by a direct exact law (a note). Rows: ``mean`` and ``sd``
    (unconditional: the surface integrated over the quadrature rule of the factors,
    :func:`simulation.engine.exact.mixture.factor_nodes`, against Monte Carlo); ``resid_mean``,
    ``resid_sd`` of the standardised residuals ``r_i = (S_i - E[S | F_i]) / sd(S | F_i)``
    (exact 0 and 1); ``resid_ks_p``: the KS p-value of ``G((S_i - mu_i) / sd_i)``, ``G`` the
    centre's exact law of ``(S - mu) / sd`` (its shape, skewness included), against uniform
    (agrees when at least :data:`KS_LEVEL`)."""
    import math

    from scipy import stats

    from ..engine.exact import exact_claims_distribution
    from ..engine.exact.mixture import factor_nodes, scaled_scenario
    from ..engine.factors import demand_multipliers
    from ..scenario.schema import CLAIM_TYPES, LEVELS

    scenario = result.plan.scenario
    fac = result.factors
    assert fac is not None
    k = result.n_paths
    freq, cost = fac.frequency[:, 0], fac.cost[:, 0]  # (paths, claim types, levels, cells)
    for a in (freq, cost):
        flat = a.reshape(a.shape[:2] + (-1,))
        if not np.all(flat == flat[..., :1]):
            raise FundsimError(
                "the factors differ between hospital levels or cells; the exact check under "
                "systematic risk needs one multiplier per claim type"
            )
    keys, cols = [], []
    for t, ct in enumerate(CLAIM_TYPES):
        for kind, a in (("frequency", freq), ("cost", cost)):
            v = a[:, t, 0, 0]
            if ct in scenario.claims and np.ptp(v) > 0:
                keys.append((kind, ct.value))
                cols.append(v)
    n_lev = len(LEVELS)
    opts = {"cap_tolerance": math.inf}

    def law(point: np.ndarray):
        mult = {key: np.full(n_lev, float(v)) for key, v in zip(keys, point, strict=True)}
        return exact_claims_distribution(scaled_scenario(scenario, mult), fund, year, **opts)

    x = np.stack(cols, axis=1) if cols else np.zeros((k, 0))
    c = np.median(x, axis=0)
    h = np.max(x, axis=0) - c  # the highest path at d = 1, the lowest at d = lo < 0
    lo = (np.min(x, axis=0) - c) / np.where(h > 0, h, 1.0)
    nk = len(keys)
    pairs = [(i, j) for i in range(nk) for j in range(i + 1, nk)]

    def basis(d: np.ndarray) -> np.ndarray:
        d = np.atleast_2d(d)
        out = [np.ones(len(d)), *(d[:, i] for i in range(nk)), *(d[:, i] ** 2 for i in range(nk))]
        return np.stack(out + [d[:, i] * d[:, j] for i, j in pairs], axis=1)

    eye = np.eye(nk)
    design = [np.zeros(nk), *eye, *(eye * lo[:, None]), *(eye[i] + eye[j] for i, j in pairs)]
    laws = [law(c + h * d) for d in design]
    centre = laws[0]
    b = basis(np.array(design)) if nk else np.ones((1, 1))
    cm = np.linalg.solve(b, [d.mean() for d in laws])
    cv = np.linalg.solve(b, [math.log(max(d.var(), 1e-300)) for d in laws])  # log: positive
    dx = (x - c) / np.where(h > 0, h, 1.0)
    mu, var = basis(dx) @ cm, np.exp(basis(dx) @ cv)
    if nk:
        far = int(np.argmax(np.sum(dx * dx, axis=1)))
        direct = law(x[far])
        err = abs(direct.mean() - mu[far]) / direct.sd()
        notes.append(f"{fund}: conditional exact check: {len(laws)} exact laws, surface error "
                     f"{err:.3f} conditional SD at the farthest path")  # fmt: skip
    # the unconditional moments: the surface over the factors' quadrature rule
    dm = demand_multipliers(scenario, (year,))[0]
    w, m1, m2 = [], [], []
    for weight, mult in factor_nodes(scenario.systematic, year - scenario.start_year):
        p = np.array([
            float(mult.get(key, np.ones(n_lev))[0])
            * (dm[[ct.value for ct in CLAIM_TYPES].index(key[1])] if key[0] == "frequency" else 1.0)
            for key in keys
        ])  # fmt: skip
        bd = basis((p - c) / np.where(h > 0, h, 1.0)) if nk else np.ones((1, 1))
        mean_n, var_n = float((bd @ cm)[0]), math.exp(float((bd @ cv)[0]))
        w.append(weight), m1.append(mean_n), m2.append(var_n + mean_n**2)
    ex_mean = float(np.dot(w, m1))
    ex_sd = math.sqrt(max(float(np.dot(w, m2)) - ex_mean**2, 0.0))
    claims = result.money["claims"][:, 0, f]
    s = summary[(summary["fund"] == fund) & (summary["year"] == year)].iloc[0]
    resid = (claims - mu) / np.sqrt(var)
    csd = centre.sd()
    g = centre.cdf(centre.mean() + csd * resid) - 0.5 * np.interp(
        centre.mean() + csd * resid, centre.x, centre.p
    )  # mid-distribution transform: a point mass counts half
    ks_p = float(stats.kstest(g, "uniform").pvalue) if k > 1 else float("nan")
    sd_mc = float(claims.std(ddof=1)) if k > 1 else float("nan")
    r_mean, r_sd = float(resid.mean()), float(resid.std(ddof=1)) if k > 1 else float("nan")
    se_r = r_sd / math.sqrt(k) if k > 1 else float("nan")
    # the SE of a sample SD, sqrt((kurtosis - 1) / (4 k)) (1 / sqrt(2 k) for a normal law)
    kurt = float(np.mean((resid - r_mean) ** 4) / r_sd**4) if k > 1 and r_sd > 0 else 3.0
    se_sd = math.sqrt(max(kurt - 1.0, 2.0) / (4 * k)) if k > 1 else float("nan")
    rows = []
    for quantity, ex, mc, se, z in (
        ("mean", ex_mean, float(s["claims_mean"]), float(s["claims_se"]), None),
        ("sd", ex_sd, sd_mc, sd_mc / math.sqrt(2 * (k - 1)) if k > 1 else math.nan, math.nan),
        ("resid_mean", 0.0, r_mean, se_r, None),
        ("resid_sd", 1.0, r_sd, se_sd, None),
        ("resid_ks_p", math.nan, ks_p, math.nan, math.nan),
    ):
        if z is None:
            z = (mc - ex) / se if se > 0 else math.nan
        agrees = (
            bool(ks_p >= KS_LEVEL) if quantity == "resid_ks_p"
            else bool(abs(z) < 4) if np.isfinite(z) else None
        )  # fmt: skip
        rows.append({"fund": fund, "year": year, "quantity": quantity, "exact": ex, "mc": mc,
                     "mc_se": se, "z": z, "agrees": agrees})  # fmt: skip
    return rows


def exact_check(
    result: SimulationResult, summary: pd.DataFrame
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The first policy year by the exact method against Monte Carlo, per fund.

    Under systematic risk the rows are :data:`CONDITIONAL_QUANTITIES` (:func:`_conditional_rows`:
    the exact law given each path's factors). Otherwise: fund, quantity (mean, sd, q95, q995, p_deficit), exact, mc, mc_se, z (for the mean and
    the probability of a deficit, ``(mc - exact) / mc_se``), agrees (``|z| < 4``). Returns the table,
    the exact method's own notes (``fund: note``) and the reasons it could not handle a fund
    (``fund: reason``). A :class:`FundsimError` from it never escapes.
    """
    from ..engine import exact as exact_module

    scenario = result.plan.scenario
    year = result.years[0]
    k = result.n_paths
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    failures: list[str] = []
    if scenario.systematic.enabled and result.factors is not None:
        for f, fund in enumerate(result.plan.funds):
            try:
                rows.extend(_conditional_rows(result, summary, f, fund, year, notes))
            except FundsimError as e:
                failures.append(f"{fund}: {e}")
            except (ValueError, ArithmeticError, MemoryError, np.linalg.LinAlgError) as e:
                failures.append(f"{fund}: {type(e).__name__}: {e}")
        columns = ["fund", "year", "quantity", "exact", "mc", "mc_se", "z", "agrees"]
        return pd.DataFrame(rows, columns=columns), notes, failures
    for f, fund in enumerate(result.plan.funds):
        try:
            dist = exact_module.exact_claims_distribution(scenario, fund, year)
        except FundsimError as e:
            failures.append(f"{fund}: {e}")
            continue
        except (
            ValueError,
            ArithmeticError,
            MemoryError,
        ) as e:  # a numerical failure, not a bug here
            failures.append(f"{fund}: {type(e).__name__}: {e}")
            continue
        notes.extend(f"{fund}: {n}" for n in getattr(dist, "notes", ()))
        s = summary[(summary["fund"] == fund) & (summary["year"] == year)].iloc[0]
        claims = result.money["claims"][:, 0, f]
        premium = float(result.money["premium"][0, 0, f])
        ex_q = np.asarray(dist.quantile([0.95, 0.995]), dtype=float)
        p_exact = float(1.0 - np.asarray(dist.cdf(premium)))
        p_mc, p_se = float(s["p_deficit"]), float(s["p_deficit_se"])
        sd_mc = float(claims.std(ddof=1)) if k > 1 else float("nan")
        candidates = [
            ("mean", dist.mean(), float(s["claims_mean"]), float(s["claims_se"])),
            (
                "sd",
                float(np.sqrt(dist.var())),
                sd_mc,
                sd_mc / np.sqrt(2 * (k - 1)) if k > 1 else float("nan"),
            ),
            ("q95", float(ex_q[0]), float(np.quantile(claims, 0.95)), float("nan")),
            ("q995", float(ex_q[1]), float(np.quantile(claims, 0.995)), float("nan")),
            ("p_deficit", p_exact, p_mc, p_se),
        ]
        for quantity, ex, mc, se in candidates:
            z = (mc - ex) / se if quantity in ("mean", "p_deficit") and se > 0 else float("nan")
            if quantity == "p_deficit" and not se > 0:
                # all paths agree (p = 0 or 1): compare with the binomial bound 4 sqrt(p(1-p)/K)
                bound = 4 * np.sqrt(max(ex * (1 - ex), 1.0 / k) / k)
                agrees: bool | None = abs(mc - ex) <= bound
            else:
                agrees = bool(abs(z) < 4) if np.isfinite(z) else None
            rows.append(
                {
                    "fund": fund,
                    "year": year,
                    "quantity": quantity,
                    "exact": ex,
                    "mc": mc,
                    "mc_se": se,
                    "z": z,
                    "agrees": agrees,
                }
            )
    columns = ["fund", "year", "quantity", "exact", "mc", "mc_se", "z", "agrees"]
    return pd.DataFrame(rows, columns=columns), notes, failures


def run_info(result: SimulationResult) -> dict[str, Any]:
    """Seed, paths, years and timings of a run."""
    info = result.info
    return {
        "seed": info.seed,
        "paths": info.paths,
        "years": info.years,
        "block_paths": info.block_paths,
        "runner": info.runner,
        "run_time_s": round(sum(info.timings.values()), 3),
    }
