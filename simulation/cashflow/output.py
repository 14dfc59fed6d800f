"""Writing a cash-flow result: tables (CSV/JSON), the fan chart of the monthly balance, a report
section and the manifest, into one folder atomically (all or nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .simulate import CashflowResult

FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def balance_quantiles(result: CashflowResult) -> pd.DataFrame:
    """Month-end balance by month: mean and the :data:`FAN_QUANTILES` over paths (yuan)."""
    b = result.monthly_balance
    out = pd.DataFrame({"month": list(result.months), "mean": b.mean(axis=0)})
    for q in FAN_QUANTILES:
        out[f"q{round(100 * q):02d}"] = np.quantile(b, q, axis=0)
    out["p_negative"] = (b < 0).mean(axis=0)
    return out


def fan_chart(result: CashflowResult, path: str | Path) -> Path:
    """A PNG fan chart of the month-end balance: 5-95% and 25-75% bands, median, year ends."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    q = balance_quantiles(result)
    scale, unit = (
        (1e6, "million yuan")
        if np.abs(result.monthly_balance).max() >= 1e6
        else (1e3, "thousand yuan")
    )
    x = np.arange(len(q))
    fig = Figure(figsize=(9, 4.5), dpi=120)
    ax = fig.add_subplot()
    ax.fill_between(x, q["q05"] / scale, q["q95"] / scale, color="#9ecae1", label="5-95%")
    ax.fill_between(x, q["q25"] / scale, q["q75"] / scale, color="#4292c6", label="25-75%")
    ax.plot(x, q["q50"] / scale, color="#08306b", lw=1.5, label="median")
    ax.axhline(0.0, color="#a50f15", lw=0.8)
    for k in range(12, len(q), 12):
        ax.axvline(k - 0.5, color="grey", lw=0.5, ls=":")
    ticks = x[::3]
    ax.set_xticks(ticks, [result.months[i] for i in ticks], rotation=45, ha="right", fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.1f}"))
    ax.set_ylabel(f"balance at month end ({unit})")
    ax.set_title(
        f"{result.scenario.name}: {result.fund} account, {result.paths} paths, seed {result.seed}",
        fontsize=10,
    )
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    return out


def _money(v: float) -> str:
    return f"{v:,.0f}"


def report_section(result: CashflowResult) -> str:
    """The cash-flow section of a report, in Markdown: liquidity and settlement on paid claims."""
    s = result.summary()
    cfg = result.config
    lines = [
        f"## Cash flows of the {result.fund} account",
        "",
        f"{result.paths} paths, seed {result.seed}; money in yuan; mean ± standard error. "
        f"Settlement at the end of month {cfg.settlement_month} of the next year on "
        f"`{cfg.settlement_basis.value}` claims; {cfg.one_stop_share:.0%} of claims settled one-stop.",
        "",
        "| year | premium | claims incurred | paid at settlement | unpaid (true) | unpaid (paid CL) "
        "| clawback on incurred | on paid | on paid + CL | on reported + CL | P(balance < 0) | lowest balance q5 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in s.iterrows():

        def ms(name: str, r: pd.Series = r) -> str:
            return f"{_money(r[name + '_mean'])} ± {_money(r[name + '_se'])}"

        lines.append(
            f"| {r['year']} | {_money(r['premium_mean'])} | {ms('claims_incurred')} | {ms('paid_at_settlement')} "
            f"| {ms('unpaid_true')} | {ms('unpaid_paid_cl')} | {ms('clawback_true')} | {ms('clawback_paid')} "
            f"| {ms('clawback_paid_cl')} | {ms('clawback_reported_cl')} | {r['p_negative']:.1%} "
            f"| {_money(r['lowest_balance_q05'])} |"
        )
    lines += [
        "",
        "Clawback error against the clawback on the true incurred claims (positive: finance claws "
        "back too much):",
        "",
        "| year | on paid | on paid + chain ladder | on reported + chain ladder |",
        "|---|---|---|---|",
    ]
    for _, r in s.iterrows():
        cells = [
            f"{_money(r[f'clawback_error_{b}_mean'])} ± {_money(r[f'clawback_error_{b}_se'])}"
            for b in ("paid", "paid_cl", "reported_cl")
        ]
        lines.append(f"| {r['year']} | " + " | ".join(cells) + " |")
    lines += ["", "![monthly balance](fan_chart.png)", ""]
    return "\n".join(lines)


def _triangle_table(triangle: Any, path: int) -> pd.DataFrame:
    labels = triangle.index["path"].to_numpy()
    rows = np.flatnonzero(labels == path)
    values = np.asarray(triangle.values)[rows[0], 0] if rows.size else np.zeros((0, 0))
    origins = pd.DatetimeIndex(triangle.odims).strftime("%Y-%m")
    return pd.DataFrame(
        values, index=pd.Index(origins, name="origin"), columns=[str(d) for d in triangle.ddims]
    )


def save_cashflow(result: CashflowResult, out: str | Path, **manifest_fields: Any) -> Path:
    """Write the result into folder ``out`` atomically:

    ``summary.csv``/``summary.json`` (by year), ``paths.csv`` (by path and year),
    ``monthly_balance.csv`` (path, month, balance), ``balance_quantiles.csv``, ``financing.csv``,
    ``roster.csv``, ``ledger_path0.csv``, ``triangle_paid_YYYY_path0.csv`` and
    ``triangle_reported_YYYY_path0.csv`` (cumulative, at the settlement of YYYY),
    ``fan_chart.png``, ``cashflow.md`` (report section) and ``manifest.json``.
    """
    from ..outputs import atomic_dir, manifest

    summary = result.summary()
    with atomic_dir(out) as tmp:
        summary.to_csv(tmp / "summary.csv", index=False)
        records = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in summary.to_dict("records")
        ]
        (tmp / "summary.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
        result.by_year.to_csv(tmp / "paths.csv", index=False)
        monthly = pd.DataFrame(
            {
                "path": np.repeat(np.arange(result.paths), len(result.months)),
                "month": np.tile(np.array(result.months), result.paths),
                "balance": result.monthly_balance.reshape(-1),
            }
        )
        monthly.to_csv(tmp / "monthly_balance.csv", index=False)
        balance_quantiles(result).to_csv(tmp / "balance_quantiles.csv", index=False)
        result.financing_table().to_csv(tmp / "financing.csv", index=False)
        result.roster.to_csv(tmp / "roster.csv", index=False)
        result.ledger[result.ledger["path"] == 0].to_csv(tmp / "ledger_path0.csv", index=False)
        for est in result.estimates:
            _triangle_table(est.paid_triangle, 0).to_csv(
                tmp / f"triangle_paid_{est.year}_path0.csv"
            )
            _triangle_table(est.reported_triangle, 0).to_csv(
                tmp / f"triangle_reported_{est.year}_path0.csv"
            )
        fan_chart(result, tmp / "fan_chart.png")
        (tmp / "cashflow.md").write_text(report_section(result), encoding="utf-8")
        resolved = result.scenario.model_dump(mode="json", by_alias=True)
        doc = manifest(
            resolved,
            seed=result.seed,
            paths=result.paths,
            fund=result.fund,
            cashflow_config=result.config.model_dump(mode="json"),
            **manifest_fields,
        )
        (tmp / "manifest.json").write_text(
            json.dumps(doc, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
    return Path(out)


__all__ = ["FAN_QUANTILES", "balance_quantiles", "fan_chart", "report_section", "save_cashflow"]
