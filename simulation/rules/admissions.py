"""A year's admissions as checked arrays: the input of the cascade (:mod:`simulation.rules.layers`).

Codes are integers (person, category, hospital level, claim type), amounts yuan (float64); the
arrays are read-only once checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ClaimsDataError
from ..scenario.schema import CLAIM_TYPES, LEVELS


def readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _as_codes(name: str, value: ArrayLike, dtype: type) -> np.ndarray:
    a = np.asarray(value)
    if a.ndim != 1:
        raise ClaimsDataError(f"admissions: {name!r} must be a 1-D array, found shape {a.shape}")
    if a.size and not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        raise ClaimsDataError(f"admissions: {name!r} must hold integer codes, found {a.dtype}")
    return np.ascontiguousarray(a, dtype=dtype)


def _as_yuan(name: str, value: ArrayLike) -> np.ndarray:
    a = np.asarray(value)
    if a.ndim != 1:
        raise ClaimsDataError(f"admissions: {name!r} must be a 1-D array, found shape {a.shape}")
    if a.size and not (np.issubdtype(a.dtype, np.number) and not np.iscomplexobj(a)):
        raise ClaimsDataError(f"admissions: {name!r} must hold amounts in yuan, found {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


@dataclass(frozen=True)
class Admissions:
    """A year's admissions (claims) of many persons, one row per admission.

    - ``person``: person id (int64), non-decreasing, so a person's admissions are contiguous, and
      in time order within a person;
    - ``category``: category code (int16) = index in ``list(scenario.categories)``;
    - ``level``: hospital level code (int8) = index in :data:`LEVELS`;
    - ``claim_type``: claim type code (int8) = index in :data:`CLAIM_TYPES`;
    - ``total``: total cost, yuan (float64);
    - ``in_policy``: in-policy (catalogue) part of the cost, yuan (float64), at most ``total``.

    Construction converts dtypes (without copying arrays that already have them) and checks shapes
    only; :meth:`validate` does the full (O(n)) checks of values.
    """

    person: NDArray[np.int64]
    category: NDArray[np.int16]
    level: NDArray[np.int8]
    claim_type: NDArray[np.int8]
    total: NDArray[np.float64]
    in_policy: NDArray[np.float64]

    def __post_init__(self) -> None:
        codes = {"person": np.int64, "category": np.int16, "level": np.int8, "claim_type": np.int8}
        for name, dtype in codes.items():
            object.__setattr__(self, name, _as_codes(name, getattr(self, name), dtype))
        for name in ("total", "in_policy"):
            object.__setattr__(self, name, _as_yuan(name, getattr(self, name)))
        n = self.person.shape[0]
        for name in ("category", "level", "claim_type", "total", "in_policy"):
            m = getattr(self, name).shape[0]
            if m != n:
                raise ClaimsDataError(
                    f"admissions: {name!r} has {m} rows but 'person' has {n}; all columns must "
                    "have one row per admission"
                )

    def __len__(self) -> int:
        return int(self.person.shape[0])

    def validate(self, n_categories: int | None = None) -> Admissions:
        """Check every value; raise :class:`ClaimsDataError` naming the first bad row. Returns self.

        Checks: amounts finite and non-negative, ``in_policy <= total``, ``person`` non-decreasing,
        level and claim type codes valid, category codes in ``[0, n_categories)``.
        """

        def first_bad(mask: np.ndarray) -> int | None:
            idx = np.flatnonzero(mask)
            return int(idx[0]) if idx.size else None

        for name in ("total", "in_policy"):
            a = getattr(self, name)
            i = first_bad(~np.isfinite(a) | (a < 0))
            if i is not None:
                raise ClaimsDataError(
                    f"admission {i}: {name} must be a non-negative amount in yuan, found {a[i]!r}"
                )
        i = first_bad(self.in_policy > self.total)
        if i is not None:
            raise ClaimsDataError(
                f"admission {i}: in-policy cost {self.in_policy[i]:,.2f} yuan is above the total "
                f"cost {self.total[i]:,.2f} yuan"
            )
        i = first_bad(self.person[1:] < self.person[:-1])
        if i is not None:
            raise ClaimsDataError(
                f"admission {i + 1}: person {self.person[i + 1]} follows person {self.person[i]}; "
                "admissions must be sorted by person (a person's admissions contiguous, in time order)"
            )
        checks: list[tuple[str, np.ndarray, int, list[str] | None]] = [
            ("level", self.level, len(LEVELS), [lv.value for lv in LEVELS]),
            ("claim type", self.claim_type, len(CLAIM_TYPES), [c.value for c in CLAIM_TYPES]),
        ]
        if n_categories is not None:
            checks.append(("category", self.category, n_categories, None))
        for what, codes, n, names in checks:
            i = first_bad((codes < 0) | (codes >= n))
            if i is not None:
                allowed = (
                    f" ({', '.join(f'{k}={v}' for k, v in enumerate(names))})" if names else ""
                )
                raise ClaimsDataError(
                    f"admission {i}: {what} code {codes[i]} is not in 0..{n - 1}{allowed}"
                )
        return self
