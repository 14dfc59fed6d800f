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
"""

from ._version import __version__
from .engine.exact import exact_claims_distribution
from .engine.result import SimulationResult, save_result
from .engine.run import run
from .engine.sweep import sweep
from .errors import ClaimsDataError, FundsimError, ParameterError, ScenarioError
from .explore import explore  # the function (it shadows the subpackage's name on purpose)
from .scenario import Scenario, load_scenario
from .scenario.resolve import scenario_for_year

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
