"""Scenario reports and comparisons: the outputs analysts read (layer 4).

- :func:`compare` sets a variant run against its base on common random numbers (difference and
  its standard error per fund, measure and period); :func:`compare_all` stacks several variants.
- :func:`build_report` makes a :class:`Report` (HTML page, tables, figures) from runs;
  :func:`write_report` writes it into a folder atomically.
"""

from .build import OPTIONAL_SECTIONS, SECTIONS, Report, build_report, write_report
from .compare import COMPARE_MEASURES, compare, compare_all, paired_difference
from .fonts import FontSetup, font_setup

__all__ = [
    "COMPARE_MEASURES",
    "OPTIONAL_SECTIONS",
    "SECTIONS",
    "FontSetup",
    "Report",
    "build_report",
    "compare",
    "compare_all",
    "font_setup",
    "paired_difference",
    "write_report",
]
