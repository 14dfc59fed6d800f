"""The report's figures, drawn from its tables with matplotlib's Agg renderer (no display needed).

Each function takes a tidy table (money in yuan) and a :class:`FigureText` (language, fonts, money
unit, display names) and returns a :class:`matplotlib.figure.Figure`; :func:`png_bytes` renders it.
Figures are built with the object API (``Figure``), never pyplot, so nothing is left in a global
figure registry and no backend is forced on a notebook; saving to PNG uses Agg. Text a font cannot draw is replaced by its fallback (see :mod:`.fonts`).
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib import ticker as mticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .fonts import FontSetup
from .i18n import Translator

BAND90 = "#9ecae1"
BAND50 = "#4292c6"
MEDIAN = "#08306b"
LOSS = "#d62728"
CAP = "#2ca02c"
YEAR_COLORS = ("#4292c6", "#fd8d3c", "#74c476", "#9e9ac8", "#fdd0a2", "#c7e9c0", "#bcbddc")
UP, DOWN = "#3182bd", "#e6550d"
FAN_COLUMNS = ("q05", "q25", "q50", "q75", "q95")


@dataclass(frozen=True)
class MoneyUnit:
    """How money is shown: yuan divided by ``divisor``, named by the i18n key ``key``."""

    divisor: float
    key: str

    def __call__(self, yuan: float | np.ndarray) -> float | np.ndarray:
        return yuan / self.divisor


def money_unit(largest_yuan: float) -> MoneyUnit:
    """Yuan for small funds (below 1 million), 10k yuan (万元) for provincial ones."""
    return (
        MoneyUnit(1.0, "unit_yuan") if abs(largest_yuan) < 1e6 else MoneyUnit(1e4, "unit_10k_yuan")
    )


@dataclass(frozen=True)
class FigureText:
    """Everything a figure needs besides its data."""

    t: Translator
    fonts: FontSetup
    unit: MoneyUnit
    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Display names (scenario labels) by kind ("fund", "layer", "category") and key."""

    def name(self, kind: str, key: str, width: int = 30) -> str:
        """The display name of the fund, layer or category ``key``, wrapped to ``width``
        characters; ``key`` itself when the fonts cannot draw the name."""
        return self.plain(self.names.get(kind, {}).get(key, key), key, width)

    def plain(self, text: str, fallback: str, width: int = 30) -> str:
        """``text`` wrapped, or ``fallback`` when the fonts cannot draw ``text``."""
        return wrap(text if self.fonts.can_render(text) else fallback, width)

    @property
    def unit_label(self) -> str:
        return self.t(self.unit.key)


def wrap(text: str, width: int) -> str:
    """Wrap ``text`` on spaces; CJK text (no spaces) is cut every ``width // 2`` characters."""
    if " " not in text and len(text) > width // 2 and any(ord(c) > 0x2E80 for c in text):
        step = max(width // 2, 4)
        return "\n".join(text[i : i + step] for i in range(0, len(text), step))
    return "\n".join(textwrap.wrap(text, width)) or text


@contextmanager
def figure_style(fonts: FontSetup) -> Iterator[None]:
    """Font families with CJK fallback, readable sizes, light grid."""
    rc = {
        "font.family": list(fonts.families),
        "font.size": 10,
        "axes.titlesize": 10.5,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "figure.titlesize": 12.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
        "axes.unicode_minus": False,
    }
    with rc_context(rc):
        yield


def png_bytes(fig: Figure, fonts: FontSetup, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    with figure_style(fonts):
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class ThousandsFormatter(mticker.Formatter):
    """Tick labels with thousands separators and as many decimals as the tick step needs."""

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.decimals = 0

    @staticmethod
    def decimals_for(values: np.ndarray) -> int:
        v = np.sort(np.asarray(values, dtype=float))
        steps = np.diff(v)
        steps = steps[steps > 0]
        step = float(steps.min()) if steps.size else (abs(float(v[0])) if v.size and v[0] else 1.0)
        d = max(0, -math.floor(math.log10(step) + 1e-9))
        while d < 4 and abs(step * 10**d - round(step * 10**d)) > 1e-6:
            d += 1
        return d

    def format_ticks(self, values: list[float]) -> list[str]:
        self.decimals = self.decimals_for(np.asarray(values)) if len(values) else 0
        return [self(v, i) for i, v in enumerate(values)]

    def __call__(self, x: float, pos: int | None = None) -> str:
        text = f"{x:,.{self.decimals}f}"
        return ("0" if text.strip("-0.,") == "" else text) + self.suffix


def _number_formatter(values: np.ndarray | None = None) -> mticker.Formatter:
    return ThousandsFormatter()


def _grid(
    n: int, panel_w: float = 5.0, panel_h: float = 3.4, max_cols: int = 2
) -> tuple[Figure, list[Axes]]:
    ncols = min(n, max_cols)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(panel_w * ncols + 0.6, panel_h * nrows + 0.9), layout="constrained")
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(n)]
    return fig, axes


def _empty(text: FigureText, title: str, message: str) -> Figure:
    fig = Figure(figsize=(6, 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    fig.suptitle(title)
    return fig


def fan_chart(table: pd.DataFrame, title: str, text: FigureText) -> Figure:
    """One panel per fund: 5-95% and 25-75% bands and the median of a money measure over the
    years (``table``: fund, year, q05, q25, q50, q75, q95 in yuan), shown in the money unit."""
    with figure_style(text.fonts):
        funds = list(dict.fromkeys(table["fund"]))
        if not funds:
            return _empty(text, title, "-")
        fig, axes = _grid(len(funds))
        for ax, fund in zip(axes, funds, strict=True):
            d = table[table["fund"] == fund].sort_values("year")
            x = d["year"].to_numpy()
            q = {c: text.unit(d[c].to_numpy()) for c in ("q05", "q25", "q50", "q75", "q95")}
            t = text.t
            if len(x) > 1:
                ax.fill_between(x, q["q05"], q["q95"], color=BAND90, label=t("legend_band90"), lw=0)
                ax.fill_between(x, q["q25"], q["q75"], color=BAND50, label=t("legend_band50"), lw=0)
                ax.plot(
                    x, q["q50"], color=MEDIAN, marker="o", ms=4, lw=1.8, label=t("legend_median")
                )
                ax.set_xlim(x[0] - 0.15, x[-1] + 0.15)
            else:
                ax.bar(
                    x,
                    q["q95"] - q["q05"],
                    bottom=q["q05"],
                    width=0.5,
                    color=BAND90,
                    label=t("legend_band90"),
                )
                ax.bar(
                    x,
                    q["q75"] - q["q25"],
                    bottom=q["q25"],
                    width=0.5,
                    color=BAND50,
                    label=t("legend_band50"),
                )
                ax.hlines(
                    q["q50"], x - 0.25, x + 0.25, color=MEDIAN, lw=2, label=t("legend_median")
                )
                ax.set_xlim(x[0] - 1, x[0] + 1)
                span = float(q["q95"][0] - q["q05"][0]) or max(abs(float(q["q50"][0])), 1.0) * 0.01
                ax.set_ylim(float(q["q05"][0]) - 0.1 * span, float(q["q95"][0]) + 0.1 * span)
            ax.xaxis.set_major_locator(mticker.FixedLocator(x))
            ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _p: f"{v:.0f}"))
            lo = min(float(np.min(q["q05"])), 0.0)
            hi = max(float(np.max(q["q95"])), 0.0)
            if lo < 0 < hi:
                ax.axhline(0, color="#555555", lw=0.8)
            ax.yaxis.set_major_formatter(_number_formatter(np.array([lo, hi])))
            ax.set_title(text.name("fund", fund, 44))
            ax.set_xlabel(t("axis_year"))
            ax.set_ylabel(text.unit_label)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
        fig.suptitle(title)
        return fig


def monthly_fan_chart(table: pd.DataFrame, title: str, text: FigureText) -> Figure:
    """One panel per fund: the month-end balance of its special account, 5-95% and 25-75% bands
    and the median over the paths (``table``: fund, month ``YYYY-MM``, q05 ... q95 in yuan, from
    :func:`.cashflows.balance_fan`), in the money unit, with zero and the year ends marked."""
    t = text.t
    with figure_style(text.fonts):
        funds = list(dict.fromkeys(table["fund"]))
        if not funds:
            return _empty(text, title, "-")
        fig = Figure(figsize=(9.5, 3.6 * len(funds) + 1.0), layout="constrained")
        axes = [fig.add_subplot(len(funds), 1, i + 1) for i in range(len(funds))]
        for ax, fund in zip(axes, funds, strict=True):
            d = table[table["fund"] == fund]
            months = d["month"].astype(str).tolist()
            x = np.arange(len(months))
            q = {c: text.unit(d[c].to_numpy(dtype=float)) for c in FAN_COLUMNS}
            ax.fill_between(x, q["q05"], q["q95"], color=BAND90, label=t("legend_band90"), lw=0)
            ax.fill_between(x, q["q25"], q["q75"], color=BAND50, label=t("legend_band50"), lw=0)
            ax.plot(x, q["q50"], color=MEDIAN, lw=1.8, label=t("legend_median"))
            lo, hi = float(np.min(q["q05"])), float(np.max(q["q95"]))
            if lo < 0 < hi or lo == 0 or hi == 0:
                ax.axhline(0, color=LOSS, lw=0.9)
            for k in range(12, len(months), 12):
                ax.axvline(k - 0.5, color="#777777", lw=0.7, ls=":")
            step = 3 if len(months) <= 36 else 6
            ticks = x[::step]
            ax.set_xticks(ticks, [months[i] for i in ticks], rotation=45, ha="right")
            ax.set_xlim(-0.5, len(months) - 0.5)
            ax.yaxis.set_major_formatter(_number_formatter())
            ax.set_title(text.name("fund", fund, 60))
            ax.set_xlabel(t("axis_month"))
            ax.set_ylabel(text.unit_label)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
        fig.suptitle(title)
        return fig


def result_histograms(table: pd.DataFrame, title: str, text: FigureText) -> Figure:
    """One panel per fund: the distribution of the insurer's annual result as a % of the financing
    raised, with zero and the profit cap marked (``table`` from :func:`.tables.result_distribution`)."""
    t = text.t
    with figure_style(text.fonts):
        funds = list(dict.fromkeys(table["fund"]))
        if not funds:
            return _empty(text, title, t("insurer_none"))
        fig, axes = _grid(len(funds), panel_w=5.2, panel_h=3.5)
        for ax, fund in zip(axes, funds, strict=True):
            d = table[(table["fund"] == fund) & (table["kind"] == "bin")]
            atom = table[(table["fund"] == fund) & (table["kind"] == "cap")]
            left = d["from_pct"].to_numpy()
            width = (d["to_pct"] - d["from_pct"]).to_numpy()
            share = 100 * d["share"].to_numpy()
            cap = float(table[table["fund"] == fund]["cap_pct"].iloc[0])
            at_cap = 100 * float(atom["share"].sum())
            colors = np.where(left + width <= 1e-12, LOSS, BAND50)
            ax.bar(left, share, width=width, align="edge", color=colors, alpha=0.85, lw=0)
            lo, hi = float(left[0]), float(left[-1] + width[-1])
            pad = 0.06 * (hi - lo)
            tallest = float(share.max()) if share.size else 0.0
            cut = tallest > 0 and at_cap > 4 * tallest
            top = max(tallest * 1.3 if cut else max(tallest, at_cap) * 1.2, 1.0)
            if at_cap > 0:
                # the atom at the cap (the capped upside); cut at the top of the axis when it is
                # more than 4 times the tallest bin, and labelled with its true height
                stem = top * 0.85 if cut else at_cap
                ax.vlines(cap, 0, stem, color=CAP, lw=6, alpha=0.9)
                if cut:
                    ax.plot([cap], [stem], marker=(2, 0, 45), ms=14, mew=2.5, color="white")
                ax.annotate(
                    t("legend_at_cap_cut" if cut else "legend_at_cap", p=f"{at_cap:.1f}%"),
                    (cap, stem),
                    xytext=(-6, -2),
                    textcoords="offset points",
                    ha="right",
                    va="top",
                    fontsize=9,
                    color="#1a6e1a",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
                )
            ax.axvspan(lo - pad, 0, color=LOSS, alpha=0.06, lw=0)
            ax.axvline(0, color=LOSS, lw=1.4, ls="--", label=t("legend_zero"))
            ax.axvline(cap, color=CAP, lw=1.2, ls=":", label=t("legend_cap", cap=f"{cap:g}%"))
            ax.set_xlim(lo - pad, hi + 2 * pad)
            ax.set_ylim(0, top)
            p_loss = float(d["p_below_zero"].iloc[0])
            p_cap = float(d["p_at_cap"].iloc[0])
            ax.text(
                0.02,
                0.97,
                t("legend_p_loss", p=f"{100 * p_loss:.1f}%")
                + "\n"
                + t("legend_p_cap", p=f"{100 * p_cap:.1f}%"),
                transform=ax.transAxes,
                va="top",
                ha="left",
                fontsize=9,
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#cccccc"},
            )
            ax.xaxis.set_major_formatter(ThousandsFormatter("%"))
            ax.set_title(text.name("fund", fund, 44))
            ax.set_xlabel(t("axis_result_pct", base=t("base_premium")))
            ax.set_ylabel(t("axis_paths_pct"))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
        fig.suptitle(title)
        return fig


def _grouped_barh(
    ax: Axes,
    groups: list[str],
    series: list[tuple[str, np.ndarray, np.ndarray]],
) -> None:
    """Horizontal bars: one row per group, one bar per series (label, values, half-widths)."""
    n = len(series)
    height = 0.8 / max(n, 1)
    y = np.arange(len(groups))
    for i, (label, values, err) in enumerate(series):
        offset = (i - (n - 1) / 2) * height
        e = np.where(np.isfinite(err), err, 0.0)
        ax.barh(
            y + offset,
            values,
            height=height * 0.92,
            xerr=e,
            color=YEAR_COLORS[i % len(YEAR_COLORS)],
            label=label,
            error_kw={"elinewidth": 0.9, "capsize": 2, "ecolor": "#333333"},
        )
    ax.set_yticks(y, groups)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)


def _bar_figure(n_groups: int, n_series: int) -> Figure:
    height = 1.2 + n_groups * max(0.42, 0.2 * n_series + 0.15)
    return Figure(figsize=(9.5, height), layout="constrained")


def layer_bars(table: pd.DataFrame, title: str, text: FigureText) -> Figure:
    """Expected claims paid by each layer, one bar per year, ±1.96 SE (money unit)."""
    return _by_group_bars(table, "layer", "mean", "se", title, text, text.unit_label, money=True)


def category_bars(table: pd.DataFrame, title: str, text: FigureText) -> Figure:
    """Expected claims paid by all layers for each category, one bar per year, ±1.96 SE."""
    return _by_group_bars(
        table, "category", "claims_mean", "claims_se", title, text, text.unit_label, money=True
    )


def catastrophic_bars(table: pd.DataFrame, title: str, text: FigureText) -> Figure:
    """The share of persons with catastrophic out-of-pocket cost by category (%), ±1.96 SE."""
    d = table.copy()
    d["pct"] = 100 * d["catastrophic_share_mean"]
    d["pct_se"] = 100 * d["catastrophic_share_se"]
    return _by_group_bars(
        d, "category", "pct", "pct_se", title, text, text.t("axis_share_pct"), money=False
    )


def _by_group_bars(
    table: pd.DataFrame,
    group: str,
    value: str,
    se: str,
    title: str,
    text: FigureText,
    xlabel: str,
    *,
    money: bool,
) -> Figure:
    with figure_style(text.fonts):
        groups = list(dict.fromkeys(table[group]))
        years = list(dict.fromkeys(table["year"]))
        fig = _bar_figure(len(groups), len(years))
        ax = fig.add_subplot()
        series = []
        all_values = []
        for year in years:
            d = table[table["year"] == year].set_index(group).loc[groups]
            v = d[value].to_numpy(dtype=float)
            e = 1.96 * d[se].to_numpy(dtype=float)
            if money:
                v, e = text.unit(v), text.unit(e)
            series.append((str(year), v, e))
            all_values.append(v)
        _grouped_barh(ax, [text.name(group, g, 34) for g in groups], series)
        ax.xaxis.set_major_formatter(_number_formatter(np.concatenate(all_values)))
        ax.set_xlabel(xlabel)
        ax.set_xlim(left=0)
        if len(years) > 1:
            fig.legend(
                *ax.get_legend_handles_labels(),
                title=text.t("col_year"),
                loc="outside right upper",
                frameon=False,
            )
        fig.suptitle(title)
        return fig


def tornado(comparison: pd.DataFrame, period: str, text: FigureText, top: int = 10) -> Figure:
    """One panel per variant: the change of each money measure against the base over ``period``
    (money unit), largest first, with ±1.96 SE of the paired difference."""
    t = text.t
    title = t("fig_tornado", period=period)
    with figure_style(text.fonts):
        d = comparison[
            (comparison["period"] == period)
            & ~comparison["measure"].isin(["p_deficit", "catastrophic_share"])
        ]
        variants = list(dict.fromkeys(d["variant"]))
        if not variants:
            return _empty(text, title, t("no_variants"))
        panels = []
        for v in variants:
            dv = d[(d["variant"] == v) & (d["difference"].abs() > 0)].copy()
            dv = dv.reindex(dv["difference"].abs().sort_values(ascending=False).index).head(top)
            panels.append((v, dv))
        heights = [0.9 + 0.42 * max(len(p[1]), 1) for p in panels]
        fig = Figure(figsize=(9.5, 0.6 + sum(heights)), layout="constrained")
        axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[
            :, 0
        ]
        for i, (ax, (v, dv)) in enumerate(zip(axes, panels, strict=True)):
            if dv.empty:
                ax.axis("off")
                ax.set_title(text.plain(v, f"variant {i + 1}", 80))
                ax.text(0.5, 0.5, "0", ha="center", va="center")
                continue
            labels = [
                wrap(f"{text.name('fund', f, 60).replace(chr(10), ' ')}: {t(m)}", 52)
                for f, m in zip(dv["fund"], dv["measure"], strict=True)
            ]
            values = text.unit(dv["difference"].to_numpy(dtype=float))
            err = text.unit(1.96 * np.nan_to_num(dv["difference_se"].to_numpy(dtype=float)))
            y = np.arange(len(values))
            ax.barh(
                y,
                values,
                xerr=err,
                color=np.where(values >= 0, UP, DOWN),
                height=0.62,
                error_kw={"elinewidth": 0.9, "capsize": 2, "ecolor": "#333333"},
            )
            ax.set_yticks(y, labels)
            ax.invert_yaxis()
            ax.axvline(0, color="#333333", lw=0.9)
            span = float(np.max(np.abs(values) + err)) or 1.0
            ax.set_xlim(-1.15 * span, 1.15 * span)
            ax.xaxis.set_major_formatter(_number_formatter(np.array([span])))
            ax.grid(axis="y", visible=False)
            ax.set_title(text.plain(v, f"variant {i + 1}", 80))
            ax.set_xlabel(t("axis_change", unit=text.unit_label))
        fig.suptitle(title)
        return fig
