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

from ..backends import to_host
from .ops import namespace

__all__ = ["dinv_a_radius", "gershgorin_dinv_a"]

#: Lanczos steps of the estimate
STEPS = 12


def dinv_a_radius(A: Any, dinv: Any = None, steps: int = STEPS, seed: int = 0) -> float:
    """Estimate of the spectral radius of ``D^-1 A`` for symmetric ``A`` with a positive diagonal.

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
