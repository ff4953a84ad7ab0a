"""Symmetric strength of connection (PyAMG's ``symmetric_strength_of_connection``)."""
from __future__ import annotations

from typing import Any

from .ops import csr, namespace, row_indices

__all__ = ["symmetric_strength"]


def symmetric_strength(A: Any, theta: float = 0.0) -> Any:
    """The strong couplings of ``A``: off-diagonal ``(i, j)`` with ``|a_ij| >= theta sqrt(|a_ii a_jj|)``.

    Returns a CSR matrix of the same namespace whose pattern is the strength graph (diagonal and
    explicitly stored zeros removed) and whose values are ``|a_ij|``. ``theta = 0`` (PyAMG's default for
    smoothed aggregation) keeps every stored nonzero off-diagonal entry.

    Parameters
    ----------
    A : CSR matrix (SciPy or cupyx), symmetric
    theta : float
        Threshold in ``[0, 1)``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[4.0, -1.0, -0.01], [-1.0, 4.0, 0.0], [-0.01, 0.0, 4.0]]))
    >>> symmetric_strength(A, 0.1).toarray()
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    xp = namespace(A)
    rows = row_indices(A)
    cols = A.indices
    mag = xp.abs(A.data)
    keep = (rows != cols) & (mag > 0)
    if theta > 0:
        d = xp.abs(A.diagonal())
        keep &= mag * mag >= (theta * theta) * d[rows] * d[cols]
    counts = xp.bincount(rows[keep], minlength=A.shape[0])
    indptr = xp.zeros(A.shape[0] + 1, dtype=A.indptr.dtype)
    indptr[1:] = xp.cumsum(counts)
    return csr(mag[keep], cols[keep], indptr, A.shape)
