"""The package's one exception family.

Every error a user can cause (a wrong scenario file, a bad claims table, an impossible request)
is a :class:`FundsimError`; the CLI prints its message on one line and exits with code 2.
"""

from __future__ import annotations


class FundsimError(Exception):
    """Base class for every error a user can act on."""


class ScenarioError(FundsimError):
    """A scenario file is wrong.

    The message names the file, the key path (``layers.serious_illness.bands[2].ratio``), what was
    expected and what was found.
    """

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem)


class ParameterError(FundsimError):
    """A dated parameter was looked up for a year it does not cover."""


class ClaimsDataError(FundsimError):
    """A claims or exposure table is malformed (missing columns, impossible values)."""
