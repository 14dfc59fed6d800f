"""Output folders written whole: a folder appears complete or not at all.

A folder is written into a temporary sibling (``.DIR.tmp-XXXXXXXX``, locked by its writer) and
renamed into place only when every file is there (:func:`atomic_dir`); a previous folder of the same
name is replaced in one step (an exchange of the two folders where the system allows, else moved
aside, the new one renamed in, the old one removed), so an interrupted or failed run never leaves a
half-written output where the last good one was. Only an empty folder or a previous fundsim output
is ever replaced (:mod:`.checks`). Temporary folders of killed runs are removed by the next run
into the same output (:func:`remove_stale`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import FundsimError
from ..interrupts import deferred
from .checks import _check_replaceable, output_target
from .files import _TRIES, _candidates, _lock, _new_dir, _open_dir, _temporary

_STALE = r"\.{name}\.(?:tmp|old)-[0-9a-f]{{8}}"
"""The temporary folders of an output ``name`` (``re`` pattern, ``name`` escaped)."""


def _new_locked_dir(path: Path) -> tuple[Path, int]:
    """A new temporary folder ``.NAME.tmp-XXXXXXXX`` next to ``path`` and an open descriptor
    holding its lock for as long as this process works in it (see :func:`remove_stale`)."""
    for _ in range(_TRIES):
        tmp = _new_dir(path, "tmp")
        try:
            fd = _open_dir(tmp)
        except FileNotFoundError:  # removed by another run's cleanup in between: try another
            continue
        if _lock(fd) and os.fstat(fd).st_nlink > 0:
            return tmp, fd
        os.close(fd)  # another run is removing it (its lock was free for an instant)
    raise FileExistsError(f"no free temporary name next to {path}")  # pragma: no cover


def remove_stale(path: str | Path) -> list[Path]:
    """Remove the temporary folders of the output folder ``path`` (``.NAME.tmp-XXXXXXXX``, a
    half-written output, and ``.NAME.old-XXXXXXXX``, a replaced one) that no live process holds:
    a run holds its temporary folder's ``flock`` lock until it ends, and the kernel drops the
    lock of a process that dies (even by SIGKILL). Returns the folders removed."""
    path = Path(path)
    removed: list[Path] = []
    for entry in _candidates(path, _STALE, folders=True):
        try:
            fd = _open_dir(Path(entry.path))
        except OSError:
            continue
        try:
            if _lock(fd):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
        finally:
            os.close(fd)
    return removed


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2: Any = None


def exchange(a: Path, b: Path) -> bool:
    """Swap the two existing paths ``a`` and ``b`` in one step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``, through ctypes): a reader of either name always finds a folder. Returns
    False where the system or the file system cannot (not Linux, an old kernel or C library,
    some network file systems); any other failure is an :class:`OSError`."""
    global _renameat2
    if not sys.platform.startswith("linux"):
        return False
    if _renameat2 is None:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = getattr(libc, "renameat2", None)
        if fn is not None:
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
            fn.argtypes += [ctypes.c_uint]
            fn.restype = ctypes.c_int
        _renameat2 = fn or False
    if not _renameat2:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _replace(tmp: Path, path: Path) -> None:
    """Put the folder ``tmp`` at ``path`` and remove what was there.

    Where :func:`exchange` works the two are swapped in one step, so a reader always finds a
    folder, the old or the new. Elsewhere (documented fallback) the old folder is renamed aside
    (``.NAME.old-XXXXXXXX``) and the new one renamed in: for the instant between the two renames
    there is no folder at ``path``. Either way ``path`` never holds a half-written output."""
    if not path.exists():
        os.rename(tmp, path)
        return
    if exchange(tmp, path):
        shutil.rmtree(tmp, ignore_errors=True)  # now the old folder
        return
    old = _temporary(path, "old")
    os.rename(path, old)
    os.rename(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``path``, on failure (or an interrupt) it
    is removed.

    An existing ``path`` is replaced only if it is empty or a previous fundsim output
    (:func:`check_output_dir`, checked again here, before and after the work): a folder of other
    files is a :class:`FundsimError` and stays untouched. A symlink to a folder is written through
    (:func:`output_target`). Stale temporary folders of ``path`` left by killed runs are removed
    first (:func:`remove_stale`); the replacement is one exchange where the system allows
    (:func:`exchange`). Signals received while the output is put in place are raised after it."""
    target = output_target(path)
    if target.is_dir():
        _check_replaceable(target, str(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    tmp, fd = _new_locked_dir(target)
    try:
        try:
            yield tmp
            with deferred():
                if target.exists() or target.is_symlink():
                    if not target.is_dir() or target.is_symlink():
                        raise FundsimError(
                            f"{path}: expected a folder, found a file; it is left untouched"
                        )
                    _check_replaceable(target, str(path))
                _replace(tmp, target)
        except BaseException:
            with deferred(raise_at_end=False):
                shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        os.close(fd)
