"""``python -m simulation``: the ``fundsim`` command (:func:`simulation.cli.main`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
