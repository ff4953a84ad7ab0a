"""The Jacobi-smoothed prolongator ``P = (I - omega/rho D^-1 A) T`` and the Galerkin coarse operator
``R A P`` with ``R = P^T`` (a threaded SpGEMM on the host, ``solvers.amg.spgemm``; cuSPARSE's through
cupyx on the GPU)."""
from __future__ import annotations

from typing import Any

from .ops import scale_rows
from .spgemm import spgemm

__all__ = ["smooth_prolongator", "galerkin", "OMEGA"]

#: PyAMG's and the literature's weight of the prolongator smoothing (over the spectral radius of D^-1 A)
OMEGA = 4.0 / 3.0


def smooth_prolongator(A: Any, T: Any, dinv: Any, rho: float, omega: float = OMEGA, vectorized: bool = False) -> Any:
    """``P = T - (omega / rho) D^-1 A T`` (CSR; column indices not sorted, nothing downstream needs them
    sorted and sorting cost 5% of the set-up at 1M unknowns).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(4, 4), format="csr")
    >>> T = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]]) / np.sqrt(2))
    >>> P = smooth_prolongator(A, T, 1 / A.diagonal(), 2.0)
    >>> np.allclose(P.toarray(), (np.eye(4) - (2 / 3) * A.toarray() / 2) @ T.toarray())
    True
    """
    AT = scale_rows(spgemm(A, T, vectorized), (omega / rho) * dinv.astype(T.dtype))
    return (T - AT).tocsr()


def galerkin(A: Any, P: Any, vectorized: bool = False) -> tuple[Any, Any]:
    """``R = P^T`` (CSR) and the coarse operator ``R A P`` (CSR, column indices in SpGEMM's order).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(6, 6), format="csr")
    >>> P = sp.csr_matrix(np.kron(np.eye(3), np.ones((2, 1))))
    >>> R, Ac = galerkin(A, P)
    >>> Ac.toarray().tolist()
    [[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]]
    """
    R = P.T.tocsr()
    return R, spgemm(R, spgemm(A, P, vectorized), vectorized)
