"""Writing results atomically: a file or a whole folder appears complete or not at all, and only
where it may (layer 0: it imports nothing above :mod:`simulation.errors` and
:mod:`simulation.interrupts`).

- :mod:`.files`: the temporaries (created with the usual permissions, locked by their writer),
  :func:`write_atomic` and :func:`all_or_nothing` for single files, :func:`remove_stale_files`;
- :mod:`.checks`: the checks of an output file or folder before any work
  (:func:`check_output_file`, :func:`check_output_dir`, :func:`is_fundsim_output`);
- :mod:`.folders`: :func:`atomic_dir`, the replacement of a folder (an exchange where the system
  allows, :func:`exchange`) and :func:`remove_stale` for the temporary folders of killed runs;
- :mod:`.records`: what outputs record (:func:`display_path`, :func:`command_line`,
  :func:`manifest`, :func:`escape_formulas` for spreadsheets).

Every name is importable from here (``from simulation.outputs import write_atomic``).
"""

from .checks import (
    MANIFEST,
    check_output_dir,
    check_output_file,
    check_output_files,
    is_fundsim_output,
    nearest_existing,
    output_target,
)
from .files import all_or_nothing, remove_stale_files, write_atomic
from .folders import atomic_dir, exchange, remove_stale
from .records import (
    command_line,
    display_path,
    escape_formula,
    escape_formulas,
    git_commit,
    manifest,
    scenario_hash,
)

__all__ = [
    "MANIFEST",
    "all_or_nothing",
    "atomic_dir",
    "check_output_dir",
    "check_output_file",
    "check_output_files",
    "command_line",
    "display_path",
    "escape_formula",
    "escape_formulas",
    "exchange",
    "git_commit",
    "is_fundsim_output",
    "manifest",
    "nearest_existing",
    "output_target",
    "remove_stale",
    "remove_stale_files",
    "scenario_hash",
    "write_atomic",
]
