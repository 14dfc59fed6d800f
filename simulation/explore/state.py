"""The explorer's state without any web library: the base scenario, its levers, the values moved,
the numbers of the base and of the edited scenario, and saving the variant.

:class:`Explorer` is what the page drives (:mod:`simulation.explore.app`) and what the tests and
the bench drive directly: :meth:`Explorer.set` moves one lever and returns an :class:`Update`
(the new numbers, or the message a file with that value would get, the values kept as before).
It reads only the scenario's own files (the ``extends`` chain) and writes only ``variant_path``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FundsimError
from ..scenario import resolve_raw, validate_raw
from ..scenario.schema import Scenario
from .levers import Lever, apply_levers, file_notes, iter_levers, toml_number
from .numbers import ExactCache, FundNumbers, headline
from .variant import save_variant


@dataclass(frozen=True)
class Update:
    """What moving a lever gave: the edited numbers, or ``error`` (one line) when refused."""

    numbers: list[FundNumbers] | None
    error: str = ""


def default_variant_path(scenario_path: Path) -> Path:
    """``<folder>/<stem>_explored.toml`` beside the scenario."""
    return scenario_path.with_name(f"{scenario_path.stem}_explored.toml")


class Explorer:
    """One analyst's exploration of one scenario file."""

    def __init__(
        self,
        scenario_path: str | Path,
        variant_path: str | Path | None = None,
        cache: ExactCache | None = None,
    ) -> None:
        self.path = Path(scenario_path)
        self.shown = os.path.normpath(self.path)
        self.raw, self.files = resolve_raw(self.path)
        self.base: Scenario = validate_raw(self.raw, self.shown)
        self.levers: dict[str, Lever] = {
            lv.path: lv for lv in iter_levers(self.raw, self.base, file_notes(self.files))
        }
        self.variant_path = Path(variant_path) if variant_path else default_variant_path(self.path)
        self.cache = cache if cache is not None else ExactCache()
        self.base_numbers = headline(self.base, self.cache)
        self.values: dict[str, Any] = {}
        """Changed key paths and their new values (as the file would hold them)."""
        self.edited_raw = self.raw
        self.edited: Scenario = self.base
        self.numbers = self.base_numbers

    def _like(self, path: str) -> Any:
        """The base's raw value at a lever's key path."""
        node: Any = self.raw
        for part in path.replace("]", "").replace("[", ".").split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def set(self, path: str, value: float) -> Update:
        """Move lever ``path`` to ``value``: validate the scenario with it (refused with the file's
        message, nothing changed) and compute the edited numbers."""
        if path not in self.levers:
            return Update(None, f"{path}: not a lever of this scenario")
        new = dict(self.values)
        number = toml_number(value, self._like(path))
        if number == self.levers[path].value and type(number) is type(self._like(path)):
            new.pop(path, None)
        else:
            new[path] = number
        try:
            raw, scenario = apply_levers(self.raw, new, self.shown)
        except FundsimError as e:
            return Update(None, str(e))
        self.values, self.edited_raw, self.edited = new, raw, scenario
        self.numbers = headline(scenario, self.cache)
        return Update(self.numbers)

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """Changed key paths: (base value, new value)."""
        return {p: (self._like(p), v) for p, v in self.values.items()}

    def save(self, who: str | None = None) -> Path:
        """Write the variant file (``extends`` the base, only the changed keys) to
        ``variant_path``; a FundsimError when nothing was changed."""
        if not self.values:
            raise FundsimError("nothing changed: move a lever before saving a variant")
        return save_variant(self.path, self.variant_path, self.edited_raw, self.changes(), who)
