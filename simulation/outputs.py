"""Writing results atomically: a file or a whole folder appears complete or not at all.

A file is written to a temporary sibling (``.NAME.tmp-XXXX``) and renamed into place
(:func:`write_atomic`); inside :func:`all_or_nothing` several files are renamed only once every one
was written. A folder is written into a temporary sibling (``.DIR.tmp-XXXX``) and renamed into place
only when every file is there; a previous folder of the same name is replaced in one step (moved
aside, the new one renamed in, the old one removed), so an interrupted or failed run never leaves a
half-written output where the last good one was. Only an empty folder or a previous fundsim
output (a folder holding a fundsim ``manifest.json``) is ever replaced: a folder of other files is
refused before any work (:func:`check_output_dir`) and again before the replacement.

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
import ctypes
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import FundsimError
from .interrupts import deferred

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


def _new_locked_file(path: Path) -> tuple[int, Path]:
    """A new temporary file ``.NAME.tmp-XXXXXXXX`` next to ``path`` and its open descriptor,
    holding the file's lock until it is renamed into place (see :func:`remove_stale_files`)."""
    for _ in range(_TRIES):
        fd, tmp = _new_file(path)
        if _lock(fd) and os.fstat(fd).st_nlink > 0:
            return fd, tmp
        os.close(fd)  # another run's cleanup took it in the instant before the lock: try another
    raise FileExistsError(f"no free temporary name next to {path}")  # pragma: no cover


def remove_stale_files(path: str | Path) -> list[Path]:
    """Remove the temporary files of the output file ``path`` (``.NAME.tmp-XXXXXXXX``, left when
    a run is killed between writing and renaming) that no live process holds: a writer holds its
    temporary file's ``flock`` lock until the rename, and the kernel drops the lock of a process
    that dies (even by SIGKILL). Other names, symlinks, folders and files this process cannot
    open are left alone. Returns the files removed."""
    path = Path(path)
    pattern = re.compile(_STALE_FILE.format(name=re.escape(path.name)))
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
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


_STALE = r"\.{name}\.(?:tmp|old)-[0-9a-f]{{8}}"
"""The temporary folders of an output ``name`` (``re`` pattern, ``name`` escaped)."""
_STALE_FILE = r"\.{name}\.tmp-[0-9a-f]{{8}}"
"""The temporary files of an output file ``name`` (``re`` pattern, ``name`` escaped)."""


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
    pattern = re.compile(_STALE.format(name=re.escape(path.name)))
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
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


def display_path(path: str | Path) -> str:
    """``path`` as outputs show it: relative to the working directory when it lies below it, else
    its file name alone, so no output (manifest, log, report) holds the machine's absolute
    paths (a home folder, a user name)."""
    full = os.path.abspath(path)
    rel = os.path.relpath(full, os.getcwd())
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return os.path.basename(full)
    return Path(rel).as_posix()


def command_line(argv: list[str] | None = None) -> str:
    """The command as outputs record it: ``fundsim`` and its arguments, never the absolute path
    of the executable; path-like arguments as :func:`display_path` shows them."""
    args = list(sys.argv if argv is None else argv)[1:]
    shown = [display_path(a) if os.path.isabs(a) else a for a in args]
    return " ".join(["fundsim", *shown])


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?%?")


def escape_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula (it starts with ``= + - @``, a tab or
    a carriage return) gets a leading ``'``, the spreadsheets' own mark for text (OWASP CSV
    injection); numbers, and text that is a number (``-1,234``, ``-5%``), are unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        if not _NUMBER.fullmatch(value.strip()):
            return "'" + value
    return value


def escape_formulas(table: Any) -> Any:
    """A copy of the DataFrame ``table`` with :func:`escape_formula` applied to its text cells
    (and its column names): what a CSV for spreadsheets should hold."""
    out = table.copy()
    for c in out.columns:
        if out[c].dtype.kind not in "biufcmM":  # text (object or string dtype), not numbers
            out[c] = out[c].map(escape_formula)
    out.columns = [escape_formula(c) for c in out.columns]
    return out


def git_commit() -> str | None:
    """The git commit of the installed source tree, if it is a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def scenario_hash(resolved: dict[str, Any]) -> str:
    """SHA-256 of the resolved scenario in canonical JSON."""
    text = json.dumps(resolved, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest(resolved: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """What produced an output: the resolved scenario, its hash, version, commit and ``fields``."""
    return {
        "fundsim_version": __version__,
        "git_commit": git_commit(),
        "scenario_sha256": scenario_hash(resolved),
        **fields,
        "scenario": resolved,
    }
