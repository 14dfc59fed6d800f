"""The fund's own history: settled years, calibration to them, back-tests and the forecast ledger.

- :mod:`.table`: the settled-years table (CSV or xlsx), read and validated (:func:`read_history`);
- :mod:`.expected`: the model's expected aggregates of a scenario's fund-years (admissions, cost);
- :mod:`.calibrate`: levels, trends and factor sizes fitted to the settled years, with covariance;
- :mod:`.fragment`: a calibration as a TOML scenario fragment (scenario and ``[systematic]`` keys);
- :mod:`.backtest`: calibrate on the years before each year, forecast it, score (PIT, CRPS...);
- :mod:`.synthetic`: settled years drawn from a known model (tests of recovery and calibration);
- :mod:`.national`: the shipped national aggregates 2018-2023 as a settled-years table;
- :mod:`.ledger`: the embedded database (SQLite) of every forecast made, and the diff of two.
"""

from .table import HISTORY_COLUMNS, read_history

__all__ = ["HISTORY_COLUMNS", "read_history"]
