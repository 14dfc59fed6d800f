"""Bit-identity check of every shipped scenario: run each at a fixed seed on a few paths and write
(or compare with) a SHA-256 digest of every output array.

    python -m benchmarks.bit_identity write /tmp/digest.json   # before a refactor
    python -m benchmarks.bit_identity check /tmp/digest.json   # after: exit 1 on any difference

``--off`` runs with systematic risk switched off (process risk alone, today's numbers).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from simulation.engine.run import run, threaded
from simulation.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))
PATHS, SEED, YEARS = 16, 20260501, 2


def digests(off: bool = False) -> dict[str, str]:
    out = {}
    for path in SCENARIOS:
        s = load_scenario(path)
        if off:
            s = s.model_copy(update={"systematic": s.systematic.model_copy(update={"enabled": False})})
        r = run(s, paths=PATHS, seed=SEED, years=min(YEARS, s.horizon_years), runner=threaded(1))
        for group, arrays in (("sims", r.sims), ("money", r.money)):
            for name in sorted(arrays):
                a = np.ascontiguousarray(arrays[name], dtype=np.float64)
                out[f"{path.stem}/{group}/{name}"] = hashlib.sha256(a.tobytes()).hexdigest()
    return out


def main(argv: list[str]) -> int:
    mode, file = argv[0], Path(argv[1])
    now = digests(off="--off" in argv)
    if mode == "write":
        file.write_text(json.dumps(now, indent=1))
        print(f"wrote {len(now)} digests to {file}")
        return 0
    before = json.loads(file.read_text())
    diff = [k for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
    for k in diff:
        print("differs:", k)
    print(f"{len(now) - len(diff)} of {len(now)} outputs bit-identical")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
