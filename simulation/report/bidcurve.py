"""The tender section's bid curve: financing per head against the insurer's expected result,
clawback and probability of a loss, with the break-even and the targets marked.

:func:`bid_curve` computes it on the report's own paths (:func:`simulation.pricing.compare_bids`
on the fund's claims sample: common random numbers, each bid re-settled on the same claims) over
a grid spanning the break-even and every target's solution; :func:`bid_curve_figure` draws it;
:func:`margin_sentence` says why a margin target under a cap that includes operating cost needs
much more financing than the break-even.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..engine.result import SimulationResult
from ..pricing import claims_sample, compare_bids
from . import figures as F
from .i18n import Translator
from .tender import BREAK_EVEN

BID_COLUMNS = ["fund", "financing_per_head", "result_mean", "result_se", "p_loss", "clawback_mean"]
GRID_POINTS = 15


def marks(table: pd.DataFrame, fund: str) -> dict[str, float]:
    """The fund's break-even and target financings per head from the pricing table, by measure."""
    d = table[(table["fund"] == fund) & (table["unit"] == "yuan per head")]
    keep = d["measure"].str.startswith(("break-even", "financing for"))
    return {
        m: float(v)
        for m, v in zip(d["measure"][keep], d["value"][keep], strict=True)
        if math.isfinite(v)
    }


def bid_curve(result: SimulationResult, fund: str, table: pd.DataFrame) -> pd.DataFrame:
    """Bids from 0.8x the lowest to 1.2x the highest marked financing (``GRID_POINTS`` of them,
    the marks included): columns :data:`BID_COLUMNS` (money in yuan over the run's years)."""
    m = marks(table, fund)
    if not m:
        return pd.DataFrame(columns=BID_COLUMNS)
    lo, hi = min(m.values()), max(m.values())
    grid = np.unique(
        np.round(np.r_[np.linspace(0.8 * lo, 1.2 * hi, GRID_POINTS), list(m.values())], 4)
    )
    frame = compare_bids(claims_sample(result, fund), grid).to_frame()
    frame["fund"] = fund
    return frame[BID_COLUMNS]


def bid_curve_figure(
    curve: pd.DataFrame,
    mark: dict[str, float],
    label: dict[str, str],
    title: str,
    text: F.FigureText,
) -> Figure:
    """Expected result and clawback (money unit, left) and P(loss) (right) against the bid."""
    with F.figure_style(text.fonts):
        fig = Figure(figsize=(7.5, 3.8), layout="constrained")
        ax = fig.add_subplot()
        x = curve["financing_per_head"].to_numpy()
        t = text.t
        ax.plot(
            x, text.unit(curve["result_mean"].to_numpy()), marker="o", ms=3, label=t("bc_result")
        )
        ax.plot(x, text.unit(curve["clawback_mean"].to_numpy()), ls="--", label=t("bc_clawback"))
        ax.axhline(0, color="#555555", lw=0.8)
        ax.set_xlabel(t("bc_axis_bid"))
        ax.set_ylabel(text.unit_label)
        right = ax.twinx()
        right.plot(
            x, 100 * curve["p_loss"].to_numpy(), color="C3", marker=".", label=t("bc_p_loss")
        )
        right.set_ylabel(t("bc_axis_p_loss"))
        right.set_ylim(0, 100)
        for i, (measure, value) in enumerate(mark.items()):
            ax.axvline(
                value, color=f"C{4 + i}", ls=":", lw=1.2, label=f"{label[measure]}: {value:,.2f}"
            )
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = right.get_legend_handles_labels()
        fig.legend(h1 + h2, l1 + l2, loc="outside lower center", ncols=2, frameon=False, fontsize=8)
        fig.suptitle(title)
        return fig


def margin_sentence(
    t: Translator, fund_name: str, mark: dict[str, float], cap: float, cost_rate: float
) -> str:
    """Why the margin target's financing is so far above the break-even (empty without one)."""
    margin = next((m for m in mark if m.startswith("financing for a ")), None)
    if margin is None or BREAK_EVEN not in mark:
        return ""
    pct = margin.removeprefix("financing for a ").split(" ")[0]
    return t(
        "bc_margin_why",
        fund=fund_name,
        margin=pct,
        fin=f"{mark[margin]:,.2f}",
        be=f"{mark[BREAK_EVEN]:,.2f}",
        cap=f"{100 * cap:.1f}%",
        cost=f"{100 * cost_rate:.1f}%",
    )
