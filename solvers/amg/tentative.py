"""The tentative prolongator: the near-null-space vectors ``B`` cut to each aggregate and
orthonormalized there (a QR per aggregate, as PyAMG's ``fit_candidates``), so that ``T Bc = B``."""
from __future__ import annotations

from typing import Any

from ..backends import array_namespace
from ..errors import InvalidInputError
from .ops import csr, segment_sum

__all__ = ["tentative_prolongator", "check_near_nullspace"]

#: a column of an aggregate's block of B whose norm after orthogonalization falls below this fraction of
#: its norm before is linearly dependent there (the aggregate is smaller than k, or B is degenerate on it):
#: its coarse unknown is dropped and T Bc = B still holds
DEPENDENT = 1e-10


def check_near_nullspace(B: Any, n: int) -> Any:
    """``B`` as an ``(n, k)`` array, or :class:`~solvers.errors.InvalidInputError`.

    Examples
    --------
    >>> import numpy as np
    >>> check_near_nullspace(np.ones(4), 4).shape
    (4, 1)
    >>> check_near_nullspace(np.ones((3, 1)), 4)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: amg: the near-null-space vectors B must have shape (n, k) = (4, k) with 1 <= k <= n, got (3, 1)
    """
    xp = array_namespace(B)
    B = xp.asarray(B)
    if B.ndim == 1:
        B = B[:, None]
    if B.ndim != 2 or B.shape[0] != n or not 1 <= B.shape[1] <= n:
        raise InvalidInputError(f"amg: the near-null-space vectors B must have shape (n, k) = ({n}, k) with "
                                f"1 <= k <= n, got {tuple(B.shape)}")
    if not bool(xp.isfinite(B).all()):
        raise InvalidInputError("amg: the near-null-space vectors B contain NaN or Inf")
    if B.dtype.kind not in "fi":
        raise InvalidInputError(f"amg: B must be real, got dtype {B.dtype}")
    return B


def tentative_prolongator(agg: Any, n_agg: int, B: Any, dtype: Any = None) -> tuple[Any, Any]:
    """``T`` (n x nc, CSR) and the coarse near-null-space ``Bc`` (nc x k) with ``T Bc = B`` on the
    aggregated rows and orthonormal columns of ``T`` in each aggregate.

    The QR of every aggregate's block of ``B`` is one modified Gram-Schmidt over the k columns, run for all
    aggregates at once with segment sums (no loop over aggregates, the same code on both namespaces).
    Coarse unknown ``(a, j)`` is column ``j`` of aggregate ``a``; columns dependent on an aggregate are
    dropped (see :data:`DEPENDENT`). Rows with ``agg[i] < 0`` are zero.

    Examples
    --------
    >>> import numpy as np
    >>> T, Bc = tentative_prolongator(np.array([0, 0, 1, -1]), 2, np.ones((4, 1)))
    >>> T.toarray().round(3).tolist(), Bc.ravel().round(3).tolist()
    ([[0.707, 0.0], [0.707, 0.0], [0.0, 1.0], [0.0, 0.0]], [1.414, 1.0])
    """
    xp = array_namespace(B)
    dtype = dtype or B.dtype
    n, k = B.shape
    valid = agg >= 0
    a = agg[valid]
    Q = B[valid].astype(xp.float64)
    R = xp.zeros((n_agg, k, k), dtype=xp.float64)
    keep = xp.ones((n_agg, k), dtype=bool)
    for j in range(k):
        before = xp.sqrt(segment_sum(a, Q[:, j] * Q[:, j], n_agg))
        for i in range(j):
            r = segment_sum(a, Q[:, i] * Q[:, j], n_agg)
            Q[:, j] -= r[a] * Q[:, i]
            R[:, i, j] = r
        nrm = xp.sqrt(segment_sum(a, Q[:, j] * Q[:, j], n_agg))
        ok = nrm > DEPENDENT * before
        keep[:, j] = ok
        R[:, j, j] = xp.where(ok, nrm, 0.0)
        Q[:, j] *= xp.where(ok, 1.0 / xp.where(ok, nrm, 1.0), 0.0)[a]
    # number the kept coarse unknowns (aggregate-major), build T row by row
    flat_keep = keep.ravel()
    new_id = xp.cumsum(flat_keep) - 1
    nc = int(flat_keep.sum())
    Bc = R.reshape(n_agg * k, k)[flat_keep].astype(dtype)
    row_keep = keep[a]  # (m, k): which of a row's k columns exist
    counts = xp.zeros(n, dtype=xp.int64)
    counts[valid] = row_keep.sum(axis=1)
    indptr = xp.zeros(n + 1, dtype=xp.int64)
    indptr[1:] = xp.cumsum(counts)
    cols = new_id[(a[:, None] * k + xp.arange(k)[None, :])][row_keep]
    T = csr(Q[row_keep].astype(dtype), cols.astype(xp.int32 if nc < 2**31 else xp.int64), indptr, (n, nc))
    return T, Bc
