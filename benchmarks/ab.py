"""A/B of the full engine's speed: this tree against a git revision, on the same machine load.

``python -m benchmarks.run ab`` (revision ``FUNDSIM_AB_REV``, default ``HEAD``; e.g. the commit
before a refactor) exports the revision's tree to a temporary directory (``git archive``), then
runs the same measurement in fresh subprocesses of each tree in the order A B B A, ``rounds``
times: the CPU seconds of a one-thread run of the Henan scenario (best of 3 after a warm-up
run that also compiles the kernel). Prints each tree's best and the ratio B / A of the bests per
round (the spread of the ratios says how noisy the machine was). Never asserts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys, time
from functools import partial
from simulation import load_scenario
from simulation.engine.run import in_process, run
s = load_scenario(sys.argv[1])
one = partial(in_process, threads=1)
run(s, paths=1, seed=1, years=1, runner=one)
best = float("inf")
for _ in range(3):
    t0 = time.process_time()
    run(s, paths=int(sys.argv[2]), seed=1, years=1, runner=one)
    best = min(best, time.process_time() - t0)
print(best)
"""


def _export(rev: str, into: Path) -> Path:
    archive = into / "tree.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=f, check=True)
    with tarfile.open(archive) as t:
        t.extractall(into / "tree", filter="tar")  # the repository's own tree (links kept)
    return into / "tree"


def _seconds(tree: Path, scenario: Path, paths: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(scenario), str(paths)],
        env=env, cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def ab(rev: str | None = None, rounds: int = 2, paths: int = 8) -> list[float]:
    """Ratios (this tree / ``rev``) of the best one-thread CPU seconds, one per round."""
    rev = rev or os.environ.get("FUNDSIM_AB_REV", "HEAD")
    scenario = ROOT / "scenarios" / "henan_supplementary_2019.toml"
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        base = _export(rev, Path(tmp))
        trees = {"A": base, "B": ROOT}
        for r in range(rounds):
            best = {"A": float("inf"), "B": float("inf")}
            for key in ("A", "B", "B", "A"):
                best[key] = min(best[key], _seconds(trees[key], scenario, paths))
            ratios.append(best["B"] / best["A"])
            print(
                f"  round {r + 1}: {rev} {best['A']:.3f} s, this tree {best['B']:.3f} s, "
                f"ratio {ratios[-1]:.3f}",
                flush=True,
            )
    print(f"  ratio this tree / {rev}: {min(ratios):.3f} to {max(ratios):.3f} over {rounds} rounds")
    return ratios


__all__ = ["ab"]
