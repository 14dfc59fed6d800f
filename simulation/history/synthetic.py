"""Settled years drawn from a known model, to test that calibration recovers what it was given.

Each year ``k``: the frequency factor ``exp(a_F + b_F k + s_F e_k)``, the cost factor
``exp(a_C + b_C k + s_C e'_k)`` (``e, e'`` independent standard normals); admissions
``A_k ~ Normal(E_k F_k, Var(N_k) F_k)`` rounded (the count's process variance scaled with its
mean), cost per admission ``c_k G_k (1 + sqrt(cv2 / A_k) z_k)`` (the mean of ``A_k`` costs).
The generator is made from ``SeedSequence(seed)``: no global random state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..scenario.schema import Scenario
from .expected import expected_aggregates
from .table import History


@dataclass(frozen=True)
class TruePars:
    """The log levels, trends (per year) and factor log-sds of frequency and cost."""

    freq_level: float = 0.0
    freq_trend: float = 0.0
    freq_size: float = 0.05
    cost_level: float = 0.0
    cost_trend: float = 0.0
    cost_size: float = 0.03
    break_year: int | None = None
    """From this year on, the frequency trend doubles plus 5% a year (a trend break)."""


def draw_history(scenario: Scenario, fund: str, n_years: int, pars: TruePars, seed: int) -> History:
    """A history of ``n_years`` from the scenario's start year (module docstring)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    exp = expected_aggregates(scenario, fund, scenario.start_year + n_years - 1)
    k = np.arange(n_years, dtype=float)
    e1, e2, z1, z2 = (rng.standard_normal(n_years) for _ in range(4))
    log_f = pars.freq_level + pars.freq_trend * k + pars.freq_size * e1
    if pars.break_year is not None:
        after = np.maximum(exp["year"].to_numpy() - pars.break_year + 1, 0)
        log_f = log_f + 0.05 * after
    f = np.exp(log_f)
    g = np.exp(pars.cost_level + pars.cost_trend * k + pars.cost_size * e2)
    mean = exp["admissions"].to_numpy() * f
    adm = np.maximum(np.round(mean + np.sqrt(exp["admissions_var"].to_numpy() * f) * z1), 1.0)
    cpa = exp["cost_per_admission"].to_numpy() * g * (1 + np.sqrt(exp["cost_cv2"] / adm) * z2)
    frame = pd.DataFrame(
        {
            "line": 2 + np.arange(n_years),
            "fund": fund,
            "year": exp["year"].astype(np.int64),
            "category": "all",
            "hospital_level": "all",
            "insured": exp["insured"].to_numpy(),
            "admissions": adm,
            "total_cost": adm * cpa.to_numpy(),
        }
    )
    return History(path=f"synthetic(seed={seed})", frame=frame)


__all__ = ["TruePars", "draw_history"]
