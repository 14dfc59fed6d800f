"""CLI subcommands, one module each (see :mod:`simulation.cli`)."""
