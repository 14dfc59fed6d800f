"""The fast method: Monte Carlo over the systematic factors, the exact conditional law for the rest.

(Full docstring below in this package's final form.)
"""

from __future__ import annotations

from .sample import run_fast

__all__ = ["run_fast"]
