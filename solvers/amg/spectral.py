"""The largest eigenvalue of ``D^-1 A`` (what the prolongator smoothing and the smoothers are scaled by).

We run a few Lanczos steps on ``D^-1/2 A D^-1/2`` (same spectrum as ``D^-1 A``, and symmetric, so Lanczos
applies) and take the largest Ritz value. Why this and not a bound: Lanczos converges fastest at the ends
of the spectrum, and 12 steps from a random start give the top eigenvalue of our test matrices within
about 1% (tests/solvers/test_amg_hierarchy.py checks 3%), at the cost of 12 mat-vecs; the Gershgorin bound
``max_i sum_j |a_ij| / a_ii`` costs one pass and is safe, but on smoothed-aggregation coarse levels, which
are not diagonally dominant, it overestimates by 20-60%, which shortens the prolongator smoothing and
costs iterations. PyAMG's ``approximate_spectral_radius`` runs Arnoldi with up to 5 restarts of 15 steps
and dense orthogonalization in Python, which is most of its set-up time. A Ritz value lies below the top
eigenvalue, so users of the estimate that need an upper bound (Chebyshev) widen it by 10%, as PyAMG does.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from ..backends import to_host
from ..kernels import PARALLEL_MIN_NNZ
from .ops import namespace, serial_and_threaded

__all__ = ["dinv_a_radius", "gershgorin_dinv_a"]

#: Lanczos steps of the estimate
STEPS = 12


# The host runs all Lanczos steps in one compiled kernel: per step one pass that forms the mat-vec and
# the inner product with v, one that orthogonalizes and takes the norm, one that scales (three passes over
# the vectors where the array-namespace form below, the GPU's, makes about ten with its temporaries).
# ``u = D^-1/2 v`` is kept so that the mat-vec gathers one array. Work arrays come from the caller (NumPy
# allocations, which tracemalloc sees).
def _lanczos_kernel(indptr, indices, data, dis, v, u, vp, w, alphas, betas):  # pragma: no cover
    n = v.shape[0]
    beta = 0.0
    for s in range(alphas.shape[0]):
        alpha = 0.0
        for i in prange(n):
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * u[indices[k]]
            wi = dis[i] * acc - beta * vp[i]
            w[i] = wi
            alpha += wi * v[i]
        nrm = 0.0
        for i in prange(n):
            wi = w[i] - alpha * v[i]
            w[i] = wi
            nrm += wi * wi
        beta = np.sqrt(nrm)
        alphas[s] = alpha
        betas[s] = beta
        if beta <= 1e-12 * abs(alpha):  # an invariant subspace: the Ritz values are exact
            return s + 1
        inv = 1.0 / beta
        for i in prange(n):
            vp[i] = v[i]
            vi = w[i] * inv
            v[i] = vi
            u[i] = dis[i] * vi
    return alphas.shape[0]


_lanczos_serial, _lanczos_threaded = serial_and_threaded(_lanczos_kernel)


def dinv_a_radius(A: Any, dinv: Any = None, steps: int = STEPS, seed: int = 0, vectorized: bool = False) -> float:
    """Estimate of the spectral radius of ``D^-1 A`` for symmetric ``A`` with a positive diagonal.

    ``vectorized=True`` runs the GPU's array-namespace form on the host too, in place of the host's
    compiled kernel (the same Ritz value up to rounding; for tests).

    Examples
    --------
    >>> from pde_examples.sequences import laplacian_delsq
    >>> A = laplacian_delsq(30)
    >>> rho = dinv_a_radius(A)
    >>> bool(abs(rho - 2.0) < 0.05)
    True
    """
    xp = namespace(A)
    n = A.shape[0]
    if dinv is None:
        dinv = 1.0 / A.diagonal()
    dis = xp.sqrt(dinv.astype(xp.float64))
    steps = max(1, min(steps, n))
    v = np.random.default_rng(seed).standard_normal(n)
    v = xp.asarray(v) if xp is not np else v
    v /= xp.linalg.norm(v)
    if xp is np and not vectorized:
        kernel = _lanczos_threaded if A.nnz >= PARALLEL_MIN_NNZ else _lanczos_serial
        alphas, betas = np.zeros(steps), np.zeros(steps)
        m = kernel(A.indptr, A.indices, A.data.astype(np.float64, copy=False), dis, v, dis * v, np.zeros(n),
                   np.empty(n), alphas, betas)
        return _top_ritz_value(alphas[:m], betas[:m])
    alphas, betas = [], []
    v_prev = xp.zeros_like(v)
    beta = xp.zeros((), dtype=xp.float64)
    for _ in range(steps):
        w = dis * (A @ (dis * v))
        alpha = xp.dot(w, v)
        w -= alpha * v + beta * v_prev
        beta = xp.linalg.norm(w)
        alphas.append(alpha)
        betas.append(beta)
        if float(beta) <= 1e-12 * abs(float(alpha)):  # an invariant subspace: the Ritz values are exact
            break
        v_prev, v = v, w / beta
    a = to_host(xp.stack(alphas)) if xp is not np else np.array(alphas)
    b = to_host(xp.stack(betas)) if xp is not np else np.array(betas)
    return _top_ritz_value(a, b)


def _top_ritz_value(a: np.ndarray, b: np.ndarray) -> float:
    """The largest eigenvalue of the Lanczos tridiagonal matrix (diagonal ``a``, off-diagonal ``b[:-1]``)."""
    Tk = np.diag(a) + np.diag(b[: len(a) - 1], 1) + np.diag(b[: len(a) - 1], -1)
    return float(np.linalg.eigvalsh(Tk)[-1])


def gershgorin_dinv_a(A: Any) -> float:
    """``max_i sum_j |a_ij| / |a_ii|``: an upper bound of the spectral radius of ``D^-1 A``.

    Examples
    --------
    >>> from pde_examples.sequences import laplacian_delsq
    >>> gershgorin_dinv_a(laplacian_delsq(10))
    2.0
    """
    xp = namespace(A)
    absA = abs(A)
    return float((xp.asarray(absA.sum(axis=1)).ravel() / xp.abs(A.diagonal())).max())
