"""solverkit core: one ``solve()`` over a registry of linear solvers.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> import solvers
>>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(100, 100), format="csr")
>>> res = solvers.solve(A, np.ones(100), method="cg", pc="ic")
>>> res.converged
True
"""
from . import methods, preconditioners, registry  # noqa: F401  (registers the built-ins)
from .api import make_solver, solve
from .errors import InvalidInputError, MissingDependencyError, SolverError, UnknownComponentError
from .grid import GridOperator
from .options import parse_options
from .registry import available
from .result import Reason, SolveResult

__version__ = "0.1.0"

__all__ = [
    "solve", "make_solver", "available", "registry", "SolveResult", "Reason", "GridOperator", "parse_options",
    "SolverError", "InvalidInputError", "UnknownComponentError", "MissingDependencyError",
]
