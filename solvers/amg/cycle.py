"""The multigrid cycle (V or W) over a :class:`~solvers.amg.hierarchy.Hierarchy`, in the namespace of the
hierarchy's arrays: the same code runs on the host (NumPy/SciPy) and on the GPU (CuPy/cupyx).

Mat-vecs go through :func:`solvers.amg.ops.spmv`: the threaded numba CSR mat-vec on large host levels,
the sparse module's ``A @ x`` elsewhere (the GPU, small levels). An earlier measurement here found the
threaded mat-vec 16x slower than SciPy's one-core one inside a cycle (16 ms against 0.9 ms at 300^2);
that was NumPy's OpenBLAS threads competing with numba's for the cores, which ``solvers.threads`` now
prevents inside our set-ups and solves.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InvalidInputError
from .hierarchy import Hierarchy
from .ops import namespace, spmv
from .smoothers import make_smoother

__all__ = ["Cycle", "coarse_solver", "DENSE_MAX"]

#: coarsest levels up to this size are solved with a dense pseudo-inverse (singular ones included, as
#: PyAMG's default 'pinv'); larger ones (coarsening that stopped early) with a sparse LU
DENSE_MAX = 2000


def coarse_solver(A: Any) -> Any:
    """A function ``b -> A^+ b`` for the coarsest level, on ``A``'s device, real or complex.

    On the host the pseudo-inverse is taken per connected component of ``A``'s graph (a block-diagonal
    ``A^+``): decoupled unknowns (masked cells, Dirichlet rows, separate floating parts) get exactly their
    own solution, zero where their right-hand side is zero, where one dense pseudo-inverse of the whole
    matrix would mix in rounding from the other blocks. On the GPU one pseudo-inverse of the whole matrix
    (finding the components would be a host round trip in the set-up).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[2.0, 1j, 0], [-1j, 2.0, 0], [0, 0, 1.0]]))
    >>> x = coarse_solver(A)(np.array([1.0 + 0j, 1j, 0]))
    >>> bool(np.allclose(A @ x, [1.0, 1j, 0])), bool(x[2] == 0)
    (True, True)
    """
    xp = namespace(A)
    if A.shape[0] <= DENSE_MAX:
        dense = A.toarray()
        work = xp.complex128 if dense.dtype.kind == "c" else xp.float64  # the pseudo-inverse in double precision
        if xp is np:
            from scipy.sparse.csgraph import connected_components

            pattern = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape)  # csgraph takes reals
            count, label = connected_components(pattern, directed=False)
            inv = np.zeros(dense.shape, dtype=work)
            for c in range(count):
                block = np.flatnonzero(label == c)
                inv[np.ix_(block, block)] = np.linalg.pinv(dense[np.ix_(block, block)].astype(work))
            inv = inv.astype(A.dtype)
        else:
            inv = xp.linalg.pinv(dense.astype(work)).astype(A.dtype)
        return lambda b: inv @ b
    if xp is np:
        from scipy.sparse.linalg import splu
    else:
        from cupyx.scipy.sparse.linalg import splu
    try:
        lu = splu(A.tocsc())
    except RuntimeError as exc:  # SuperLU: "Factor is exactly singular"
        raise InvalidInputError(f"amg: the coarsest level ({A.shape[0]} unknowns, where coarsening stopped) is "
                                f"singular for the sparse LU: {exc}") from None
    return lu.solve


class Cycle:
    """One V or W cycle from a zero guess, ``z = M^-1 r``: a symmetric positive definite operator for SPD
    ``A`` (the smoothers' post-sweep is the adjoint of their pre-sweep), so it preconditions CG.

    Parameters
    ----------
    hierarchy : Hierarchy
    cycle : {"V", "W"}
        W by default: on our MIS(2) hierarchies the V-cycle's iterations grow with the size and the
        W-cycle's do not (at 1000^2 Poisson, with ``aggregate.PASS2_FREE = 0.75``: 15 CG iterations for
        V, 9 for W, against PyAMG's 9), for about a third more work per cycle. CPU time of the CG solve
        there: W with Chebyshev degree 2, 3 or 4 within 4% of each other (2.26-2.34 s, 9-14 iterations),
        V with degree 3, 4 or 6 15-50% more (2.66-3.46 s).
    smoother : {"chebyshev", "jacobi", "gauss-seidel"}
    sweeps : int
        Smoother sweeps before and after the coarse correction.
    degree : int
        Chebyshev polynomial degree.
    vectorized : bool
        Run the array-namespace form of the Chebyshev steps on the host too, in place of the fused kernels
        of ``solvers.amg.fused`` (the GPU's form, the same operator up to rounding; for tests).

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.sequences import laplacian_delsq
    >>> from solvers.amg.hierarchy import smoothed_aggregation
    >>> A = laplacian_delsq(40)
    >>> M = Cycle(smoothed_aggregation(A))
    >>> b, x = np.ones(1600), np.zeros(1600)
    >>> for _ in range(10):                     # the cycle as a stationary iteration
    ...     x += M.apply(b - A @ x)
    >>> bool(np.linalg.norm(b - A @ x) < 1e-3 * np.linalg.norm(b))
    True
    """

    def __init__(self, hierarchy: Hierarchy, cycle: str = "W", smoother: str = "chebyshev", sweeps: int = 1,
                 degree: int = 4, vectorized: bool = False):
        if cycle not in ("V", "W"):
            raise InvalidInputError(f"amg (solverkit): cycle must be 'V' or 'W', got {cycle!r}")
        self.hierarchy, self.kind = hierarchy, cycle
        self.smoother_kind, self.sweeps, self.degree = smoother, sweeps, degree
        levels = hierarchy.levels
        self.vectorized = vectorized
        self.smoothers = [make_smoother(smoother, lvl.A, lvl.dinv, lvl.rho, sweeps, degree, vectorized)
                          for lvl in levels[:-1]]
        self.coarse = coarse_solver(levels[-1].A)

    def apply(self, r: Any) -> Any:
        """``z = M^-1 r``."""
        return self._cycle(0, r)

    def _cycle(self, lvl: int, b: Any) -> Any:
        levels = self.hierarchy.levels
        if lvl == len(levels) - 1:
            return self.coarse(b)
        level, smoother = levels[lvl], self.smoothers[lvl]
        x = smoother.pre(None, b)
        bc = spmv(level.R, b - spmv(level.A, x))
        xc = self._cycle(lvl + 1, bc)
        if self.kind == "W" and lvl + 1 < len(levels) - 1:  # a second coarse correction
            xc += self._cycle(lvl + 1, bc - spmv(levels[lvl + 1].A, xc))
        x += spmv(level.P, xc)
        return smoother.post(x, b)

    def describe(self) -> list[dict]:
        """Rows ``level, unknowns, nonzeros, rho`` (for logs and reports)."""
        return [{"level": i, "unknowns": lvl.A.shape[0], "nonzeros": lvl.A.nnz, "rho": lvl.rho}
                for i, lvl in enumerate(self.hierarchy.levels)]
