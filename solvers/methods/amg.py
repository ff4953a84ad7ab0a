"""Algebraic multigrid as a solver (``amg``: ours or PyAMG's hierarchy, see the ``implementation``
option); the preconditioner lives in ``solvers.preconditioners.amg``."""
from __future__ import annotations

import time
from typing import Any

from ..preconditioners.amg import AMGPC
from ..registry import register
from ..stopping import Status
from .base import Method

__all__ = ["AMG"]


@register("method", "amg")
class AMG(Method):
    """Stand-alone AMG: one cycle per iteration, ``x += cycle(b - A x)``; hierarchy built once in setup.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(30, 30))
    >>> A = (sp.kron(sp.eye(30), T) + sp.kron(T, sp.eye(30))).tocsr()
    >>> res = solvers.solve(A, np.ones(900), method="amg")
    >>> res.converged and res.iterations < 30
    True
    """

    name = "amg"
    options_table = AMGPC.options_table
    backends = ("numpy", "cupy")
    dtypes = AMGPC.dtypes

    def _setup(self):
        self.cycle = AMGPC(**self.options).setup(self.A)

    def resetup(self, A: Any) -> "AMG":
        """Set up for a matrix with the same sparsity pattern (see :meth:`AMGPC.resetup`): our
        implementation keeps its aggregates, PyAMG's its interpolation, and recompute the rest."""
        if self.A is None:
            return self.setup(A)
        t0 = time.perf_counter()
        self.cycle.resetup(A)
        self.A = self.cycle.A
        self.setup_time = time.perf_counter() - t0
        return self

    def _solve(self, b, x, stop):
        r = b.copy()
        hist = [stop.start(x, r)]
        while True:  # every iterate's residual is the true one
            status, _ = stop.test(hist, x, r, len(hist) - 1, exact=True)
            if status != Status.ITERATING:
                return x, status, hist
            x += self.project(self.cycle.apply(r))
            hist.append(self.residual(b, x, r))
