"""The checks every command runs on its outputs before any work.

An output file's folder exists and a probe file can be created there (:func:`check_output_file`);
an output folder is new, empty or a previous fundsim output (it holds a fundsim manifest,
:func:`is_fundsim_output`), never a folder of someone's files, ``.``, ``..`` or the working
directory, and a symlink to a folder is written through (:func:`check_output_dir`,
:func:`output_target`). Each failure is one :class:`~simulation.errors.FundsimError` naming the
option and the path.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from ..errors import FundsimError
from .files import _FILE_FLAGS


def _where(path: Path, option: str | None) -> str:
    return f"{option} {path}" if option else str(path)


def _reason(e: OSError) -> str:
    text = e.strerror or str(e) or type(e).__name__
    return text[:1].lower() + text[1:]


def _check_writable_folder(folder: Path, where: str) -> None:
    """The existing path ``folder`` is a folder this process can create files in: a probe file
    (``.fundsim-probe-XXXXXXXX``) is created and removed there, since ``access()`` says yes to
    root everywhere (``/proc``, a read-only mount) and knows nothing of quotas or ACLs."""
    if not folder.is_dir():
        raise FundsimError(f"{where}: expected a folder {str(folder)!r}, found a file")
    probe = folder / f".fundsim-probe-{secrets.token_hex(4)}"
    try:
        os.close(os.open(probe, _FILE_FLAGS, 0o600))
    except OSError as e:
        raise FundsimError(
            f"{where}: cannot write in the folder {str(folder)!r} ({_reason(e)})"
        ) from None
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_output_file(path: str | Path, option: str | None = None) -> Path:
    """Check, before any work, that the file ``path`` can be written: its folder exists (it is not
    created) and is writable, and ``path`` is not a folder. Raises :class:`FundsimError` naming
    ``option`` (e.g. ``--out``) and the path."""
    path = Path(path)
    where = _where(path, option)
    folder = path.parent
    if path.is_dir():
        raise FundsimError(f"{where}: expected a file name, found a folder")
    if not folder.exists():
        raise FundsimError(f"{where}: expected an existing folder {str(folder)!r}, found none")
    _check_writable_folder(folder, where)
    return path


def check_output_files(outputs: Mapping[str, str | Path | None]) -> None:
    """Before any work: every given output file (option -> path; ``None`` when not asked for) can
    be written (:func:`check_output_file`), and no two options name the same file."""
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if not path:
            continue
        check_output_file(path, option)
        key = Path(os.path.abspath(path))
        if key in seen:
            raise FundsimError(
                f"{option} {path}: expected a file of its own, found the file of {seen[key]}"
            )
        seen[key] = option


def nearest_existing(path: str | Path) -> Path:
    """``path`` if it exists, else its nearest existing parent (where missing folders would be
    created)."""
    above = Path(path)
    while not above.exists() and above != above.parent:
        above = above.parent
    return above


MANIFEST = "manifest.json"
"""The file every fundsim output folder holds: a JSON object with ``fundsim_version``."""


def is_fundsim_output(folder: str | Path) -> bool:
    """Whether ``folder`` holds a fundsim manifest: a regular file ``manifest.json`` (not a
    symlink) whose content is a JSON object with a ``fundsim_version`` key."""
    path = Path(folder) / MANIFEST
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 64 * 2**20:
            return False
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "fundsim_version" in doc


def _check_replaceable(path: Path, where: str) -> None:
    """The existing folder ``path`` may be replaced: it is empty or a fundsim output (it holds
    a fundsim manifest). Anything else is a folder of someone's files, and is never deleted."""
    names = sorted(os.listdir(path))
    if not names or is_fundsim_output(path):
        return
    shown = ", ".join(repr(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")
    raise FundsimError(
        f"{where}: expected a new or empty folder or a previous fundsim output (with its "
        f"{MANIFEST}), found a folder of {len(names)} other entries ({shown}); it is left "
        "untouched: choose another folder"
    )


def _refuse_special(path: Path, target: Path, where: str) -> None:
    """Refuse ``.``, ``..``, the working directory, a folder above it and ``/``: replacing one
    would pull the working directory (or everything) away."""
    cwd = Path(os.path.realpath(os.getcwd()))
    if path.name in ("", ".", "..") or target == cwd or target in cwd.parents:
        found = "the working directory" if target == cwd else "a folder above the working directory"
        if target == target.parent:
            found = "the root folder"
        raise FundsimError(
            f"{where}: expected a folder of its own (such as out/run), found {found}, which is "
            "never replaced"
        )


def output_target(path: str | Path, option: str | None = None) -> Path:
    """Where the folder ``path`` is really written: ``path`` itself, or, if it is a symlink to a
    folder, the folder it points to (the link is kept and the output written through it). A
    symlink to nothing or to a file is a :class:`FundsimError`."""
    path = Path(path)
    where = _where(path, option)
    if path.is_symlink():
        if not path.exists():
            raise FundsimError(f"{where}: expected a folder, found a symlink to nothing")
        if not path.is_dir():
            raise FundsimError(f"{where}: expected a folder, found a symlink to a file")
        target = Path(os.path.realpath(path))
    else:
        target = Path(os.path.abspath(path))
        if target.exists() and not target.is_dir():
            raise FundsimError(f"{where}: expected a folder, found a file; it is left untouched")
    _refuse_special(path, target, where)
    return target


def check_output_dir(path: str | Path, option: str | None = None) -> Path:
    """Check, before any work, that the folder ``path`` can be written by :func:`atomic_dir`:
    ``path`` is a folder or does not exist (or is a symlink to a folder, written through); it is
    not ``.``, ``..``, the working directory or a folder above it; an existing folder is empty or
    a previous fundsim output (it holds a fundsim manifest), never a folder of other files, which
    would be replaced; and the nearest existing folder above it (where the missing folders will
    be created) is a folder where a probe file can be created and removed."""
    path = Path(path)
    where = _where(path, option)
    target = output_target(path, option)
    if target.is_dir():
        _check_replaceable(target, where)
    _check_writable_folder(nearest_existing(target.parent), where)
    return path
