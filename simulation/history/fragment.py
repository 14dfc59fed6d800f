"""A calibration as a TOML scenario fragment, in the scenario file's own keys.

- ``[claims.inpatient.frequency]``: ``rate`` (every category's rate times ``exp(a_F + s_F^2/2)``)
  and ``trend`` (``(1 + trend) exp(b_F) - 1``);
- ``[claims.inpatient.severity]``: ``trend`` by year (``(1 + trend_t) exp(b_C) - 1``), and each
  level's ``mean_yuan`` times ``exp(a_C + s_C^2/2)``;
- ``[systematic]``: ``enabled = true``; ``[systematic.frequency.inpatient]`` and
  ``[systematic.cost.inpatient]``: the factor sizes as ``cv = sqrt(exp(s^2) - 1)`` (lognormal),
  ``trend_sd`` = the trend's standard error (the engine draws the trend once per path around the
  fitted value: parameter uncertainty of the trend), ``phi = 0`` (six or so years cannot tell a
  persistence; the lag-1 correlation of the residuals is given in a comment);
- ``[systematic.parameters.inpatient]``: the covariance of the log levels (``frequency.rate`` and
  every ``severity.<level>.mean``, the cost level moving all levels alike), drawn once per path.

The full covariance of the six estimates (levels, trends and sizes) is written in comments.
"""

from __future__ import annotations

import math

import numpy as np

from ..scenario.schema import LEVELS, ClaimType, Scenario
from .calibrate import Calibration

FORWARD_YEARS = 10
"""Years after the last settled year for which the severity trend is written."""


def _num(v: float, digits: int = 6) -> str:
    text = f"{v:.{digits}g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


def _lag1(r: np.ndarray) -> float:
    if len(r) < 3:
        return float("nan")
    return float(np.corrcoef(r[:-1], r[1:])[0, 1])


def to_fragment(cal: Calibration, scenario: Scenario, history_path: str) -> str:
    model = scenario.claims[ClaimType.INPATIENT]
    f, c = cal.frequency, cal.cost
    lines = [
        f"# fundsim calibrate: {scenario.name} to the settled years of fund {cal.fund!r} in "
        f"{history_path}",
        "# Model: log(actual / model) = level + trend * (year - start) + factor + process noise,",
        "# Gaussian likelihood, SEs from the inverse Fisher information (simulation/history/calibrate.py).",
        f"# frequency years used: {', '.join(map(str, f.years))}; cost years used: "
        f"{', '.join(map(str, c.years))}",
    ]
    lines += [f"# note: {n}" for n in cal.notes]
    for comp in (f, c):
        se = comp.se
        lines.append(
            f"# {comp.name}: level {comp.level:.5f} (SE {se[0]:.3g}), trend {comp.trend:.5f} "
            f"(SE {se[1]:.3g}), size {comp.size:.5f} (SE {se[2]:.3g}); lag-1 correlation of the "
            f"residuals {_lag1(comp.residuals()):.2f}"
        )
    cov = cal.covariance()
    lines.append("# covariance of (" + ", ".join(cov.columns) + "):")
    for row in cov.to_numpy():
        lines.append("#   [" + ", ".join(f"{v:.4g}" for v in row) + "]")
    lines.append("")
    fm = f.mean_multiplier
    rate = ", ".join(f"{k} = {_num(v * fm)}" for k, v in model.frequency.rate.items())
    lines += [
        "[claims.inpatient.frequency]",
        f"rate = {{ {rate} }}   # the scenario's rates x {fm:.5f}",
        f"trend = {_num((1 + model.frequency.trend) * math.exp(f.trend) - 1, 5)}",
        "",
    ]
    last = int(max(cal.data["year"])) + FORWARD_YEARS
    trend = ", ".join(
        f"{y} = {_num((1 + model.severity.trend.at(y)) * math.exp(c.trend) - 1, 5)}"
        for y in range(scenario.start_year, last + 1)
    )
    lines += ["[claims.inpatient.severity]", f"trend = {{ {trend} }}", ""]
    cm = c.mean_multiplier
    for lv in LEVELS:
        lvl = model.severity.levels.get(lv)
        if lvl is None:
            continue
        lines += [
            f"[claims.inpatient.severity.levels.{lv.value}]",
            f"mean_yuan = {_num(lvl.mean_yuan * cm)}   # x {cm:.5f}",
            "",
        ]
    src = f'source = "fundsim calibrate to {history_path}"'
    lines += ["[systematic]", "enabled = true", ""]
    for kind, comp in (("frequency", f), ("cost", c)):
        lines += [
            f"[systematic.{kind}.inpatient]",
            f"cv = {_num(comp.cv, 5)}   # log-sd {comp.size:.5f}",
            "phi = 0.0",
            f"trend_sd = {_num(min(comp.se[1], 0.5), 5)}   # the trend's SE",
            src,
            "",
        ]
    names = ["frequency.rate", *(f"severity.{lv.value}.mean" for lv in LEVELS)]
    va, vc = f.covariance[0, 0], c.covariance[0, 0]
    m = np.zeros((4, 4))
    m[0, 0] = va
    m[1:, 1:] = vc
    rows = ", ".join("[" + ", ".join(_num(v, 6) for v in row) + "]" for row in m)
    lines += [
        "[systematic.parameters.inpatient]",
        "names = [" + ", ".join(f'"{n}"' for n in names) + "]",
        f"covariance = [{rows}]",
        src,
        "",
    ]
    return "\n".join(lines)


__all__ = ["to_fragment"]
