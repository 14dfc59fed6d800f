"""Interrupts (SIGINT, SIGTERM) end a command cleanly: one line, exit ``128 + signal``.

:func:`handle_signals` (the CLI's, around a command) turns SIGINT and SIGTERM into
:class:`Interrupted`, a ``KeyboardInterrupt``, so every ``with`` block unwinds (temporary folders
removed, Dask clusters closed, the log told) and ``fundsim`` prints ``fundsim: interrupted`` and
exits 130 (SIGINT) or 143 (SIGTERM). Python runs a signal handler in the main thread only; while
that thread runs the compiled kernel (inside :func:`deferred`) the handler only records the
signal, since an exception raised inside the kernel's call surfaces as a ``SystemError``: the
engine calls :func:`check` between blocks of paths (on every thread), which raises there.

Python also runs a handler inside finalisers (weakref callbacks, ``__del__``, a
``weakref.finalize``), where an exception is not raised but printed as "Exception ignored in"
with its traceback, and lost. There the handler records the signal and sends it again
(to this process), so it is raised at the first bytecode boundary outside the finaliser;
an ``Interrupted`` that still reaches ``sys.unraisablehook`` is not printed but sent again too.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import types
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


_FINALISER_FILES = ("weakref.py", "_weakrefset.py")
"""Modules whose code runs as finalisers (weakref callbacks, ``weakref.finalize``)."""
_FINALISER_NAMES = frozenset({"__del__", "_unraisable"})


def _in_finaliser(frame: types.FrameType | None) -> bool:
    """Whether ``frame`` or a caller runs as a finaliser (where a raise is printed and lost)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name in _FINALISER_NAMES or code.co_filename.endswith(_FINALISER_FILES):
            return True
        frame = frame.f_back
    return False


REDELIVERY_DELAY = 0.001
"""Seconds after which a signal recorded in a finaliser is marked as arrived again."""


def _send_again(signum: int) -> None:
    """Send ``signum`` to the main thread again, from another thread after
    :data:`REDELIVERY_DELAY`: it interrupts a blocking call as the first one did, and Python runs
    the handler at the main thread's next bytecode boundary, outside the finaliser by then (or it
    sends it again). Sent from the main thread (``signal.raise_signal``, ``os.kill``,
    ``_thread.interrupt_main``), the handler would run at once, inside itself, and recurse."""
    main = threading.main_thread().ident

    def again() -> None:
        if _active and main is not None:  # the block has not ended meanwhile
            signal.pthread_kill(main, signum)

    try:
        threading.Timer(REDELIVERY_DELAY, again).start()
    except RuntimeError:  # the interpreter is shutting down: the signal stays recorded
        pass


def _handler(signum: int, frame: types.FrameType | None) -> None:
    global _pending
    if _pending is None:
        _pending = signum
    if _active and not _deferred:
        if _in_finaliser(frame):
            _send_again(signum)
            return
        raise Interrupted(_pending)


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """``sys.unraisablehook`` inside :func:`handle_signals`: an :class:`Interrupted` lost in a
    finaliser is sent again (raised outside it), not printed; anything else goes to the hook
    that was there before."""
    exc = unraisable.exc_value
    if isinstance(exc, Interrupted):
        _send_again(exc.signum)
        return
    _previous_hook(unraisable)


_previous_hook = sys.__unraisablehook__


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
    (the ``fundsim`` process, which is about to exit) SIGINT and SIGTERM are ignored from the
    block's end, so one that lands while the process prints its last line and exits neither
    kills it nor raises: the command's own exit code stands. (Recording it is not enough: while
    the interpreter finalises it puts back the default action of every signal it handles, not of
    an ignored one, and a signal then killed the process: soak runs 63 and 29, exit -2.) A
    SIGKILL still stops a process that hangs in its exit."""
    global _pending, _active, _previous_hook
    if not _on_main_thread():
        yield
        return
    _pending = None
    old = {s: signal.signal(s, _handler) for s in SIGNALS}
    old_hook = sys.unraisablehook
    if old_hook is not _unraisable:
        _previous_hook = old_hook
        sys.unraisablehook = _unraisable
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if restore:
            for s, h in old.items():
                signal.signal(s, h)
            sys.unraisablehook = old_hook
            _pending = None
        else:
            for s in SIGNALS:
                signal.signal(s, signal.SIG_IGN)
