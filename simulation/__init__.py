"""fundsim: Monte Carlo simulation of Chinese serious illness insurance funds.

The public API (what notebooks and the CLI use):

- :func:`load_scenario` reads and validates a scenario file.
"""

from .errors import FundsimError, ScenarioError
from .scenario import Scenario, load_scenario

__version__ = "0.1.0"

__all__ = ["FundsimError", "Scenario", "ScenarioError", "__version__", "load_scenario"]
