"""Algebraic multigrid through PyAMG, as a solver (``amg``); the preconditioner lives in
``solvers.preconditioners.amg``."""
from __future__ import annotations

import numpy as np

from ..preconditioners.amg import AMGPC
from ..registry import register
from ..result import Reason
from .base import DTOL, Method

__all__ = ["AMG"]


@register("method", "amg")
class AMG(Method):
    """Stand-alone AMG: one cycle per iteration, ``x += cycle(b - A x)``; hierarchy built once in setup.

    Options
    -------
    amg_type : {"sa", "rs"}, default "sa"
        Smoothed aggregation or classical Ruge-Stuben.
    strength : float, default 0.0 (SA: symmetric strength 0, RS: classical 0.25 when left at 0)
    cycle : {"V", "W", "F"}, default "V"

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
    defaults = dict(AMGPC.defaults)
    backends = ("numpy", "cupy")

    def _setup(self):
        self.cycle = AMGPC(**self.options).setup(self.A)

    def _solve(self, b, x, tol, maxiter):
        r = b.copy()
        rn = self.residual(b, x, r)
        hist = [rn]
        limit = DTOL * max(rn, tol)
        while True:
            if not np.isfinite(rn):
                return x, Reason.DIVERGED_NANORINF, hist
            if rn <= tol:
                return x, Reason.CONVERGED_RTOL, hist
            if rn > limit:
                return x, Reason.DIVERGED_DTOL, hist
            if len(hist) > maxiter:
                return x, Reason.DIVERGED_ITS, hist
            x += self.cycle.apply(r)
            rn = self.residual(b, x, r)
            hist.append(rn)
