"""Bad input to ``fundsim``: one line on stderr naming the option or file, what was expected and
what was found, exit code 2, no traceback, and no output (or temporary file) left behind."""

from __future__ import annotations

import errno
import json
import os
import stat
import types
from pathlib import Path

import pytest
from cli_checks import fails, listing
from unprivileged import run_unprivileged

import simulation
from simulation.cli import main
from simulation.errors import FundsimError

ROOT = Path(__file__).parent.parent
LAYERED = str(ROOT / "tests" / "data" / "engine" / "layered.toml")
HENAN = str(ROOT / "scenarios" / "henan_supplementary_2019.toml")
CLAIMS = ROOT / "tests" / "data" / "claims"
RATIO = "layers.serious_illness.bands[0].ratio"


@pytest.fixture
def umask():
    """Set the process umask for one test (tests run one at a time in a process)."""
    old = os.umask(0o022)
    os.umask(old)

    def set_(mask: int) -> None:
        os.umask(mask)

    yield set_
    os.umask(old)


# --------------------------------------------------------------------------- 1. OSError


def test_an_os_error_is_one_line_without_traceback(capsys, monkeypatch):
    import simulation.commands.validate as validate

    def unreadable(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/data/private.toml")

    monkeypatch.setattr(validate, "run", unreadable)
    line = fails(capsys, ["validate", LAYERED])
    assert line == "fundsim: error: /data/private.toml: Permission denied"

    def rename(args):
        raise OSError(errno.EXDEV, "Invalid cross-device link", "/a/x", None, "/b/x")

    monkeypatch.setattr(validate, "run", rename)
    assert fails(capsys, ["validate", LAYERED]).endswith("/a/x -> /b/x: Invalid cross-device link")


def test_a_genuine_bug_keeps_its_traceback(monkeypatch):
    import simulation.commands.validate as validate

    def bug(args):
        raise KeyError("a bug")

    monkeypatch.setattr(validate, "run", bug)
    with pytest.raises(KeyError):
        main(["validate", LAYERED])


def test_out_under_a_file_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    import simulation.commands.run as run_command

    def no_run(*a, **k):
        raise AssertionError("the paths ran before the --out check")

    monkeypatch.setattr(run_command, "run_engine", no_run)
    (tmp_path / "afile").write_text("keep")
    out = tmp_path / "afile" / "sub" / "run"
    fails(capsys, ["run", LAYERED, "--paths", "4", "--out", str(out)], "--out", "found a file")
    fails(capsys, ["run", LAYERED, "--out", str(tmp_path / "afile")], "--out", "found a file")
    assert listing(tmp_path) == ["afile"] and (tmp_path / "afile").read_text() == "keep"


def test_out_in_a_read_only_folder(tmp_path):
    """Checked in a process bound by file permissions (even when the tests run as root)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    code = f"""
import sys
import simulation.outputs
from simulation.cli import main
code = main(["run", {LAYERED!r}, "--paths", "4", "--quiet", "--out", {str(ro / "run")!r}])
try:
    simulation.outputs.write_atomic({str(ro / "x.txt")!r}, "x")
except PermissionError as e:  # the helper itself names the output
    print("filename", e.filename)
sys.exit(code)
"""
    done = run_unprivileged(code, tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "--out" in lines[0] and "permission denied" in lines[0], lines[0]
    assert done.stdout.strip() == f"filename {ro / 'x.txt'}"
    assert listing(ro) == []


def test_an_os_error_while_writing_names_the_output_not_its_temporary(
    tmp_path, capsys, monkeypatch
):
    import simulation.outputs.files as outputs

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    # the temporaries' module's own view of os, with a full disk for new folders
    monkeypatch.setattr(outputs, "os", types.SimpleNamespace(**{**vars(os), "mkdir": full}))
    out = tmp_path / "run"
    line = fails(capsys, ["run", LAYERED, "--paths", "4", "--quiet", "--out", str(out)])
    assert line == f"fundsim: error: {out}: No space left on device"
    assert listing(tmp_path) == []


def test_unwritable_log_is_a_clean_error(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    (tmp_path / "adir").mkdir()
    out = tmp_path / "report"
    args = ["report", LAYERED, "--paths", "4", "--quiet", "--no-exact", "--cashflow-paths", "0"]
    args += ["--out", str(out)]
    log = tmp_path / "afile" / "cron.log"
    fails(capsys, [*args, "--log", str(log)], "--log", str(log), "found a file")
    fails(capsys, [*args, "--log", str(tmp_path / "adir")], "--log", "found a folder")
    assert listing(tmp_path) == ["adir", "afile"] and listing(tmp_path / "adir") == []


# --------------------------------------------------------------------------- 2-4. counts


ENGINE_COMMANDS = [
    ["run", LAYERED],
    ["compare", LAYERED, LAYERED],
    ["sweep", LAYERED, "--param", RATIO, "--values", "0.5"],
    ["price", LAYERED],
    ["report", LAYERED],
    ["cashflow", LAYERED],
]


@pytest.mark.parametrize("command", ENGINE_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("option", ["--paths", "--years"])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_counts_below_one_are_usage_errors(command, option, value, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [*command, option, value, "--quiet"]
    if command[0] in ("run", "report", "cashflow"):
        argv += ["--out", str(out)]
    line = fails(capsys, argv, f"argument {option}", f"expected at least 1, found {value}")
    assert line.startswith(f"fundsim {command[0]}: error:")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("command", ENGINE_COMMANDS[:5], ids=lambda c: c[0])
def test_workers_below_one_are_usage_errors(command, capsys):
    fails(
        capsys, [*command, "--workers", "0"], "argument --workers", "expected at least 1, found 0"
    )
    fails(capsys, [*command, "--paths", "ten"], "argument --paths", "found 'ten'")


def test_the_api_refuses_no_paths_and_no_years():
    from simulation.engine.plan import build_plan

    scenario = simulation.load_scenario(LAYERED)
    with pytest.raises(FundsimError, match="paths must be at least 1, found 0"):
        simulation.run(scenario, paths=0)
    with pytest.raises(FundsimError, match="paths must be at least 1, found -2"):
        simulation.sweep({"a": scenario}, paths=-2, seed=1)
    with pytest.raises(FundsimError, match="years must be at least 1, found 0"):
        build_plan(scenario, 0)
    with pytest.raises(FundsimError, match="years must be at least 1, found -1"):
        simulation.run(scenario, paths=4, years=-1)
    with pytest.raises(FundsimError, match="years must be at least 1, found 0"):
        simulation.sweep({"a": scenario}, paths=4, seed=1, years=0)


@pytest.mark.parametrize(
    "command", [["run", LAYERED], ["sweep", LAYERED, "--param", RATIO, "--values", "0.5"]]
)
@pytest.mark.parametrize("address", ["nonsense://x", "localhost"])
def test_an_unparsable_scheduler_address(command, address, capsys):
    fails(
        capsys,
        [*command, "--paths", "4", "--quiet", "--scheduler", address],
        f"--scheduler {address}: cannot connect (",
    )


def test_an_unreachable_scheduler(capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        line = fails(
            capsys,
            ["run", LAYERED, "--paths", "4", "--quiet", "--scheduler", "tcp://127.0.0.1:1"],
            "--scheduler tcp://127.0.0.1:1: cannot connect (",
        )
    assert "Timed out" in line or "refused" in line


# --------------------------------------------------------------------------- 5-6. sweep


@pytest.mark.parametrize(
    "values,found",
    [
        ("0.5,0.5", "'0.5' twice"),
        ("0.5,0.50", "'0.5' and '0.50' are the same value"),
        ("0.4, 0.5 ,5e-1", "'0.5' and '5e-1' are the same value"),
    ],
)
def test_sweep_refuses_repeated_values_before_running(values, found, capsys, monkeypatch):
    import simulation.commands.sweep as sweep_command

    def no_sweep(*a, **k):
        raise AssertionError("the sweep ran before the --values check")

    monkeypatch.setattr(sweep_command, "sweep", no_sweep)
    argv = ["sweep", LAYERED, "--param", RATIO, "--values", values, "--paths", "4"]
    fails(capsys, argv, "--values: expected distinct values, found " + found)
    argv = ["sweep", LAYERED, "--param", RATIO, "--values", " , ", "--paths", "4"]
    fails(capsys, argv, "--values: expected at least one value, found ' , '")


def test_sweep_values_close_at_six_digits_stay_apart(capsys):
    argv = ["sweep", LAYERED, "--param", "funds.basic.financing_per_head", "--values"]
    argv += ["1234567,1234568", "--fund", "basic", "--paths", "4", "--years", "1", "--json"]
    assert main([*argv, "--quiet"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["funds.basic.financing_per_head"] for r in rows] == [1234567, 1234568]
    assert rows[0]["claims_mean"] == rows[1]["claims_mean"]  # common random numbers


def test_sweep_values_are_toml_values(capsys):
    from simulation.commands.sweep import _value

    assert _value("2") == 2 and type(_value("2")) is int
    assert _value("0.50") == 0.5 and _value(".5") == 0.5 and _value("1_000") == 1000
    assert _value("true") is True and _value("false") is False
    assert _value("'abc'") == "abc" and _value("abc") == "abc" and _value("a = b") == "a = b"
    # a strict whole-number field takes 1 and 2 (not 1.0 and 2.0)
    term = "funds.serious_illness.contract.term_years"
    argv = ["sweep", LAYERED, "--param", term, "--values", "1,2", "--fund", "serious_illness"]
    assert main([*argv, "--paths", "4", "--years", "2", "--json", "--quiet"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted({r[term] for r in rows}) == [1, 2] and all(type(r[term]) is int for r in rows)
    # a strict boolean field takes true and false
    cap = "layers.serious_illness.preferential.needy.cap_removed"
    argv = ["sweep", LAYERED, "--param", cap, "--values", "true,false", "--json", "--quiet"]
    assert main([*argv, "--paths", "4", "--years", "1"]) == 0
    assert {r[cap] for r in json.loads(capsys.readouterr().out)} == {True, False}


def test_sweep_unknown_fund_is_refused_before_running(capsys, monkeypatch):
    import simulation.commands.sweep as sweep_command

    monkeypatch.setattr(sweep_command, "sweep", lambda *a, **k: pytest.fail("ran"))
    argv = ["sweep", LAYERED, "--param", RATIO, "--values", "0.5", "--fund", "nope"]
    fails(capsys, argv, "--fund 'nope'", "serious_illness")


@pytest.mark.parametrize(
    "param,found",
    [
        ("name.x", "expected a table (for .x) at 'name', found a string ('layered')"),
        ("name[0]", "expected a list (for [0]) at 'name', found a string ('layered')"),
        (
            "layers.serious_illness.bands.ratio",
            "expected a table (for .ratio) at 'layers.serious_illness.bands', found a list of",
        ),
        ("layers[0].ratio", "expected a list (for [0]) at 'layers', found a table"),
        (
            "layers.serious_illness.bands[0].ratio.x",
            "at 'layers.serious_illness.bands[0].ratio', found a number (",
        ),
    ],
)
def test_sweep_param_into_a_scalar_or_a_list_by_key(param, found, capsys):
    from simulation.engine.sweep import set_path
    from simulation.scenario.load import resolve_raw

    raw, _ = resolve_raw(LAYERED)
    with pytest.raises(FundsimError, match="parameter '") as e:
        set_path(raw, param, 0.5)
    assert found in str(e.value)
    fails(capsys, ["sweep", LAYERED, "--param", param, "--values", "0.5"], repr(param), found)


# --------------------------------------------------------------------------- 7-8. fit, synth-claims

FIT = ["fit", str(CLAIMS / "good_claims.csv"), "--exposure", str(CLAIMS / "good_exposure.csv")]


@pytest.mark.parametrize("option", ["--out", "--qq-plot", "--me-plot"])
def test_fit_checks_every_output_before_fitting(option, tmp_path, capsys, monkeypatch):
    import simulation.fit as fitting

    monkeypatch.setattr(fitting, "fit_claims", lambda *a, **k: pytest.fail("fitted"))
    outputs = {
        "--out": tmp_path / "f.toml",
        "--qq-plot": tmp_path / "qq.png",
        "--me-plot": tmp_path / "me.png",
    }
    (tmp_path / "afile").write_text("")
    outputs[option] = tmp_path / "afile" / "sub" / "x"  # a folder that cannot be created
    argv = [*FIT, *(a for o, p in outputs.items() for a in (o, str(p)))]
    fails(capsys, argv, f"{option} {outputs[option]}", "'" + str(tmp_path / "afile") + "'")
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "thesis.docx").write_text("years of work")
    outputs[option] = tmp_path / "users"  # a folder, never replaced by a file
    argv = [*FIT, *(a for o, p in outputs.items() for a in (o, str(p)))]
    fails(capsys, argv, f"{option} {tmp_path / 'users'}", "found a folder", "left untouched")
    argv = [*FIT, "--out", str(tmp_path / "f.toml"), option, str(tmp_path / "f.toml")]
    if option != "--out":
        fails(capsys, argv, f"{option} {tmp_path / 'f.toml'}", "found the file of --out")
    assert listing(tmp_path) == ["afile", "users"]
    assert listing(tmp_path / "users") == ["thesis.docx"]


def test_fit_creates_missing_output_folders_like_run(tmp_path, capsys, monkeypatch):
    import simulation.fit as fitting

    out, qq = tmp_path / "a" / "b" / "f.toml", tmp_path / "plots" / "qq.png"
    argv = [*FIT, "--out", str(out), "--qq-plot", str(qq)]
    assert main(argv) == 0, capsys.readouterr().err
    assert out.read_text().strip() and qq.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()

    def disk_full(result, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(fitting, "plot_qq", disk_full)
    fresh = tmp_path / "new"
    argv = [*FIT, "--out", str(fresh / "f.toml"), "--qq-plot", str(fresh / "x" / "qq.png")]
    fails(capsys, argv, "No space left on device")
    assert listing(tmp_path) == ["a", "plots"]  # the folders made for a failed fit are removed


def test_fit_writes_every_output_or_none(tmp_path, capsys, monkeypatch):
    import simulation.fit as fitting

    out, qq, me = tmp_path / "f.toml", tmp_path / "qq.png", tmp_path / "me.png"
    argv = [*FIT, "--out", str(out), "--qq-plot", str(qq), "--me-plot", str(me)]
    assert main(argv) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in (out, qq, me)}
    assert before[qq][:8] == before[me][:8] == b"\x89PNG\r\n\x1a\n"

    def disk_full(result, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(fitting, "plot_mean_excess", disk_full)
    out.unlink()
    line = fails(capsys, argv)
    assert line == f"fundsim: error: {me}: No space left on device"
    # the fragment and the QQ plot were written to temporaries, then removed: nothing replaced
    assert listing(tmp_path) == ["me.png", "qq.png"] and qq.read_bytes() == before[qq]


def test_the_atomic_helper_text_bytes_and_a_missing_folder(tmp_path):
    from simulation.outputs import write_atomic

    write_atomic(tmp_path / "a.txt", "年 2019\n")
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "年 2019\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(FundsimError, match="expected an existing folder .*missing.*, found none"):
        write_atomic(tmp_path / "missing" / "c.txt", "x")
    assert listing(tmp_path) == ["a.txt", "b.bin"]


def test_plot_into_a_missing_folder_is_a_fundsim_error(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from simulation.fit.diagnostics import _atomic_savefig

    fig = Figure()
    FigureCanvasAgg(fig)
    with pytest.raises(FundsimError, match="missing"):
        _atomic_savefig(fig, tmp_path / "missing" / "qq.png")
    _atomic_savefig(fig, tmp_path / "qq.png")
    assert listing(tmp_path) == ["qq.png"]


def test_synth_claims_checks_both_outputs_before_drawing(tmp_path, capsys, monkeypatch):
    import simulation.synth as synth

    monkeypatch.setattr(synth, "synth_claims", lambda *a, **k: pytest.fail("drew"))
    (tmp_path / "afile").write_text("")
    claims, exposure = tmp_path / "claims.csv", tmp_path / "afile" / "exposure.csv"
    argv = ["synth-claims", HENAN, "--seed", "1", "--scale", "0.001", "--out", str(claims)]
    fails(capsys, [*argv, "--exposure-out", str(exposure)], f"--exposure-out {exposure}")
    fails(capsys, [*argv, "--exposure-out", str(claims)], "found the file of --out")
    fails(capsys, [*argv, "--exposure-out", str(tmp_path)], "found a folder")
    argv[-1] = str(tmp_path / "afile" / "claims.csv")
    fails(capsys, argv, "--out", "found a file")
    assert listing(tmp_path) == ["afile"]


def test_synth_claims_creates_missing_output_folders(tmp_path, capsys):
    claims, exposure = tmp_path / "new" / "claims.csv", tmp_path / "other" / "deep" / "e.csv"
    argv = ["synth-claims", HENAN, "--seed", "1", "--scale", "0.001", "--out", str(claims)]
    assert main([*argv, "--exposure-out", str(exposure)]) == 0, capsys.readouterr().err
    assert claims.read_text().startswith("person_id,category,age,admission_date,")
    assert exposure.read_text().startswith("category,age_band,year,person_years\n")
    capsys.readouterr()


# --------------------------------------------------------------------------- 9. permissions


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_outputs_are_readable_as_the_umask_says(mask, tmp_path, capsys, umask):
    umask(mask)
    out = tmp_path / "run"
    for _ in range(2):  # written, then replaced
        assert main(["run", LAYERED, "--paths", "4", "--quiet", "--out", str(out)]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
        for p in out.iterdir():
            assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask, p.name
    from simulation.outputs import all_or_nothing, write_atomic

    with all_or_nothing():
        write_atomic(tmp_path / "f.toml", "x = 1\n")
        write_atomic(tmp_path / "g.png", b"png")
        assert not (tmp_path / "f.toml").exists()  # renamed only when the block ends
    for name in ("f.toml", "g.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask
    assert listing(tmp_path) == ["f.toml", "g.png", "run"]
    capsys.readouterr()
