"""Interrupts: real SIGINT/SIGTERM sent to a real ``fundsim`` child process end it with one line
(``fundsim: interrupted``), exit 130 or 143, no traceback and no temporary folder left.

The child is ``fundsim`` itself, started through a wrapper that writes a marker file once the
first block of paths is done, so each signal lands while the run is simulating (the tests wait
for the marker, never a fixed sleep; the timeouts are generous for a loaded machine).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simulation import interrupts

ROOT = Path(__file__).parent.parent
LAYERED = str(ROOT / "tests" / "data" / "engine" / "layered.toml")
WAIT = 240.0
"""Seconds to wait for a marker or an exit (a loaded 2-core machine, a first compilation)."""

WRAPPER = """
import sys
from pathlib import Path

import simulation.engine.run as engine_run
from simulation.cli import main

marker = Path(sys.argv[1])
inner = engine_run.simulate_paths


def simulate_paths(plan, paths, seed, runner=engine_run.in_process, progress=None):
    def started(n):
        if not marker.exists():
            marker.write_text("started")
        if progress is not None:
            progress(n)

    return inner(plan, paths, seed, runner, started)


engine_run.simulate_paths = simulate_paths
sys.exit(main(sys.argv[2:]))
"""


def start(tmp_path: Path, argv: list[str], **popen) -> tuple[subprocess.Popen, Path]:
    marker = tmp_path / "started.marker"
    child = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, str(marker), *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    return child, marker


def wait_for(marker: Path, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT
    while not marker.exists():
        if child.poll() is not None:
            out, err = child.communicate()
            raise AssertionError(f"the child ended before starting: {child.returncode}\n{err}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("the child did not start in time")
        time.sleep(0.05)


def finish(child: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = child.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        raise AssertionError(f"the child did not stop after the signal\n{err}") from None
    return child.returncode, out, err


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def interrupted(tmp_path, argv, sig, code, **popen) -> str:
    child, marker = start(tmp_path, argv, **popen)
    wait_for(marker, child)
    if popen.get("start_new_session"):
        os.killpg(child.pid, sig)  # as a terminal's Ctrl-C: the whole process group
    else:
        child.send_signal(sig)
    rc, out, err = finish(child)
    assert rc == code, err
    assert err.strip().splitlines()[-1] == "fundsim: interrupted", err
    assert "Traceback" not in err and "SystemError" not in err, err
    return err


RUN = ["run", LAYERED, "--paths", "200000", "--seed", "3", "--quiet"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_run_stops_with_one_line_and_its_exit_code(tmp_path, sig, code):
    err = interrupted(tmp_path, [*RUN, "--threads", "1", "--out", "out"], sig, code)
    assert err.strip() == "fundsim: interrupted"
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


def test_threads_stop_on_sigterm_and_keep_the_previous_output(tmp_path):
    prior = subprocess.run(
        [sys.executable, "-m", "simulation.cli", "run", LAYERED, "--paths", "16", "--quiet"]
        + ["--out", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert prior.returncode == 0, prior.stderr
    before = (tmp_path / "out" / "summary.json").read_text()
    err = interrupted(tmp_path, [*RUN, "--threads", "2", "--out", "out"], signal.SIGTERM, 143)
    assert err.strip() == "fundsim: interrupted"
    assert (tmp_path / "out" / "summary.json").read_text() == before
    assert hidden(tmp_path) == []


def test_report_records_the_interruption_in_its_log(tmp_path):
    argv = ["report", LAYERED, "--paths", "200000", "--quiet", "--threads", "1", "--out", "rep"]
    err = interrupted(tmp_path, [*argv, "--log", "report.log"], signal.SIGTERM, 143)
    assert err.strip() == "fundsim: interrupted"
    log = (tmp_path / "report.log").read_text()
    assert "interrupted (SIGTERM): no report written" in log
    assert not (tmp_path / "rep").exists() and hidden(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_on_a_local_dask_cluster_is_one_line(tmp_path):
    argv = [*RUN, "--workers", "2", "--out", "out"]
    err = interrupted(tmp_path, argv, signal.SIGINT, 130, start_new_session=True)
    assert err.strip() == "fundsim: interrupted", err
    assert hidden(tmp_path) == []


EARLY = """
import runpy
import sys
import time
from pathlib import Path

marker = Path(sys.argv[1])


class SlowNumpy:  # the first import of numpy writes the marker and takes 2 s more
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and not marker.exists():
            marker.write_text("importing numpy")
            time.sleep(2)
        return None


sys.meta_path.insert(0, SlowNumpy())
entry, sys.argv = sys.argv[2], ["fundsim", *sys.argv[3:]]
if entry == "script":  # what the installed ``fundsim`` script does
    from simulation.cli import main

    sys.exit(main())
runpy.run_module("simulation", run_name="__main__", alter_sys=True)  # python -m simulation
"""


@pytest.mark.parametrize("entry", ["script", "module"])
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_library_imports_is_one_line(tmp_path, entry, sig, code):
    """The handlers are set before numpy, numba and pandas load (about a second): a signal
    then is no ``KeyboardInterrupt`` traceback in an import, nor a silent death on SIGTERM."""
    marker = tmp_path / "importing.marker"
    argv = ["run", LAYERED, "--paths", "4", "--quiet", "--out", "out"]
    child = subprocess.Popen(
        [sys.executable, "-c", EARLY, str(marker), entry, *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(marker, child)
    child.send_signal(sig)
    rc, out, err = finish(child)
    assert (rc, err) == (code, "fundsim: interrupted\n")
    assert out == "" and list(tmp_path.iterdir()) == [marker]


# --------------------------------------------------------------------------- the mechanism


def test_a_signal_in_a_deferred_block_is_raised_at_its_end():
    with interrupts.handle_signals():
        reached = False
        with pytest.raises(interrupts.Interrupted) as e:
            with interrupts.deferred():
                signal.raise_signal(signal.SIGTERM)
                reached = True  # the handler only recorded it
        assert reached and e.value.exit_code == 143
    assert interrupts.pending() is None


def test_every_thread_stops_at_its_next_check():
    seen: list[str] = []

    def worker():
        try:
            interrupts.check()
        except interrupts.Interrupted as e:
            seen.append(str(e))

    with interrupts.handle_signals():
        with interrupts.deferred(raise_at_end=False):
            signal.raise_signal(signal.SIGINT)
        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert seen == ["SIGINT"] * 3


def test_the_kernels_blocks_check_between_blocks(monkeypatch):
    from simulation import load_scenario
    from simulation.engine.plan import build_plan
    from simulation.engine.simulate import simulate_block

    plan = build_plan(load_scenario(LAYERED), years=1)
    with interrupts.handle_signals():
        with interrupts.deferred(raise_at_end=False):
            signal.raise_signal(signal.SIGINT)
        with pytest.raises(interrupts.Interrupted):
            simulate_block(plan, 1, 0, 16)


def test_the_commit_of_an_output_is_not_cut_in_half(tmp_path, monkeypatch):
    import simulation.outputs.folders as outputs

    inner = outputs._replace

    def replace(a, b):  # a signal while the folder is put in place is raised after it
        signal.raise_signal(signal.SIGTERM)
        inner(a, b)

    monkeypatch.setattr(outputs, "_replace", replace)
    out = tmp_path / "out"
    with interrupts.handle_signals(), pytest.raises(interrupts.Interrupted):
        with outputs.atomic_dir(out) as tmp:
            (tmp / "manifest.json").write_text(json.dumps({"fundsim_version": "t"}))
    assert json.loads((out / "manifest.json").read_text())["fundsim_version"] == "t"
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_process_exits_keeps_the_commands_exit_code(sig):
    """Soak run 63 (exit -2): a signal that landed after a command had printed its error, once
    the handlers were put back, killed the process. The ``fundsim`` process keeps its handlers
    to the end, recording a late signal only; a call with ``argv`` restores the caller's."""
    code = (
        "import os, signal, sys\n"
        "from simulation import cli\n"
        "from simulation.interrupts import handle_signals\n"
        "before = signal.getsignal(signal.SIGINT)\n"
        "assert cli.main(['validate', '/nonexistent.toml']) == 2\n"
        "assert signal.getsignal(signal.SIGINT) is before\n"
        "with handle_signals(restore=False):\n"
        "    pass\n"
        f"os.kill(os.getpid(), {int(sig)})\n"
        "print('alive')\n"
        "sys.exit(2)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stdout.strip() == "alive" and "Traceback" not in p.stderr


class _SignalsWhenCollected:
    """Sends SIGTERM from its ``__del__`` and records whether the finaliser ran to its end."""

    finished = False

    def __del__(self):
        signal.raise_signal(signal.SIGTERM)
        _SignalsWhenCollected.finished = True  # the handler did not raise inside __del__


def test_a_signal_inside_a_finaliser_is_raised_after_it(capsys):
    """Soak (issue 18): a SIGTERM raised by the handler inside a weakref callback was printed as
    "Exception ignored in ... WeakKeyDictionary ... remove" and lost there. The handler sends the
    signal again from a finaliser, so it is raised at the next statement outside it."""
    _SignalsWhenCollected.finished = False
    after = []
    with interrupts.handle_signals():
        with pytest.raises(interrupts.Interrupted) as e:
            obj = _SignalsWhenCollected()
            del obj
            after.append("next statement")  # reached: the handler only recorded it there
            time.sleep(10)  # sent again a millisecond later, raised here
    assert _SignalsWhenCollected.finished and after and e.value.exit_code == 143
    assert "Exception ignored" not in capsys.readouterr().err


def test_a_signal_lost_in_a_weakref_callback_is_sent_again_not_printed(capsys):
    """A callback outside weakref.py (not recognised by its frame): the Interrupted it raises
    reaches ``sys.unraisablehook``, which sends the signal again instead of printing it."""
    import weakref

    class Thing:
        pass

    def callback(_ref):
        signal.raise_signal(signal.SIGINT)
        for _ in range(100):  # the handler runs here and raises inside the callback
            pass

    hook = sys.unraisablehook
    with interrupts.handle_signals():
        with pytest.raises(interrupts.Interrupted) as e:
            thing = Thing()
            ref = weakref.ref(thing, callback)
            del thing
            time.sleep(10)
        assert ref() is None
    assert e.value.exit_code == 130 and sys.unraisablehook is hook
    assert "Exception ignored" not in capsys.readouterr().err


def test_signals_while_the_interpreter_finalises_keep_the_exit_code():
    """Soak run 29 (exit -2): while Python finalises it puts back the default action of every
    signal it handles, and a signal then killed the process. A shell loop sends SIGTERM from
    before the command's exit until the process is gone: the exit code is the command's."""
    code = (
        "import os, subprocess, sys, time\n"
        "from simulation.interrupts import handle_signals\n"
        "with handle_signals(restore=False):\n"
        "    pass\n"
        "loop = f'while kill -TERM {os.getpid()} 2>/dev/null; do :; done'\n"
        "subprocess.Popen(['sh', '-c', loop], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "time.sleep(0.2)\n"
        "sys.exit(2)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, (p.returncode, p.stderr)
