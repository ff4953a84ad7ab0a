"""Mat-vec and residual of the cycle: SciPy's CSR mat-vec runs on one core, so on the host the threaded
numba kernels of ``solvers.kernels`` do it (same arithmetic); on the GPU it is cupyx's ``A @ x``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels

__all__ = ["matvec", "residual"]


def matvec(A: Any, x: Any) -> Any:
    """``A @ x`` for a CSR matrix.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> matvec(sp.eye(2, format="csr"), np.array([1.0, 2.0])).tolist()
    [1.0, 2.0]
    """
    if isinstance(x, np.ndarray) and A.data.dtype == x.dtype:
        out = np.empty(A.shape[0], dtype=x.dtype)
        kernels.for_size(A.nnz).spmv(A.indptr, A.indices, A.data, x, out)
        return out
    return A @ x


def residual(A: Any, x: Any, b: Any) -> Any:
    """``b - A @ x`` for a CSR matrix."""
    if isinstance(x, np.ndarray) and A.data.dtype == x.dtype == b.dtype:
        r = np.empty_like(x)
        kernels.for_size(A.nnz).residual(A.indptr, A.indices, A.data, x, b, r)
        return r
    return b - A @ x
