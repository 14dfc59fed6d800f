"""Interrupts (SIGINT, SIGTERM) end a command cleanly: one line, exit ``128 + signal``.

:func:`handle_signals` (the CLI's, around a command) turns SIGINT and SIGTERM into
:class:`Interrupted`, a ``KeyboardInterrupt``, so every ``with`` block unwinds (temporary folders
removed, Dask clusters closed, the log told) and ``fundsim`` prints ``fundsim: interrupted`` and
exits 130 (SIGINT) or 143 (SIGTERM). Python runs a signal handler in the main thread only; while
that thread runs the compiled kernel (inside :func:`deferred`) the handler only records the
signal, since an exception raised inside the kernel's call surfaces as a ``SystemError``: the
engine calls :func:`check` between blocks of paths (on every thread), which raises there.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)

_pending: int | None = None
"""The first signal received and not yet raised (``None``: none)."""
_deferred = 0
"""Depth of :func:`deferred` blocks on the main thread."""
_active = 0
"""Depth of :func:`handle_signals` blocks: outside them an installed handler only records."""


class Interrupted(KeyboardInterrupt):
    """A command was interrupted by signal ``signum``; its exit code is ``128 + signum``."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def exit_code(e: KeyboardInterrupt) -> int:
    """128 + the signal of ``e`` (130 for a plain ``KeyboardInterrupt``)."""
    return e.exit_code if isinstance(e, Interrupted) else 128 + signal.SIGINT


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _handler(signum: int, frame: object) -> None:
    global _pending
    if _pending is None:
        _pending = signum
    if _active and not _deferred:
        raise Interrupted(_pending)


def pending() -> int | None:
    """The signal received, if any (it stays recorded until the command ends)."""
    return _pending


def check() -> None:
    """Raise :class:`Interrupted` if a signal arrived (between blocks of work, on any thread).
    The signal stays recorded, so every thread of the run stops at its next check."""
    signum = _pending
    if signum is not None:
        raise Interrupted(signum)


@contextlib.contextmanager
def deferred(raise_at_end: bool = True) -> Iterator[None]:
    """On the main thread: a signal received in this block (e.g. while the compiled kernel runs,
    or while an output is renamed into place) is only recorded, and raised when the block ends
    (with ``raise_at_end``; without, as cleanup code that is already unwinding wants, the caller's
    exception goes on). Elsewhere the block does nothing: signals reach the main thread only."""
    global _deferred
    if not _on_main_thread():
        yield
        return
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1
    if raise_at_end and not _deferred:
        check()


@contextlib.contextmanager
def handle_signals(restore: bool = True) -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in this block (main thread only; elsewhere
    the block does nothing). The previous handlers are restored at its end; with ``restore=False``
    (the ``fundsim`` process, which is about to exit) they stay installed but only record a signal
    after the block, so one that lands while the process prints its last line and exits neither
    kills it nor raises: the command's own exit code stands."""
    global _pending, _active
    if not _on_main_thread():
        yield
        return
    _pending = None
    old = {s: signal.signal(s, _handler) for s in SIGNALS}
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if restore:
            for s, h in old.items():
                signal.signal(s, h)
            _pending = None
