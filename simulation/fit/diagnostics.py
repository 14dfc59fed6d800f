"""Goodness of fit of a :class:`~simulation.fit.claims.FitResult`: the per-level table (KS,
Anderson-Darling), the summary the CLI prints, QQ data, and the QQ and mean-excess plots (PNG,
written atomically). Costs in base-year yuan."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..outputs import write_atomic
from .claims import FitResult
from .frequency import FrequencyFit
from .settings import MAX_QQ_POINTS, MIN_EXCESS_POINT
from .tail import mean_excess


def goodness_of_fit_table(result: FitResult) -> pd.DataFrame:
    """One row per claim type x hospital level: the written model and its fit statistics.

    KS p-values ignore that the parameters were estimated from the same data (so they are too
    large); read them as a ranking, the statistics as distances.
    """
    rows = []
    for ct, f in result.claim_types.items():
        for lv, lf in f.severity.levels.items():
            rows.append(
                {
                    "claim_type": ct,
                    "level": lv,
                    "n": lf.n,
                    "body": lf.model.body.value,
                    "mean_yuan": lf.mean_yuan.value,
                    "sample_mean": lf.sample_mean.value,
                    "cv": lf.cv.value,
                    "tail_q": lf.model.tail_quantile if lf.model.has_tail else math.nan,
                    "tail_shape": lf.model.tail_shape if lf.model.has_tail else math.nan,
                    "ks": lf.ks_stat,
                    "ks_p": lf.ks_pvalue,
                    "ad": lf.ad_stat,
                }
            )
    return pd.DataFrame(rows)


def _pearson_text(fr: FrequencyFit) -> str:
    if fr.pearson_dof <= 0:
        return f"Pearson chi2 {fr.pearson_chi2:.1f} (no degrees of freedom left: too few groups)"
    return f"Pearson chi2 {fr.pearson_chi2:.1f} on {fr.pearson_dof} df"


def format_report(result: FitResult) -> str:
    """The fit summary the CLI prints: frequency per claim type, then the severity goodness of fit."""
    lines = []
    for ct, f in result.claim_types.items():
        fr = f.frequency
        disp = (
            f", dispersion {fr.dispersion.value:.3f} (SE {fr.dispersion.se:.3f})"
            if fr.dispersion
            else ""
        )
        lines.append(
            f"{ct} frequency: {fr.distribution.value}{disp}; Poisson vs NB LR {fr.lr_stat:.1f} "
            f"(p {fr.lr_pvalue:.3g}); {_pearson_text(fr)}"
        )
        for note in (*fr.notes, *f.severity.notes):
            lines.append(f"  note: {note}")
    table = goodness_of_fit_table(result)
    if not table.empty:
        formats = {
            "mean_yuan": "{:.0f}".format,
            "sample_mean": "{:.0f}".format,
            "cv": "{:.3f}".format,
            "tail_q": "{:.3f}".format,
            "tail_shape": "{:.3f}".format,
            "ks": "{:.4f}".format,
            "ks_p": "{:.3f}".format,
            "ad": "{:.2f}".format,
        }
        lines.append(
            "severity goodness of fit (KS p-values ignore that parameters were estimated):"
        )
        lines.append(table.to_string(index=False, formatters=formats, na_rep="-"))
    for ct, f in result.claim_types.items():
        for lv, lf in f.severity.levels.items():
            for note in lf.notes:
                lines.append(f"  note: {ct}/{lv}: {note}")
    return "\n".join(lines)


def qq_data(result: FitResult) -> pd.DataFrame:
    """QQ points per claim type x level: ``probability`` (plotting position (i - 0.5)/n), the
    ``empirical`` order statistic and the ``model`` quantile (base-year yuan)."""
    frames = []
    for ct, f in result.claim_types.items():
        for lv, lf in f.severity.levels.items():
            xs = np.sort(lf.data)
            n = xs.size
            if n > MAX_QQ_POINTS:
                idx = np.unique(
                    np.concatenate(
                        [
                            np.linspace(0, n - 1, MAX_QQ_POINTS).round().astype(np.int64),
                            np.arange(max(n - 200, 0), n),
                        ]
                    )
                )
            else:
                idx = np.arange(n)
            p = (idx + 0.5) / n
            frames.append(
                pd.DataFrame(
                    {
                        "claim_type": ct,
                        "level": lv,
                        "probability": p,
                        "empirical": xs[idx],
                        "model": lf.model.ppf(p),
                    }
                )
            )
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["claim_type", "level", "probability", "empirical", "model"])
    )


def _atomic_savefig(fig, path: str | Path) -> None:
    """Write ``fig`` as PNG through :func:`simulation.outputs.write_atomic` (a missing folder is
    a :class:`~simulation.errors.FundsimError`)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    write_atomic(path, buffer.getvalue())


def plot_qq(result: FitResult, path: str | Path) -> None:
    """Write a QQ plot (log-log, one panel per claim type x level) as PNG (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = qq_data(result)
    panels = list(data.groupby(["claim_type", "level"], sort=False))
    ncol = min(3, max(len(panels), 1))
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig = Figure(figsize=(4 * ncol, 3.6 * nrow))
    FigureCanvasAgg(fig)
    for i, ((ct, lv), d) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        ax.loglog(d["model"], d["empirical"], ".", ms=2)
        lo = float(min(d["model"].min(), d["empirical"].min()))
        hi = float(max(d["model"].max(), d["empirical"].max()))
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        lf = result.claim_types[ct].severity.levels[lv]
        if lf.threshold_yuan is not None:
            ax.axvline(lf.model.threshold, color="grey", ls=":", lw=0.8)
        ax.set_title(f"{ct} / {lv} (n={lf.n})", fontsize=9)
        ax.set_xlabel("model quantile, yuan", fontsize=8)
        ax.set_ylabel("claim cost, yuan", fontsize=8)
    fig.tight_layout()
    _atomic_savefig(fig, path)


def plot_mean_excess(result: FitResult, path: str | Path) -> None:
    """Write the mean-excess plots as PNG: one panel per claim type x level, the empirical mean
    excess at the quantiles 0.50, 0.51, ..., 0.99 with 2-SE bars, the candidate thresholds shaded
    and the chosen one dotted."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [
        (ct, lv, lf) for ct, f in result.claim_types.items() for lv, lf in f.severity.levels.items()
    ]
    grid = tuple(round(0.50 + 0.01 * i, 2) for i in range(50))
    ncol = min(3, max(len(panels), 1))
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig = Figure(figsize=(4 * ncol, 3.6 * nrow))
    FigureCanvasAgg(fig)
    for i, (ct, lv, lf) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        t, _ = mean_excess(lf.data, grid)
        t = t[t["n_excess"] >= MIN_EXCESS_POINT]
        ax.errorbar(t["threshold"], t["mean_excess"], yerr=2 * t["se"], fmt="o", ms=2, lw=0.8)
        cand = lf.mean_excess["threshold"]
        ax.axvspan(float(cand.min()), float(cand.max()), color="grey", alpha=0.15, lw=0)
        if lf.threshold_yuan is not None:
            ax.axvline(lf.threshold_yuan, color="k", ls=":", lw=0.8)
        ax.set_title(f"{ct} / {lv}", fontsize=9)
        ax.set_xlabel("threshold, yuan", fontsize=8)
        ax.set_ylabel("mean excess, yuan", fontsize=8)
    fig.tight_layout()
    _atomic_savefig(fig, path)
