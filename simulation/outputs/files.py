"""Atomic single files and the temporaries every output is written through.

A file is written to a temporary sibling (``.NAME.tmp-XXXXXXXX``) and renamed into place
(:func:`write_atomic`); inside :func:`all_or_nothing` several files are renamed only once every one
was written. The writer holds the temporary file's ``flock`` lock until the rename, so a later
write of the same output removes the temporaries killed runs left (:func:`remove_stale_files`) and
never a live one.

Outputs get the permissions any other new file would get (``0o666``, a folder ``0o777``, less the
umask, or the folder's default ACL): the temporaries are created by ``os.open``/``os.mkdir`` with
those modes and a random name, not by ``tempfile.mkstemp``/``mkdtemp``, whose ``0o600``/``0o700``
would survive the rename and hide a report from, say, the web server that serves ``reports/``. The
kernel applies the umask at creation, so it is never read or changed (``os.umask`` is process-wide
and racy in threads).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from ..errors import FundsimError
from ..interrupts import deferred

_FILE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_TRIES = 100
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_staged: contextvars.ContextVar[list[tuple[Path, Path, int]] | None] = contextvars.ContextVar(
    "fundsim_staged_outputs", default=None
)
"""Inside :func:`all_or_nothing`: the (temporary, final) paths written so far, not yet renamed, and
the temporary file's open descriptor (holding its lock)."""


def _temporary(path: Path, tag: str) -> Path:
    return path.parent / f".{path.name}.{tag}-{secrets.token_hex(4)}"


def _new_file(path: Path) -> tuple[int, Path]:
    """Create a new empty temporary file next to ``path``, mode ``0o666`` less the umask."""
    for _ in range(_TRIES):
        tmp = _temporary(path, "tmp")
        try:
            return os.open(tmp, _FILE_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as e:  # named by the output, not by its temporary name
            raise type(e)(e.errno, e.strerror, str(path)) from e
    raise FileExistsError(f"no free temporary name next to {path}")  # pragma: no cover


def _new_dir(path: Path, tag: str) -> Path:
    """Create a new empty temporary folder next to ``path``, mode ``0o777`` less the umask."""
    for _ in range(_TRIES):
        tmp = _temporary(path, tag)
        try:
            os.mkdir(tmp, 0o777)
            return tmp
        except FileExistsError:
            continue
        except OSError as e:  # named by the output, not by its temporary name
            raise type(e)(e.errno, e.strerror, str(path)) from e
    raise FileExistsError(f"no free temporary name next to {path}")  # pragma: no cover


def _lock(fd: int) -> bool:
    """Try to take the exclusive lock of an open folder (``flock``, not blocking)."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open_dir(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0))


_STALE_FILE = r"\.{name}\.tmp-[0-9a-f]{{8}}"
"""The temporary files of an output file ``name`` (``re`` pattern, ``name`` escaped)."""


def _new_locked_file(path: Path) -> tuple[int, Path]:
    """A new temporary file ``.NAME.tmp-XXXXXXXX`` next to ``path`` and its open descriptor,
    holding the file's lock until it is renamed into place (see :func:`remove_stale_files`)."""
    for _ in range(_TRIES):
        fd, tmp = _new_file(path)
        if _lock(fd) and os.fstat(fd).st_nlink > 0:
            return fd, tmp
        os.close(fd)  # another run's cleanup took it in the instant before the lock: try another
    raise FileExistsError(f"no free temporary name next to {path}")  # pragma: no cover


def _candidates(path: Path, template: str, *, folders: bool) -> list[os.DirEntry]:
    """The entries beside ``path`` whose names match ``template`` (formatted with the escaped
    name of ``path``) and that are folders (``folders``) or regular files, never symlinks; none
    when the folder cannot be listed."""
    pattern = re.compile(template.format(name=re.escape(path.name)))
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    kind = os.DirEntry.is_dir if folders else os.DirEntry.is_file
    return [e for e in entries if pattern.fullmatch(e.name) and kind(e, follow_symlinks=False)]


def remove_stale_files(path: str | Path) -> list[Path]:
    """Remove the temporary files of the output file ``path`` (``.NAME.tmp-XXXXXXXX``, left when
    a run is killed between writing and renaming) that no live process holds: a writer holds its
    temporary file's ``flock`` lock until the rename, and the kernel drops the lock of a process
    that dies (even by SIGKILL). Other names, symlinks, folders and files this process cannot
    open are left alone. Returns the files removed."""
    path = Path(path)
    removed: list[Path] = []
    for entry in _candidates(path, _STALE_FILE, folders=False):
        try:
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC)
        except OSError:
            continue
        try:
            mine = os.fstat(fd)
            if _lock(fd) and os.path.samestat(mine, os.stat(entry.path, follow_symlinks=False)):
                os.unlink(entry.path)  # still the file locked (not renamed into place since)
                removed.append(Path(entry.path))
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` through a temporary file in the same
    folder and a rename. The folder is not created: a missing one is a :class:`FundsimError`.
    Stale temporary files of ``path`` left by killed runs are removed first
    (:func:`remove_stale_files`).

    Inside :func:`all_or_nothing` the file is only written to its temporary name; the block renames
    it when it ends.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        found = "a file" if folder.exists() else "none"
        raise FundsimError(f"{path}: expected an existing folder {str(folder)!r}, found {found}")
    remove_stale_files(path)
    fd, tmp = _new_locked_file(path)
    try:
        if isinstance(data, bytes):
            with open(fd, "wb", closefd=False) as f:
                f.write(data)
        else:
            with open(fd, "w", encoding="utf-8", closefd=False) as f:
                f.write(data)
    except BaseException:
        _drop([(tmp, path, fd)])
        raise
    staged = _staged.get()
    if staged is not None:
        staged.append((tmp, path, fd))  # its lock is held until the block renames it
        return
    with deferred():  # a signal here is raised once the file is in place
        try:
            os.replace(tmp, path)
        except BaseException:
            _drop([(tmp, path, fd)])
            raise
        os.close(fd)


def _drop(staged: list[tuple[Path, Path, int]]) -> None:
    """Remove the temporary files ``staged`` and close their descriptors."""
    for tmp, _, fd in staged:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.close(fd)


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Files written by :func:`write_atomic` in this block (in this thread) appear together: each
    goes to its temporary name, and all are renamed into place when the block ends without error;
    on an error none is, and the temporaries are removed. Nested blocks join the outermost."""
    if _staged.get() is not None:
        yield
        return
    staged: list[tuple[Path, Path, int]] = []
    token = _staged.set(staged)
    try:
        yield
    except BaseException:
        _drop(staged)
        raise
    finally:
        _staged.reset(token)
    done = 0
    with deferred():  # a signal here is raised once every file is in place
        try:
            for tmp, path, fd in staged:
                os.replace(tmp, path)
                done += 1
                os.close(fd)
        except BaseException:
            _drop(staged[done:])
            raise
