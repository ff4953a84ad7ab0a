"""Symmetric strength of connection (PyAMG's ``symmetric_strength_of_connection``)."""
from __future__ import annotations

from typing import Any

from .ops import _from_entries, filter_entries, namespace, row_indices

__all__ = ["symmetric_strength"]


def symmetric_strength(A: Any, theta: float = 0.0, vectorized: bool = False) -> Any:
    """The strong couplings of ``A``: off-diagonal ``(i, j)`` with ``|a_ij| >= theta sqrt(|a_ii a_jj|)``.

    Returns a CSR matrix of the same namespace whose pattern is the strength graph (diagonal and
    explicitly stored zeros removed) and whose values are ``|a_ij|``. ``theta = 0`` (PyAMG's default for
    smoothed aggregation) keeps every stored nonzero off-diagonal entry.

    Parameters
    ----------
    A : CSR matrix (SciPy or cupyx), symmetric
    theta : float
        Threshold in ``[0, 1)``.
    vectorized : bool
        At ``theta = 0``, run the array-namespace filter (the GPU's) on the host too, in place of the
        compiled one (same matrix; for tests).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[4.0, -1.0, -0.01], [-1.0, 4.0, 0.0], [-0.01, 0.0, 4.0]]))
    >>> symmetric_strength(A, 0.1).toarray()
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    if theta <= 0:  # every off-diagonal nonzero is strong: one filter over A (a compiled one on the host)
        return filter_entries(A, vectorized=vectorized)
    xp = namespace(A)
    rows = row_indices(A)
    cols = A.indices
    mag = xp.abs(A.data)
    d = xp.abs(A.diagonal())
    keep = (rows != cols) & (mag > 0) & (mag * mag >= (theta * theta) * d[rows] * d[cols])
    return _from_entries(A, keep, mag)
