"""Checks shared by the tests of the command line's bad-input behaviour."""

from __future__ import annotations

from pathlib import Path

from simulation.cli import main


def fails(capsys, argv: list[str], *words: str) -> str:
    """Run ``fundsim argv`` in process: exit code 2 (returned, or argparse's usage exit), one line on
    stderr holding every word, no traceback. Returns that line."""
    try:
        code = main(argv)
    except SystemExit as e:  # a usage error (argparse)
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def listing(folder: Path) -> list[str]:
    """Everything in ``folder``, hidden (temporary) files included."""
    return sorted(p.name for p in folder.iterdir())
