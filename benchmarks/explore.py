"""The explorer's latency on Henan: time from a lever's change to the updated one-year numbers.

``python -m benchmarks.run explore``. The explorer (:class:`simulation.explore.Explorer`, the
object the page drives; the page adds one websocket round trip) is opened on the Henan scenario
(its base numbers: the exact law of each of the four funds' claims), then:

1. 20 changes of financing and contract levers (the claims laws are cached; the contract is settled
   again on them): median and max;
2. changes of layer levers (each recomputes the exact law of the funds the layer reaches: the
   layer's fund and those after it in the cascade): median and max, the seconds per fund, and
   where the time goes (cProfile of one change, the top functions by own time).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HENAN = ROOT / "scenarios" / "henan_supplementary_2019.toml"
QUICK = os.environ.get("FUNDSIM_BENCH_QUICK") == "1"

CHEAP = [
    ("funds.supplementary.financing_per_head.tier1.2019", 130),
    ("funds.supplementary.financing_per_head.tier2.2019", 110),
    ("funds.supplementary.financing_per_head.tier3.2019", 90),
    ("funds.supplementary.financing_per_head.tier4.2019", 70),
    ("funds.serious_illness.financing_per_head.2019", 80),
    ("funds.supplementary.contract.profit_cap_rate", 0.03),
    ("funds.serious_illness.contract.operating_cost_rate", 0.02),
]
"""(lever, base value): each change moves one lever by a step from its base value."""

LAYER = [
    ("layers.supplementary.deductible", 2000),
    ("layers.supplementary.bands[0].ratio", 0.55),
    ("layers.assistance.bands[0].ratio", 0.75),
    ("layers.supplementary.annual_cap", 250000),
]


def _line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


def explore_latency() -> None:
    from simulation.explore import Explorer

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        e = Explorer(HENAN, Path(tmp) / "v.toml")
        _line(
            "open Henan (exact law of 4 funds, base numbers)", f"{time.perf_counter() - t0:.1f} s"
        )

        cheap = []
        for i in range(20):
            path, base = CHEAP[i % len(CHEAP)]
            step = 1 + i // len(CHEAP)
            value = base + step if base >= 1 else round(base + 0.001 * step, 6)
            t = time.perf_counter()
            update = e.set(path, value)
            cheap.append(time.perf_counter() - t)
            assert not update.error, update.error
        _line(
            "20 financing/contract changes: median / max",
            f"{statistics.median(cheap) * 1e3:.0f} / {max(cheap) * 1e3:.0f} ms (target < 1 s)",
        )

        layer = []
        changes = LAYER[:1] if QUICK else LAYER
        for j, (path, value) in enumerate(changes):
            before = e.cache.computed
            profile = cProfile.Profile() if j == 0 else None
            t = time.perf_counter()
            if profile is not None:
                profile.enable()
            update = e.set(path, value)
            if profile is not None:
                profile.disable()
            layer.append(time.perf_counter() - t)
            assert not update.error, update.error
            _line(
                f"layer change {path}",
                f"{layer[-1]:.1f} s ({e.cache.computed - before} fund laws recomputed)",
            )
            if profile is not None:
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(8)
                print("  where the time goes (first layer change, top 8 by own time):")
                for row in out.getvalue().splitlines():
                    if row.strip() and ("{" in row or ".py" in row):
                        print("    " + row.strip()[:150])
        _line(
            f"{len(layer)} layer changes: median / max",
            f"{statistics.median(layer):.1f} / {max(layer):.1f} s (target < 1 s)",
        )
