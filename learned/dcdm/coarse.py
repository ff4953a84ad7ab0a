"""The coarse space of our DCDM variant: aggregates of ``ratio^dim`` fluid cells, the Galerkin operator
``Ac = P^T A P`` and its exact solve.

The network's receptive field is a fixed number of cells, so on its own it cannot carry information across
a grid that grows: trained at 64^2 it stalled at 128^2 (measured, ``benchmarks/results/dcdm.md``). Scales
above ``ratio`` cells go to the coarse solve instead, whose size grows with the grid at a fixed ratio
(512^2 with ratio 4: 16384 unknowns), and the network only ever sees residuals with no coarse component.
The preconditioner is the balancing (deflation) form

``z = Q r + s (I - Q A) N((I - A Q) r)``, ``Q = P Ac^{-1} P^T``,

with ``s`` the exact line search of the network's part, so the network's output scale never matters.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from solvers import GridOperator, InvalidInputError

__all__ = ["CoarseSpace", "DeviceCoarseSpace", "balanced_direction"]


def _aggregates(mask: np.ndarray, ratio: int) -> sp.csr_matrix:
    """``P``: column ``j`` is the indicator of the fluid cells of block ``j`` (empty blocks dropped)."""
    shape = mask.shape
    coarse_shape = tuple(-(-s // ratio) for s in shape)
    block = np.ravel_multi_index(tuple(i // ratio for i in np.indices(shape)), coarse_shape).reshape(-1)
    rows = np.flatnonzero(mask.reshape(-1))
    _, cols = np.unique(block[rows], return_inverse=True)
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(mask.size, int(cols.max()) + 1))


class CoarseSpace:
    """Aggregation coarse space of a masked grid operator, with ``Q r = P Ac^{-1} P^T r``.

    Parameters
    ----------
    op : GridOperator
        The fine operator (SPD; solid cells are identity rows and get no aggregate).
    ratio : int
        Cells per aggregate along each axis.

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.fluid import fluid_pressure
    >>> p = fluid_pressure((32, 32), obstacles=2, seed=1)
    >>> cs = CoarseSpace(p.grid, 8)
    >>> r = np.random.default_rng(0).standard_normal(p.A.shape[0]) * p.mask.ravel()
    >>> bool(np.allclose(cs.P.T @ (r - p.A @ cs.solve(r)), 0.0))  # the coarse residual is solved exactly
    True
    """

    def __init__(self, op: GridOperator, ratio: int):
        if ratio < 2:
            raise InvalidInputError(f"coarse ratio must be >= 2, got {ratio}")
        mask = np.ones(op.grid_shape, bool) if op.mask is None else np.asarray(op.mask, bool)
        if not mask.any():
            raise InvalidInputError("the grid has no fluid cells")
        self.ratio = ratio
        self.A = op.to_csr()
        self.P = _aggregates(mask, ratio)
        self.Ac = (self.P.T @ self.A @ self.P).tocsc()
        self._lu = sla.splu(self.Ac)

    @property
    def size(self) -> int:
        return self.P.shape[1]

    def solve(self, r: np.ndarray) -> np.ndarray:
        """``Q r = P Ac^{-1} P^T r``: the A-orthogonal projection of the error onto the coarse space."""
        return self.P @ self._lu.solve(self.P.T @ r)

    def dense_inverse(self) -> np.ndarray:
        """``Ac^{-1}`` as a dense array (for batched training on small grids)."""
        return self._lu.solve(np.eye(self.size))

    def on_device(self, A_device: Any = None) -> "DeviceCoarseSpace":
        """The same coarse space on the GPU (``A_device``: the fine matrix already there, if it is)."""
        return DeviceCoarseSpace(self, A_device)


#: the GPU keeps a dense Cholesky factor of ``Ac`` (two triangular solves per coarse solve) while it takes at
#: most this many bytes and a quarter of the device's free memory (4 GiB: 23,170 aggregates in float64, a
#: 740^2 grid at ratio 4); above, cuSPARSE triangular solves with the host's sparse LU, which run level by
#: level and are far slower per solve
DENSE_MAX_BYTES = 4 << 30


class DeviceCoarseSpace:
    """``Q r = P Ac^{-1} P^T r`` on the GPU, for CuPy vectors: ``P``, ``P^T`` and ``A`` as ``cupyx`` CSR
    matrices, ``Ac`` as a dense Cholesky factor within ``DENSE_MAX_BYTES``, built and factorized on the device
    (the host's LU solve against the identity, the former dense path, took most of a CuPy solve's time at
    4096 aggregates), else ``cupyx.scipy.sparse.linalg.splu`` (factorized on the host, solved on the
    device).

    Examples
    --------
    >>> import cupy  # doctest: +SKIP
    >>> from pde_examples.fluid import fluid_pressure
    >>> p = fluid_pressure((32, 32), obstacles=2, seed=1)
    >>> cs = CoarseSpace(p.grid, 8).on_device()  # doctest: +SKIP
    >>> r = cupy.asarray(p.b)  # doctest: +SKIP
    >>> bool(cupy.allclose(cs.P.T @ (r - cs.A @ cs.solve(r)), 0.0))  # doctest: +SKIP
    True
    """

    def __init__(self, coarse: CoarseSpace, A_device: Any = None):
        import cupy
        import cupyx.scipy.sparse as csp
        import cupyx.scipy.sparse.linalg as cspla

        self.ratio = coarse.ratio
        self.A = A_device if A_device is not None else csp.csr_matrix(coarse.A)
        self.P = csp.csr_matrix(coarse.P)
        self._PT = csp.csr_matrix(coarse.P.T.tocsr())
        dense_bytes = coarse.size ** 2 * np.dtype(np.float64).itemsize
        free, _ = cupy.cuda.runtime.memGetInfo()
        self._chol = None
        if dense_bytes <= min(DENSE_MAX_BYTES, free // 4):
            import cupyx

            try:  # CuPy ignores cuSOLVER's failure report unless told to raise (a non-SPD Ac)
                with cupyx.errstate(linalg="raise"):
                    self._chol = cupy.linalg.cholesky(csp.csr_matrix(coarse.Ac).toarray())
            except np.linalg.LinAlgError:
                self._chol = None
        self._lu = cspla.splu(csp.csc_matrix(coarse.Ac)) if self._chol is None else None

    def solve(self, r: Any) -> Any:
        c = self._PT @ r
        if self._chol is None:
            return self.P @ self._lu.solve(c)
        from cupyx.scipy.linalg import solve_triangular

        y = solve_triangular(self._chol, c, lower=True)
        return self.P @ solve_triangular(self._chol, y, lower=True, trans="T")


def balanced_direction(r: Any, coarse: CoarseSpace | DeviceCoarseSpace, network: Callable[[Any], Any]) -> Any:
    """``z = Q r + s (I - Q A) N(r1)`` with ``r1 = r - A Q r`` and ``s`` the line search along the network's part.

    NumPy vectors with a ``CoarseSpace``, CuPy vectors with a ``DeviceCoarseSpace``: the same code runs on both.

    Examples
    --------
    >>> import numpy as np, scipy.sparse.linalg as sla
    >>> from pde_examples.fluid import fluid_pressure
    >>> p = fluid_pressure((16, 16), seed=0)
    >>> z = balanced_direction(p.b, CoarseSpace(p.grid, 4), lambda r: r)  # identity in place of a network
    >>> e, alpha = sla.spsolve(p.A.tocsc(), p.b), (z @ p.b) / (z @ (p.A @ z))
    >>> left = (e - alpha * z) @ (p.A @ (e - alpha * z)) / (e @ p.b)  # error energy left by one CG step
    >>> bool(left < 0.3)
    True
    """
    A = coarse.A
    y = coarse.solve(r)
    r1 = r - A @ y
    n = network(r1)
    n = n - coarse.solve(A @ n)
    An = A @ n
    nAn = float(n @ An)
    if not nAn > 0.0:
        return y
    return y + (float(n @ r1) / nAn) * n
