"""Bit-identity check of every shipped scenario: run each at a fixed seed on a few paths and years
and write (or compare with) a SHA-256 digest of every output array.

    python -m benchmarks.bit_identity write /tmp/digest.json   # before a refactor
    python -m benchmarks.bit_identity check /tmp/digest.json   # after: exit 1 on any difference

Every scenario runs with systematic risk as shipped (``on/``) and switched off (``off/``: process
risk alone). Digested per scenario and mode:

- ``engine``: every array of :func:`simulation.engine.run.run` (``sims`` and ``money``);
- ``pricing``: :func:`simulation.pricing.sample.settle_sample` of each insured fund's claims from
  that run, at the scenario's financing;
- ``cashflow``: :func:`simulation.cashflow.run_cashflow` of each insured fund on a few paths (the
  monthly balances, the by-year table and the ledger);
- ``synth``: :func:`simulation.synth.synth_claims` on a scaled-down roster;
- ``exact``: the exact law of each insured fund's first-year claims on a small grid.

``--only engine,pricing`` restricts the sections (``check`` then compares those alone).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.engine.run import run, threaded
from simulation.scenario import load_scenario
from simulation.scenario.schema import ContractKind, Scenario

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))
PATHS, SEED, YEARS = 16, 20260501, 3
CASHFLOW_PATHS, CASHFLOW_YEARS, SYNTH_SCALE = 3, 2, 0.002
SECTIONS = ("engine", "pricing", "cashflow", "synth", "exact")


def _digest(a: Any) -> str:
    if isinstance(a, pd.DataFrame):
        data = a.to_csv(index=False, float_format="%.17g").encode()
    else:
        data = np.ascontiguousarray(a, dtype=np.float64).tobytes()
    return hashlib.sha256(data).hexdigest()


def _insured(s: Scenario) -> list[str]:
    return [
        f for f, cfg in s.funds.items() if ContractKind(cfg.contract.kind) is not ContractKind.NONE
    ]


def _scenario_digests(s: Scenario, sections: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    years = min(YEARS, s.horizon_years)
    if "engine" in sections or "pricing" in sections:
        r = run(s, paths=PATHS, seed=SEED, years=years, runner=threaded(1))
        if "engine" in sections:
            for group, arrays in (("sims", r.sims), ("money", r.money)):
                for name in sorted(arrays):
                    out[f"engine/{group}/{name}"] = _digest(arrays[name])
        if "pricing" in sections:
            from simulation.pricing.sample import claims_sample, settle_sample

            for fund in _insured(s):
                settled = settle_sample(claims_sample(r, fund))
                for key in sorted(settled):
                    out[f"pricing/{fund}/{key}"] = _digest(settled[key])
    if "cashflow" in sections:
        from simulation.cashflow import run_cashflow

        for fund in _insured(s):
            c = run_cashflow(
                s, fund, paths=CASHFLOW_PATHS, seed=SEED, years=min(CASHFLOW_YEARS, years)
            )
            out[f"cashflow/{fund}/monthly_balance"] = _digest(c.monthly_balance)
            out[f"cashflow/{fund}/by_year"] = _digest(c.by_year)
            out[f"cashflow/{fund}/ledger"] = _digest(c.ledger)
            out[f"cashflow/{fund}/financing"] = _digest(c.financing_table())
    if "synth" in sections:
        from simulation.synth import synth_claims

        t = synth_claims(s, years, np.random.default_rng(SEED), scale=SYNTH_SCALE)
        out["synth/claims"] = _digest(t.claims)
        out["synth/exposure"] = _digest(t.exposure)
    if "exact" in sections:
        from simulation.engine.exact.scenario import compute_exact

        for fund in _insured(s):
            d = compute_exact(s, fund, s.start_year, n_grid=2**12, n_aggregate=2**14)
            out[f"exact/{fund}/x"] = _digest(d.x)
            out[f"exact/{fund}/p"] = _digest(d.p)
            out[f"exact/{fund}/moments"] = _digest([d.per_person_mean, d.per_person_var])
    return out


def digests(sections: tuple[str, ...] = SECTIONS) -> dict[str, str]:
    """Digests of every shipped scenario's outputs, keyed ``mode/scenario/section/...``."""
    out = {}
    for path in SCENARIOS:
        shipped = load_scenario(path)
        off = shipped.model_copy(
            update={"systematic": shipped.systematic.model_copy(update={"enabled": False})}
        )
        for mode, s in (("on", shipped), ("off", off)):
            if mode == "on" and not shipped.systematic.enabled:
                continue  # the same numbers as "off"
            for key, value in _scenario_digests(s, sections).items():
                out[f"{mode}/{path.stem}/{key}"] = value
    return out


def main(argv: list[str]) -> int:
    mode, file = argv[0], Path(argv[1])
    sections = SECTIONS
    if "--only" in argv:
        sections = tuple(argv[argv.index("--only") + 1].split(","))
    now = digests(sections)
    if mode == "write":
        file.write_text(json.dumps(now, indent=1))
        print(f"wrote {len(now)} digests to {file}")
        return 0
    before = json.loads(file.read_text())
    before = {k: v for k, v in before.items() if k.split("/")[2] in sections}
    diff = [k for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
    for k in diff:
        print("differs:", k)
    print(f"{len(now) - len(diff)} of {len(before)} outputs bit-identical")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
