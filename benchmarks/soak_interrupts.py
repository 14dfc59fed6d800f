"""Soak check of outputs under interrupts (issue 18): many small ``fundsim run``/``report`` runs
into a shared output pattern, each sent SIGINT, SIGTERM or SIGKILL at a random time (or left
alone), then counted:

- users' folders touched: a folder of someone's files, sometimes given as ``--out``, changed;
- temporary folders left after the next run: ``.NAME.tmp-*``/``.NAME.old-*`` still there after a
  later run into the same output ended normally (a SIGKILL may leave one; the next run removes it);
- corrupt outputs: an output folder without its manifest or with a file that does not parse;
- tracebacks: any run's stderr holding ``Traceback``; and exit codes other than 0, 2, 130, 143
  (or -9 for SIGKILL). A signal that lands before fundsim's handlers are installed (while the
  interpreter starts, before ``main`` runs: tens of milliseconds, since ``import simulation``
  loads no numpy, numba or pandas) gets Python's default action (SIGTERM: killed; SIGINT: a
  KeyboardInterrupt); nothing is written yet, and those runs are counted apart.

Not part of ``make bench`` (it takes 15-30 min): ``nice python -m benchmarks.soak_interrupts
--runs 200``. Prints the counts; exit 1 if any count is not 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "tests" / "data" / "engine" / "layered.toml"
RUN_FILES = {"summary.json", "summary.csv", "paths.parquet", "layers.csv", "categories.csv"}
REPORT_FILES = {"index.html", "summary.json", "summary.csv", "report.xlsx"}


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def corrupt(folder: Path) -> str | None:
    """Why the output ``folder`` is not a complete fundsim output (``None``: it is)."""
    try:
        doc = json.loads((folder / "manifest.json").read_text())
        json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError) as e:
        return f"{folder}: {e}"
    names = {p.name for p in folder.iterdir()}
    want = REPORT_FILES if "lang" in doc else RUN_FILES
    missing = want - names
    return f"{folder}: missing {sorted(missing)}" if missing else None


def temps(parent: Path, name: str) -> list[str]:
    return sorted(
        p.name
        for p in parent.iterdir()
        if p.name.startswith(f".{name}.tmp-") or p.name.startswith(f".{name}.old-")
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--max-delay", type=float, default=8.0, help="latest signal, seconds")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="fundsim-soak-"))
    shared = work / "out"
    shared.mkdir()
    users = shared / "users"  # someone's folder inside the shared pattern
    users.mkdir()
    (users / "notes.txt").write_text("not fundsim output")
    (users / "data").mkdir()
    (users / "data" / "table.csv").write_text("a,b\n1,2\n")
    digest = tree_digest(users)
    counts = {
        "users_folders_touched": 0,
        "temp_folders_left_after_next_run": 0,
        "corrupt_outputs": 0,
        "tracebacks": 0,
        "unexpected_exit_codes": 0,
    }
    outcomes: dict[str, int] = {}
    counts_early = [0]
    dirty: set[str] = set()  # outputs a SIGKILL may have left temporaries of
    t_start = time.monotonic()
    for i in range(args.runs):
        name = rng.choice(["a", "b", "c", "users"]) if rng.random() < 0.15 else rng.choice("abc")
        out = shared / name
        command = "report" if rng.random() < 0.25 else "run"
        argv = [sys.executable, "-m", "simulation.cli", command, str(SCENARIO), "--quiet"]
        argv += ["--paths", str(rng.choice([16, 64, 160, 400])), "--seed", str(i)]
        argv += ["--out", str(out), "--threads", str(rng.choice([1, 2]))]
        if command == "report":
            argv += ["--no-exact", "--cashflow-paths", "0"]
        sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL, None])
        delay = rng.uniform(0.0, args.max_delay)
        child = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if sig is not None:
                try:
                    child.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    child.send_signal(sig)
            _, err = child.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            child.kill()
            _, err = child.communicate()
        text = err.decode("utf-8", "replace")
        rc = child.returncode
        outcomes[str(rc)] = outcomes.get(str(rc), 0) + 1
        early = "fundsim: interrupted" not in text and (
            rc == -signal.SIGTERM
            or (rc in (1, -signal.SIGINT) and "KeyboardInterrupt" in text and "runpy" in text)
            or (rc == -signal.SIGINT and not text.strip())
        )
        if early:  # before fundsim's handlers exist: Python's default action, nothing written
            counts_early[0] += 1
        elif "Traceback" in text:
            counts["tracebacks"] += 1
            print(f"run {i}: traceback\n{text}", file=sys.stderr)
        if not early and rc not in (0, 2, 130, 143, -signal.SIGKILL):
            counts["unexpected_exit_codes"] += 1
            print(f"run {i}: exit {rc}\n{text}", file=sys.stderr)
        if rc == -signal.SIGKILL:
            dirty.add(name)
        else:
            left = temps(shared, name)
            # a run that ended by itself leaves none of its own, and one that ended normally
            # removed those a killed run left
            if left and (name not in dirty or rc == 0):
                counts["temp_folders_left_after_next_run"] += len(left)
                print(f"run {i} (exit {rc}): left {left}", file=sys.stderr)
            if rc == 0:
                dirty.discard(name)
        if tree_digest(users) != digest:
            counts["users_folders_touched"] += 1
            print(f"run {i}: the users' folder changed", file=sys.stderr)
            digest = tree_digest(users)
        if (i + 1) % 25 == 0:
            print(f"# after {i + 1} runs: {counts}, early {counts_early[0]}", flush=True)
        for o in ("a", "b", "c"):
            if (shared / o).is_dir():
                why = corrupt(shared / o)
                if why:
                    counts["corrupt_outputs"] += 1
                    print(f"run {i}: corrupt {why}", file=sys.stderr)
    # a last clean run into every output a SIGKILL left dirty
    for name in sorted(dirty - {"users"}):
        subprocess.run(
            [sys.executable, "-m", "simulation.cli", "run", str(SCENARIO), "--quiet"]
            + ["--paths", "16", "--out", str(shared / name)],
            cwd=work,
            capture_output=True,
        )
        counts["temp_folders_left_after_next_run"] += len(temps(shared, name))
    for name in ("users",):  # refused runs never clean another's folder; it had none
        counts["temp_folders_left_after_next_run"] += len(temps(shared, name))
    print(f"# {args.runs} runs in {time.monotonic() - t_start:.0f} s; exit codes {outcomes}")
    print(
        f"# signals before fundsim's own handlers (interpreter start, imports): {counts_early[0]}"
    )
    for k, v in counts.items():
        print(f"{k}: {v}")
    return 1 if any(counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
