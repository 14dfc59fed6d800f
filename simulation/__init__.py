"""fundsim: Monte Carlo simulation of Chinese serious illness insurance funds.

The public API (what notebooks and the CLI use):

- :func:`load_scenario` reads, merges (``extends``) and validates a scenario file;
  :func:`scenario_for_year` gives the rules in force in a year;
- :func:`run` simulates paths of policy years and returns a :class:`SimulationResult`
  (``.summary()``, ``.paths``, ``.layers``, ``.categories``); :func:`save_result` writes it;
- :func:`sweep` runs a grid of scenarios on common random numbers;
- :func:`exact_claims_distribution` is the exact FFT method for one fund and one year;
- :mod:`simulation.pricing` prices tenders, :mod:`simulation.cashflow` models intra-year cash
  flows, :mod:`simulation.fit` fits models to claims data, :mod:`simulation.report` writes reports;
- :func:`explore` is the interactive scenario explorer as a notebook cell.

The names are imported on first use (module ``__getattr__``), so ``import simulation`` loads no
numpy, numba or pandas: the ``fundsim`` command (:mod:`simulation.cli`) sets its SIGINT and SIGTERM
handlers before those heavy imports, which take about a second. ``simulation.explore`` is the
function, also once the subpackage of that name is imported (a property of the package's module
class keeps the import system from rebinding it).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .engine.exact import exact_claims_distribution
    from .engine.result import SimulationResult, save_result
    from .engine.run import run
    from .engine.sweep import sweep
    from .errors import ClaimsDataError, FundsimError, ParameterError, ScenarioError
    from .explore import explore
    from .scenario import Scenario, load_scenario
    from .scenario.resolve import scenario_for_year

_HOME = {
    "ClaimsDataError": ".errors",
    "FundsimError": ".errors",
    "ParameterError": ".errors",
    "Scenario": ".scenario",
    "ScenarioError": ".errors",
    "SimulationResult": ".engine.result",
    "exact_claims_distribution": ".engine.exact",
    "load_scenario": ".scenario",
    "run": ".engine.run",
    "save_result": ".engine.result",
    "scenario_for_year": ".scenario.resolve",
    "sweep": ".engine.sweep",
}
"""Each public name (but ``explore``) and the module it is imported from on first use."""

__all__ = [
    "ClaimsDataError",
    "FundsimError",
    "ParameterError",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "__version__",
    "exact_claims_distribution",
    "explore",
    "load_scenario",
    "run",
    "save_result",
    "scenario_for_year",
    "sweep",
]
assert sorted(__all__) == sorted([*_HOME, "__version__", "explore"])


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later look-ups find it directly
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package's module class: ``explore`` is the explorer function (imported on first use)
    although a subpackage has the same name; the import system's binding of the subpackage to
    the package's attribute is ignored, any other value (a test's stand-in) is kept."""

    @property
    def explore(self) -> Any:
        found = self.__dict__.get("_explore")
        if found is None:
            from .explore import explore as found
        return found

    @explore.setter
    def explore(self, value: Any) -> None:
        if not isinstance(value, types.ModuleType):
            self.__dict__["_explore"] = value

    @explore.deleter
    def explore(self) -> None:
        self.__dict__.pop("_explore", None)


sys.modules[__name__].__class__ = _Package
