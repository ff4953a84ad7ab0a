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

from .. import kernels
from ..backends import to_host
from .ops import namespace, serial_and_threaded

__all__ = ["dinv_a_radius", "gershgorin_dinv_a"]

#: Lanczos steps of the estimate
STEPS = 12


# On the host a Lanczos step is the threaded CSR mat-vec of ``solvers.kernels`` and three fused passes
# over the vectors (numba, threaded above PARALLEL_MIN_NNZ): form ``w`` and ``alpha``, orthogonalize and
# take the norm, scale. The array-namespace form below (the GPU's) makes about ten passes with its
# temporaries. ``u = D^-1/2 v`` is kept so that the mat-vec needs no scaled copy. (Earlier measurements
# here that found SciPy's one-core mat-vec and serial passes faster were taken while NumPy's OpenBLAS
# threads competed with numba's for the cores: see ``solvers.threads``. At 100^3 the estimate took 0.28 s
# of a 1.8 s set-up with SciPy's mat-vec and serial passes.)
def _lanczos_w(dis, Au, v, v_prev, beta, w):  # pragma: no cover - compiled
    alpha = 0.0
    for i in prange(w.shape[0]):
        wi = dis[i] * Au[i] - beta * v_prev[i]
        w[i] = wi
        alpha += wi * v[i]
    return alpha


def _lanczos_orthogonalize(w, v, alpha):  # pragma: no cover - compiled
    nrm = 0.0
    for i in prange(w.shape[0]):
        wi = w[i] - alpha * v[i]
        w[i] = wi
        nrm += wi * wi
    return np.sqrt(nrm)


def _lanczos_next(w, inv_beta, dis, v, v_prev, u):  # pragma: no cover - compiled
    for i in prange(w.shape[0]):
        v_prev[i] = v[i]
        vi = w[i] * inv_beta
        v[i] = vi
        u[i] = dis[i] * vi


_STEP_KERNELS = {name: serial_and_threaded(fn) for name, fn in
                 (("w", _lanczos_w), ("orthogonalize", _lanczos_orthogonalize), ("next", _lanczos_next))}


def _host_lanczos(A: Any, dis: np.ndarray, v: np.ndarray, steps: int) -> float:
    n = v.shape[0]
    u, v_prev, w = dis * v, np.zeros(n), np.empty(n)
    alphas, betas = np.zeros(steps), np.zeros(steps)
    beta, m = 0.0, steps
    kern = kernels.for_size(A.nnz)  # the threaded mat-vec (SciPy's runs on one core)
    threaded = int(kern is kernels.PARALLEL)
    step_w, orthogonalize, step_next = (_STEP_KERNELS[k][threaded] for k in ("w", "orthogonalize", "next"))
    Au = np.empty(n, dtype=np.result_type(A.dtype, u.dtype))
    for s in range(steps):
        kern.spmv(A.indptr, A.indices, A.data, u, Au)
        alpha = step_w(dis, Au, v, v_prev, beta, w)
        beta = orthogonalize(w, v, alpha)
        alphas[s], betas[s] = alpha, beta
        if beta <= 1e-12 * abs(alpha):  # an invariant subspace: the Ritz values are exact
            m = s + 1
            break
        step_next(w, 1.0 / beta, dis, v, v_prev, u)
    return _top_ritz_value(alphas[:m], betas[:m])


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
        return _host_lanczos(A, dis, v, steps)
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
