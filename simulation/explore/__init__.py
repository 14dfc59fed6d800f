"""The scenario explorer: a scenario's policy levers as widgets, the one-year numbers per fund by
the exact method against the base, and "save as variant" (layer 4, outputs).

Modules, in import order: :mod:`.levers` (the levers of a scenario, from its model and file),
:mod:`.numbers` (the headline numbers and the exact method's cache), :mod:`.variant` (the variant
file), :mod:`.fans` (the fan-chart extension point), :mod:`.state` (:class:`Explorer`, no web
library) and :mod:`.app` (the Panel page, :func:`explore` for a notebook, :func:`serve`). Panel is
imported only by :mod:`.app` (the optional ``explore`` extra).
"""

from __future__ import annotations

from typing import Any

from .levers import Lever, apply_levers, iter_levers
from .numbers import ExactCache, FundNumbers, headline
from .state import Explorer, Update
from .variant import save_variant, variant_text


def explore(scenario: Any, variant: Any = None, **exact_options: Any) -> Any:
    """The explorer as a notebook cell (see :func:`simulation.explore.app.explore`)."""
    from .app import explore as _explore

    return _explore(scenario, variant, **exact_options)


__all__ = [
    "ExactCache",
    "Explorer",
    "FundNumbers",
    "Lever",
    "Update",
    "apply_levers",
    "explore",
    "headline",
    "iter_levers",
    "save_variant",
    "variant_text",
]
