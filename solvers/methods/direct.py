"""Sparse LU (``direct``): SciPy's SuperLU, for small systems and as the reference answer in tests."""
from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

from ..errors import SolverError
from ..registry import register
from ..result import Reason
from .base import Method

__all__ = ["Direct"]


@register("method", "direct")
class Direct(Method):
    """Sparse LU factorization in ``setup()`` (reused for every right-hand side), one solve per call.

    ``iterations`` is 1 and ``residual_norms`` holds the initial and the final true residual.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(5, 5), format="csr")
    >>> res = solvers.solve(A, np.ones(5), method="direct")
    >>> res.x.round(6).tolist()
    [2.5, 4.0, 4.5, 4.0, 2.5]
    """

    name = "direct"
    iterative = False

    def _setup(self):
        try:
            self.lu = spla.splu(self.A.tocsc())
        except RuntimeError as exc:
            raise SolverError(f"direct: the matrix is singular ({exc})") from exc

    def _solve(self, b, x, tol, maxiter):
        r = np.empty_like(b)
        r0 = self.residual(b, x, r)
        x += self.lu.solve(r).astype(b.dtype, copy=False)
        rn = self.residual(b, x, r)
        if not np.isfinite(rn):
            return x, Reason.DIVERGED_NANORINF, [r0, rn]
        return x, (Reason.CONVERGED_RTOL if rn <= tol else Reason.CONVERGED_ITS), [r0, rn]
