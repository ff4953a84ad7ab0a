"""``python -m solvers`` is the ``solverkit`` command."""
import sys

from .cli import main

sys.exit(main())
