"""Fused host kernels of the Chebyshev smoother: the vector updates of a step in one pass (numba, serial)
where the array-namespace form makes four or five passes with temporaries. The mat-vec itself stays
SciPy's on both forms: a numba CSR loop measured 1.5-2x slower than SciPy's ``csr_matvec`` here (CPU time
of a 1M-unknown 5-point mat-vec: 15-20 ms against 10-12 ms), so fusing the mat-vec into the update lost
more than the saved passes. ``vectorized=True`` (and always on the GPU) runs the array-namespace form,
which is what CuPy executes and what the tests check the kernels against.
"""
from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from .ops import namespace, spmv

__all__ = ["chebyshev_start", "chebyshev_step"]


@nb.njit(cache=True, nogil=True)
def _chebyshev_start(dinv, b, Ax, inv_theta, r, d):  # pragma: no cover - compiled
    for i in range(r.shape[0]):
        ri = dinv[i] * (b[i] - Ax[i])
        r[i] = ri
        d[i] = ri * inv_theta


@nb.njit(cache=True, nogil=True)
def _chebyshev_step(dinv, Ad, r, d, x, c_d, c_r, last):  # pragma: no cover - compiled
    for i in range(r.shape[0]):
        ri = r[i] - dinv[i] * Ad[i]
        r[i] = ri
        di = d[i]
        dn = c_d * di + c_r * ri
        d[i] = dn
        x[i] += di + dn if last else di


def _host(A: Any, vectorized: bool) -> bool:
    return not vectorized and namespace(A) is np


def chebyshev_start(A: Any, dinv: Any, b: Any, x: Any, theta: float, vectorized: bool = False) -> tuple[Any, Any]:
    """The first Chebyshev step's ``r = D^-1 (b - A x)`` and ``d = r / theta`` (``x`` is not changed;
    ``x=None`` is a zero ``x``).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[2.0, -1.0], [-1.0, 2.0]]))
    >>> r, d = chebyshev_start(A, np.full(2, 0.5), np.array([1.0, 0.0]), np.ones(2), 2.0)
    >>> r.tolist(), d.tolist()
    ([0.0, -0.5], [0.0, -0.25])
    """
    if x is None:
        r = dinv * b
        return r, r * (1.0 / theta)
    if not _host(A, vectorized):
        r = dinv * (b - A @ x)
        return r, r / theta
    r, d = np.empty_like(b), np.empty_like(b)
    _chebyshev_start(dinv, b, spmv(A, x), 1.0 / theta, r, d)
    return r, d


def chebyshev_step(A: Any, dinv: Any, r: Any, d: Any, x: Any, c_d: float, c_r: float, last: bool,
                   vectorized: bool = False) -> None:
    """One step of the Chebyshev recurrence, in place on ``r``, ``d`` and ``x``: ``x += d``,
    ``r -= D^-1 A d``, ``d = c_d d + c_r r``, and on the ``last`` step ``x += d`` (the new one) too."""
    Ad = spmv(A, d) if _host(A, vectorized) else A @ d
    if not _host(A, vectorized):
        x += d
        r -= dinv * Ad
        d *= c_d
        d += c_r * r
        if last:
            x += d
        return
    _chebyshev_step(dinv, Ad, r, d, x, c_d, c_r, last)
