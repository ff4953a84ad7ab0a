"""Sparse LU (``direct``): SciPy's SuperLU, for small systems and as the reference answer in tests."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..component import COMPLEX_DTYPES, REAL_DTYPES
from ..errors import SolverError
from ..registry import register
from ..stopping import Status
from .base import Method

__all__ = ["Direct"]


@register("method", "direct")
class Direct(Method):
    """Sparse LU factorization in ``setup()`` (reused for every right-hand side), one solve per call.

    The answer is checked like any iterate: the true residual of the LU solve goes through the stopping
    rule and, while it is above the tolerance and still falling, up to ``REFINE`` steps of iterative
    refinement (``x += LU^-1 (b - A x)``) follow. ``iterations`` counts the LU solves (1 when the first
    meets the tolerance); a residual that stays above the tolerance is never reported as converged: as
    ``Reason.DIVERGED_NULL`` for a singular or too ill-conditioned matrix, as ``Reason.DIVERGED_ITS`` with
    a ``detail`` where the residual is already at the rounding level and the tolerance below it.

    With a null space ``N`` (orthonormal, see :mod:`solvers.nullspace`) the factored matrix is the
    bordered ``[[A, N], [N^T, 0]]``, nonsingular when ``N`` spans the null space, whose solution with
    a right-hand side ``[b; 0]`` is the minimum-norm ``x`` (``N^T x = 0``). ``A + N N^T`` would do the
    same but is dense for the constants; the border adds ``2 n k`` entries.

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
    dtypes = REAL_DTYPES + COMPLEX_DTYPES
    iterative = False

    def _setup(self):
        A = self.A
        if self.nullspace is not None:
            N = sp.csr_matrix(np.asarray(self.nullspace.basis))
            A = sp.bmat([[A, N], [N.T, None]], format="csc")
        try:
            self.lu = spla.splu(A.tocsc())
        except RuntimeError as exc:
            hint = "" if self.nullspace is not None else "; give its null space (nullspace=...) if it has one"
            raise SolverError(f"direct: the matrix is singular ({exc}){hint}") from exc

    def _lu_solve(self, r):
        if self.nullspace is None:
            return self.lu.solve(r)
        k = self.nullspace.dim
        return self.lu.solve(np.concatenate([r, np.zeros(k, dtype=r.dtype)]))[: r.shape[0]]

    #: refinement steps after the first LU solve, at most
    REFINE = 3

    def _at_rounding_level(self, b, x, r) -> bool:
        """Whether ``x`` (residual ``r``) solves the system as well as rounding allows: a normwise backward
        error ``||r|| / (||A|| ||x|| + ||b||)`` (infinity norms) within 1000 machine epsilons, and no sign of
        a singular factorization: no pivot of ``U`` below ``n eps`` times the largest (a singular matrix
        leaves one at rounding size, and its blown-up ``x`` also has a small backward error)."""
        eps = float(np.finfo(b.real.dtype).eps)
        pivots = np.abs(self.lu.U.diagonal())
        if pivots.size == 0 or not pivots.min() > pivots.size * eps * pivots.max():
            return False
        a_norm = float(abs(self.A).sum(axis=1).max())
        ax, bn = a_norm * float(np.max(np.abs(x))), float(np.max(np.abs(b)))
        return float(np.max(np.abs(r))) <= 1e3 * eps * (ax + bn)

    def _solve(self, b, x, stop):
        r = np.empty_like(b)
        hist = [stop.start(x, r)]
        while True:
            it = len(hist) - 1
            status = stop.status(hist[-1], it)
            if status != Status.ITERATING and not (status == Status.MAXITER and it == 0):
                return x, status, hist
            if it > self.REFINE or (it > 1 and not hist[-1] < 0.5 * hist[-2]):
                # refinement stopped helping: at the rounding level of a sound factorization the tolerance
                # is out of reach (rtol=0, say); otherwise the matrix is singular or too ill-conditioned
                if self._at_rounding_level(b, x, r):
                    self.solve_detail = (f"direct: the residual {hist[-1]:.3g} is at the rounding level of this "
                                         "system (backward error near machine precision); the tolerance lies below "
                                         "it: loosen rtol/atol")
                    return x, Status.MAXITER, hist
                return x, Status.SINGULAR, hist
            x += self._lu_solve(r).astype(b.dtype, copy=False)
            hist.append(self.residual(b, x, r))
