"""Output files of the commands that write single files (``fit``, ``synth-claims``, ``calibrate``,
``backtest``): checked before any work and created like ``run``'s output folder.

:func:`check_new_files` runs before the work: each path is not a folder (a folder, fundsim's or
anyone's, is never replaced by a file), the nearest existing folder above it is a folder where a
file can be created (a probe, :func:`simulation.outputs.check_output_file`), and no two options
name the same file. :func:`files_together` then creates the missing folders and writes the files
together (:func:`simulation.outputs.all_or_nothing`); on an error the folders it created are
removed again, so a failed command leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import FundsimError
from ..outputs import all_or_nothing, check_output_file, nearest_existing


def check_new_files(outputs: Mapping[str, str | Path | None]) -> None:
    """Before any work: every given output file (option -> path; ``None`` when not asked for) can
    be written, its missing folders created; no two options name the same file. Raises
    :class:`FundsimError`, one line naming the option and the path."""
    seen: dict[Path, str] = {}
    for option, given in outputs.items():
        if not given:
            continue
        path = Path(given)
        where = f"{option} {path}"
        if path.is_dir():
            raise FundsimError(
                f"{where}: expected a file name, found a folder; it is left untouched"
            )
        above = nearest_existing(path.parent)
        if not above.is_dir():
            raise FundsimError(
                f"{where}: expected a folder at {str(above)!r} (or none, to be created), "
                "found a file"
            )
        probe = path if above == path.parent else above / path.name
        try:
            check_output_file(probe, option)
        except FundsimError as e:  # named by the path asked for, not the folder probed
            raise FundsimError(str(e).replace(f"{option} {probe}", where, 1)) from None
        key = Path(os.path.abspath(path))
        if key in seen:
            raise FundsimError(
                f"{where}: expected a file of its own, found the file of {seen[key]}"
            )
        seen[key] = option


def _make_folders(folder: Path, option: str) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, outermost first."""
    missing: list[Path] = []
    above = folder
    while not above.exists() and above != above.parent:
        missing.append(above)
        above = above.parent
    missing.reverse()
    for i, f in enumerate(missing):
        try:
            os.mkdir(f, 0o777)
        except FileExistsError:
            continue
        except OSError as e:
            _remove(missing[:i])
            raise FundsimError(
                f"{option} {folder}: cannot create the folder {str(f)!r} ({e.strerror or e})"
            ) from None
    return missing


def _remove(folders: list[Path]) -> None:
    for f in reversed(folders):
        with contextlib.suppress(OSError):
            f.rmdir()  # only if still empty: nothing of anyone's is removed


@contextlib.contextmanager
def files_together(outputs: Mapping[str, str | Path | None]) -> Iterator[None]:
    """Create the missing folders of the given outputs, then write them together: files written
    by :func:`simulation.outputs.write_atomic` in this block appear at once or not at all; on an
    error the folders created here are removed again (when still empty)."""
    made: list[Path] = []
    try:
        for option, given in outputs.items():
            if given:
                made += _make_folders(Path(given).parent, option)
        with all_or_nothing():
            yield
    except BaseException:
        _remove(made)
        raise
