"""Random streams keyed by the logical unit of work.

Every random number the engine draws comes from a generator made here, from the run's seed and a
key naming what it is for: the block of paths, the policy year, the population group (its stable
name, e.g. ``registered_poor_16_59_other/exit_q2/stay``) and the component. Results therefore depend
only on (scenario, seed, paths, years), never on the number of workers or on how blocks are chunked,
and changing one cell (its rules or its size) does not shift the random numbers of another.
"""

from __future__ import annotations

import hashlib

import numpy as np

BLOCK_PATHS = 16
"""Paths per block: the unit that keys random streams. A fixed constant, not a tuning knob:
changing it changes every result."""


def stable_key(name: str) -> int:
    """A 32-bit integer for a name, the same on every machine and Python run (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=4).digest(), "little")


def stream(seed: int, block: int, year: int, name: str) -> np.random.Generator:
    """The generator for block ``block`` of paths, policy year ``year`` and unit ``name``."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(block, year, stable_key(name)))
    return np.random.Generator(np.random.PCG64DXSM(ss))


def n_blocks(paths: int) -> int:
    """Number of blocks needed for ``paths`` paths (the last one may be partial)."""
    return -(-paths // BLOCK_PATHS)


def block_paths(block: int, paths: int) -> range:
    """The path indices of a block."""
    return range(block * BLOCK_PATHS, min((block + 1) * BLOCK_PATHS, paths))
