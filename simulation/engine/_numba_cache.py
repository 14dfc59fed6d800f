"""Numba's on-disk cache of the engine's compiled code, dropped when a source it inlines changes.

Numba caches compiled code per source file, keyed by that file's time stamp only, while the
compiled modules inline each other's functions and constants: the samplers (:mod:`.samplers`),
the cascade (:mod:`.cascade`), the measures' column layout (:mod:`.measures`), the quantile
tables' constants (:mod:`.quantiles`) and the compiled pass over a group's paths (:mod:`.paths`).
:func:`drop_stale_cache` (called when :mod:`.samplers` or :mod:`.cascade` is imported, before
anything is compiled) deletes the cached code of every one of them when any of their sources has
changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
SOURCES = ("samplers.py", "cascade.py", "measures.py", "quantiles.py", "paths.py")
"""The sources whose digest keys the cache (each inlined into another's compiled code)."""
COMPILED = ("samplers", "cascade", "paths", "simulate", "kernel")
"""The modules whose cached code (``__pycache__/<module>.*.nb*``) is dropped on a change."""


def drop_stale_cache(here: Path = _HERE) -> None:
    """Delete numba's cached code of the :data:`COMPILED` modules (in ``__pycache__``) when the
    source of one of :data:`SOURCES` differs from the one they were compiled from (a digest kept
    in ``__pycache__/kernel.digest``). Best effort: a read-only install keeps its cache (numba
    then caches elsewhere), and a failure here never stops an import."""
    with contextlib.suppress(OSError):
        digest = hashlib.blake2b(
            b"".join((here / name).read_bytes() for name in SOURCES), digest_size=16
        ).hexdigest()
        cache = here / "__pycache__"
        stamp = cache / "kernel.digest"
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return
        if cache.is_dir():
            for module in COMPILED:
                for f in cache.glob(f"{module}.*.nb*"):
                    f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        tmp = cache / f"kernel.digest.{os.getpid()}"
        tmp.write_text(digest + "\n")
        os.replace(tmp, stamp)


__all__ = ["COMPILED", "SOURCES", "drop_stale_cache"]
