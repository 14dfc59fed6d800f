"""The director's key messages: one sentence or two per fund, with numbers, over the run's years.

:func:`key_figures` computes them (a tidy table: fund, measure, mean, se; money in yuan summed
over the run's policy years per path, so the SE is that of the total): financing, claims, the
fund's balance of the years (financing minus claims), the insurer's expected result after
operating cost and the probability that it is negative over the whole run, clawback and
policy-change subsidy; and the population's average share with catastrophic out-of-pocket cost.

:func:`key_messages` turns them into sentences in the report's language. A sentence marks the
terms it uses as ``[[term|text]]``; :func:`segments` splits it into (text, term) pieces the page
links to the glossary (:data:`GLOSSARY_TERMS`, defined in :mod:`.words`).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..engine.result import SimulationResult
from ..scenario.schema import ContractKind
from . import tables as T
from .compare import period_label
from .display import balance_note
from .html import Formatter, fmt_pct
from .i18n import Translator

GLOSSARY_TERMS = (
    "financing",
    "claims",
    "balance",
    "deficit",
    "insurer_result",
    "p_loss",
    "clawback",
    "subsidy",
    "catastrophic",
    "se",
    "pp",
    "var",
    "tvar",
    "break_even",
)
"""The glossary's terms, in order (messages ``g_<term>`` and ``gdef_<term>``)."""

_TERM = re.compile(r"\[\[(\w+)\|([^\]]+)\]\]")


class Segment(NamedTuple):
    text: str
    term: str = ""
    """The glossary term the text links to ("" for plain text)."""


def segments(sentence: str) -> list[Segment]:
    """``"a [[deficit|deficit]] of 3"`` -> [("a ", ""), ("deficit", "deficit"), (" of 3", "")]."""
    out: list[Segment] = []
    pos = 0
    for m in _TERM.finditer(sentence):
        if m.start() > pos:
            out.append(Segment(sentence[pos : m.start()]))
        out.append(Segment(m[2], m[1]))
        pos = m.end()
    if pos < len(sentence):
        out.append(Segment(sentence[pos:]))
    return out


def plain(sentence: str) -> str:
    """The sentence without its term marks."""
    return "".join(s.text for s in segments(sentence))


def _mean_se(v: np.ndarray) -> tuple[float, float]:
    k = v.shape[0]
    return float(v.mean()), (float(v.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan"))


def key_figures(result: SimulationResult) -> pd.DataFrame:
    """Per fund (and ``population``): measure, mean and Monte Carlo SE over the run's years."""
    rows: list[dict[str, Any]] = []
    money = result.money
    for f, fund in enumerate(result.plan.funds):
        total = {m: money[m][:, :, f].sum(axis=1) for m in ("premium", "claims", "surplus")}
        for m in ("premium", "claims", "surplus"):
            mean, se = _mean_se(total[m])
            rows.append({"fund": fund, "measure": m, "mean": mean, "se": se})
        if fund in T.insurer_funds(result):
            net = money["insurer_result_net"][:, :, f].sum(axis=1)
            for m, v in (
                ("insurer_result_net", net),
                ("p_insurer_loss", (net < 0).astype(float)),
                ("clawback", money["clawback"][:, :, f].sum(axis=1)),
                ("subsidy", money["subsidy"][:, :, f].sum(axis=1)),
            ):
                mean, se = _mean_se(v)
                rows.append({"fund": fund, "measure": m, "mean": mean, "se": se})
    share = result.catastrophic_share().mean(axis=1)
    mean, se = _mean_se(share)
    rows.append({"fund": T.POPULATION, "measure": "catastrophic_share", "mean": mean, "se": se})
    return pd.DataFrame(rows, columns=["fund", "measure", "mean", "se"])


def key_messages(
    t: Translator,
    fmt: Formatter,
    result: SimulationResult,
    figures: pd.DataFrame,
    names: dict[str, dict[str, str]],
    lang: str,
) -> list[str]:
    """One message per fund and one for the population, terms marked ``[[term|text]]``."""
    scenario = result.plan.scenario
    years = period_label(list(result.years))
    unit = t(fmt.unit.key)
    out = []
    for fund in [*result.plan.funds, T.POPULATION]:
        d = figures[figures["fund"] == fund]
        if d.empty:
            continue
        v = {r.measure: (r.mean, r.se) for r in d.itertuples()}
        if fund == T.POPULATION:
            out.append(
                t(
                    "km_population",
                    share=fmt.prob_est(*v["catastrophic_share"], 1),
                    threshold=fmt_pct(scenario.economy.catastrophic_share, 0),
                )
            )
            continue
        name = names["fund"].get(fund, fund)
        premium, claims = v["premium"][0], v["claims"][0]
        ratio = fmt_pct(claims / premium, 0) if premium > 0 else "—"
        common = {
            "fund": name,
            "years": years,
            "unit": unit,
            "claims": fmt.money_se(*v["claims"]),
            "premium": fmt.money(premium),
            "ratio": ratio,
        }
        contract = scenario.funds[fund].contract
        if "insurer_result_net" in v:
            res, res_se = v["insurer_result_net"]
            key = "km_costplus" if contract.kind is ContractKind.COST_PLUS else "km_insurer"
            out.append(
                t(
                    key,
                    **common,
                    result=fmt.money_se(res, res_se),
                    margin=fmt_pct(res / premium, 1) if premium > 0 else "—",
                    p_loss=fmt.prob_est(*v["p_insurer_loss"], 0),
                    clawback=fmt.money_se(*v["clawback"]),
                    subsidy=fmt.money_se(*v["subsidy"]),
                )
            )
        else:
            note = balance_note(scenario, fund, lang) or t("km_no_insurer_default")
            out.append(t("km_no_insurer", **common, surplus=fmt.money_se(*v["surplus"]), note=note))
    return out
