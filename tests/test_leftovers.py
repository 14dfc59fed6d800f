"""Leftovers: every --out check runs before the work (no complete temporary folder left by a late
failure); a killed run's temporary folder is removed by the next run unless a live process holds
it; a symlink is written through; a reader always finds a folder while it is replaced."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cli_checks import fails

import simulation.outputs as outputs
from simulation.cli import main
from simulation.errors import FundsimError

ROOT = Path(__file__).parent.parent
LAYERED = str(ROOT / "tests" / "data" / "engine" / "layered.toml")
RUN = ["run", LAYERED, "--paths", "4", "--quiet"]


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def no_engine(monkeypatch):
    import simulation.commands.report as report_command
    import simulation.commands.run as run_command

    def no_run(*a, **k):
        raise AssertionError("the paths ran before the --out check")

    monkeypatch.setattr(run_command, "run_engine", no_run)
    monkeypatch.setattr(report_command, "run_engine", no_run)


@pytest.mark.parametrize("out", [".", "..", "./", "sub/..", "CWD", "PARENT"])
def test_the_working_directory_and_above_are_refused_before_the_run(
    out, tmp_path, capsys, monkeypatch, no_engine
):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "mine.txt").write_text("keep")
    monkeypatch.chdir(work)
    out = {"CWD": str(work), "PARENT": str(tmp_path)}.get(out, out)
    fails(capsys, [*RUN, "--out", out], "--out", "never replaced")
    assert (work / "mine.txt").read_text() == "keep"
    assert hidden(work) == [] and hidden(tmp_path) == []


def test_report_refuses_the_working_directory_before_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import simulation.commands.report as report_command

    monkeypatch.setattr(report_command, "run_engine", lambda *a, **k: 1 / 0)
    fails(capsys, ["report", LAYERED, "--paths", "4", "--quiet", "--out", "."], "never replaced")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_place_is_found_by_a_probe_before_the_run(capsys, no_engine):
    # access() says yes to root in /proc; creating a file there fails
    fails(capsys, [*RUN, "--out", "/proc/fundsim-test/x"], "--out", "cannot write in the folder")


def test_a_symlink_to_a_folder_is_written_through(tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert main([*RUN, "--out", str(link)]) == 0
    assert main([*RUN, "--seed", "9", "--out", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads((real / "manifest.json").read_text())["seed"] == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]
    capsys.readouterr()


@pytest.mark.parametrize("kind", ["dangling", "file"])
def test_a_symlink_to_nothing_or_to_a_file_is_refused(kind, tmp_path, capsys, no_engine):
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    fails(capsys, [*RUN, "--out", str(link)], "--out", "symlink")
    assert link.is_symlink() and (kind == "dangling" or target.read_text() == "keep")


def test_a_stale_temporary_folder_is_removed_unless_a_live_process_holds_it(tmp_path):
    out = tmp_path / "out"
    stale = tmp_path / ".out.tmp-0123abcd"
    stale.mkdir()
    (stale / "half.csv").write_text("a,")
    old = tmp_path / ".out.old-89abcdef"
    old.mkdir()
    live = tmp_path / ".out.tmp-fedcba98"
    live.mkdir()
    other = tmp_path / ".other.tmp-0123abcd"  # another output's: not this run's to judge
    other.mkdir()
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a live run holds its own
        with outputs.atomic_dir(out) as tmp:
            (tmp / "manifest.json").write_text(json.dumps({"fundsim_version": "t"}))
        assert hidden(tmp_path) == [".other.tmp-0123abcd", ".out.tmp-fedcba98"]
    finally:
        os.close(fd)


KILLER = """
import os, signal, sys
import pandas as pd
from simulation.cli import main

def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)

pd.DataFrame.to_csv = die  # killed while the output's files are being written
sys.exit(main(sys.argv[1:]))
"""


def test_a_run_killed_while_writing_leaves_a_folder_the_next_run_removes(tmp_path):
    argv = ["run", LAYERED, "--paths", "4", "--quiet", "--out", "out"]
    child = subprocess.run(
        [sys.executable, "-c", KILLER, *argv], cwd=tmp_path, capture_output=True, timeout=600
    )
    assert child.returncode == -signal.SIGKILL
    assert [n.split("-")[0] for n in hidden(tmp_path)] == [".out.tmp"]
    again = subprocess.run(
        [sys.executable, "-m", "simulation.cli", *argv], cwd=tmp_path, capture_output=True
    )
    assert again.returncode == 0, again.stderr
    assert hidden(tmp_path) == [] and (tmp_path / "out" / "manifest.json").is_file()


def test_a_reader_always_finds_the_folder_while_it_is_replaced(tmp_path):
    out = tmp_path / "out"
    with outputs.atomic_dir(out) as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"fundsim_version": "0"}))
    missing = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            if not (out / "manifest.json").exists():
                missing.append(1)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(1, 60):
            with outputs.atomic_dir(out) as tmp:
                (tmp / "manifest.json").write_text(json.dumps({"fundsim_version": str(i)}))
    finally:
        stop.set()
        t.join()
    assert missing == []
    assert json.loads((out / "manifest.json").read_text())["fundsim_version"] == "59"
    assert hidden(tmp_path) == []


def test_without_an_exchange_the_documented_fallback_still_replaces(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs.folders, "exchange", lambda a, b: False)
    out = tmp_path / "out"
    for i in range(2):
        with outputs.atomic_dir(out) as tmp:
            (tmp / "manifest.json").write_text(json.dumps({"fundsim_version": str(i)}))
    assert json.loads((out / "manifest.json").read_text())["fundsim_version"] == "1"
    assert hidden(tmp_path) == []


def test_the_api_refuses_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(FundsimError, match="never replaced"), outputs.atomic_dir("."):
        raise AssertionError("the work started")
    assert (tmp_path / "mine.txt").read_text() == "keep"


# --------------------------------------------------------------------------- single files


def test_a_stale_temporary_file_is_removed_unless_a_live_process_holds_it(tmp_path):
    out = tmp_path / "x.csv"
    stale = tmp_path / ".x.csv.tmp-0123abcd"
    stale.write_text("a,")
    live = tmp_path / ".x.csv.tmp-fedcba98"
    live.write_text("b,")
    kept = [
        ".other.csv.tmp-0123abcd",  # another output's: not this write's to judge
        ".x.csv.tmp-0123abcd.bak",  # not of its naming
        ".x.csv.tmp-01234",
    ]
    for name in kept:
        (tmp_path / name).write_text("c")
    os.symlink(tmp_path / "x.csv.target", tmp_path / ".x.csv.tmp-00000000")  # not a file
    (tmp_path / ".x.csv.tmp-11111111").mkdir()  # a folder: remove_stale's business, not this
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a live writer holds its own
        outputs.write_atomic(out, "x,y\n")
        expected = sorted([*kept, ".x.csv.tmp-00000000", ".x.csv.tmp-11111111", live.name])
        assert hidden(tmp_path) == expected
        assert out.read_text() == "x,y\n" and live.read_text() == "b,"
    finally:
        os.close(fd)


def test_files_staged_together_hold_their_locks_until_renamed(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    with outputs.all_or_nothing():
        outputs.write_atomic(a, "1")
        outputs.write_atomic(b, "2")
        staged = hidden(tmp_path)
        assert [n.split("-")[0] for n in staged] == [".a.json.tmp", ".b.json.tmp"]
        assert outputs.remove_stale_files(a) == [] and outputs.remove_stale_files(b) == []
        assert hidden(tmp_path) == staged
    assert hidden(tmp_path) == [] and a.read_text() == "1" and b.read_text() == "2"


KILLED_BEFORE_RENAME = """
import os, signal, sys
import simulation.outputs as outputs

def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)

os.replace = die  # killed between writing the temporary file and renaming it
outputs.write_atomic(sys.argv[1], "half")
"""


def test_a_write_killed_before_its_rename_leaves_a_file_the_next_write_removes(tmp_path):
    out = tmp_path / "table.csv"
    out.write_text("previous")
    child = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_RENAME, str(out)], capture_output=True, timeout=300
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert [n.split("-")[0] for n in hidden(tmp_path)] == [".table.csv.tmp"]
    assert out.read_text() == "previous"
    outputs.write_atomic(out, "next")
    assert hidden(tmp_path) == [] and out.read_text() == "next"
