"""Smoothers of the AMG cycle, written once over the array namespace: damped Jacobi, Chebyshev and
multicolour Gauss-Seidel. Each has ``pre(x, b)`` and ``post(x, b)`` (in place on ``x``; ``x=None`` means a
zero initial guess) with ``post`` the adjoint of ``pre`` in the energy inner product, so a cycle built from
them is a symmetric operator and serves CG.
"""
from __future__ import annotations

from typing import Any

from ..backends import backend_of
from ..multicolor import MulticolorSplitting
from .fused import chebyshev_start, chebyshev_step
from .ops import namespace

__all__ = ["JacobiSmoother", "ChebyshevSmoother", "MulticolorGaussSeidel", "make_smoother", "SMOOTHERS"]


class JacobiSmoother:
    """``sweeps`` damped-Jacobi sweeps ``x += w D^-1 (b - A x)`` with ``w = 4 / (3 rho(D^-1 A))`` (2/3 for
    the Laplacian). Its own adjoint.

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.sequences import laplacian_delsq
    >>> A = laplacian_delsq(8); b = np.ones(64)
    >>> s = JacobiSmoother(A, 1 / A.diagonal(), 2.0, sweeps=3)
    >>> x = s.pre(None, b)
    >>> bool(np.linalg.norm(b - A @ x) < np.linalg.norm(b))
    True
    """

    def __init__(self, A: Any, dinv: Any, rho: float, sweeps: int = 1):
        self.A, self.sweeps = A, int(sweeps)
        self.wdinv = ((4.0 / (3.0 * rho)) * dinv).astype(A.dtype)

    def pre(self, x: Any, b: Any) -> Any:
        start = 0
        if x is None:
            x = self.wdinv * b
            start = 1
        for _ in range(start, self.sweeps):
            x += self.wdinv * (b - self.A @ x)
        return x

    post = pre


class ChebyshevSmoother:
    """A Chebyshev polynomial in ``D^-1 A`` of degree ``degree`` (per sweep) that damps the eigenvalues in
    ``[upper / 30, upper]``, ``upper = 1.1 rho(D^-1 A)`` (PyAMG's and hypre's choice of interval): the
    three-term recurrence of Saad, *Iterative Methods for Sparse Linear Systems*, Algorithm 12.1. A
    polynomial in ``D^-1 A`` is self-adjoint in the energy inner product, so pre = post.

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.sequences import laplacian_delsq
    >>> A = laplacian_delsq(8); b = np.ones(64)
    >>> x = ChebyshevSmoother(A, 1 / A.diagonal(), 2.0).pre(None, b)
    >>> bool(np.linalg.norm(b - A @ x) < 0.7 * np.linalg.norm(b))
    True
    """

    def __init__(self, A: Any, dinv: Any, rho: float, degree: int = 3, sweeps: int = 1,
                 lower: float = 1.0 / 30.0, upper: float = 1.1, vectorized: bool = False):
        self.A, self.dinv, self.degree, self.sweeps = A, dinv.astype(A.dtype), int(degree), int(sweeps)
        self.vectorized = vectorized
        hi, lo = upper * rho, lower * upper * rho
        self.theta, self.delta = (hi + lo) / 2, (hi - lo) / 2

    def pre(self, x: Any, b: Any) -> Any:
        for _ in range(self.sweeps):
            x = self._sweep(x, b)
        return x

    post = pre

    def _sweep(self, x: Any, b: Any) -> Any:
        # x_m = x_0 + d_0 + ... + d_(m-1): ``chebyshev_step`` adds the d it consumes to x (and on the last
        # step the one it makes), so that a step's vector updates are one fused pass on the host (``fused``)
        theta, delta = self.theta, self.delta
        sigma = theta / delta
        rho = 1.0 / sigma
        r, d = chebyshev_start(self.A, self.dinv, b, x, theta, self.vectorized)
        if x is None:
            x = namespace(b).zeros_like(b)
        if self.degree == 1:
            x += d
            return x
        for k in range(self.degree - 1):
            rho_new = 1.0 / (2.0 * sigma - rho)
            chebyshev_step(self.A, self.dinv, r, d, x, rho_new * rho, 2.0 * rho_new / delta,
                           k == self.degree - 2, self.vectorized)
            rho = rho_new
        return x


class MulticolorGaussSeidel:
    """Gauss-Seidel in multicolour order (``solvers.multicolor.MulticolorSplitting``): ``pre`` sweeps the
    colours forward, ``post`` backward, its adjoint. The colouring is computed on the host (a greedy
    colouring, red-black on 5/7-point stencils); on the GPU this is the one step of the set-up that reads
    the level's matrix back to the host.

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.sequences import laplacian_delsq
    >>> A = laplacian_delsq(8); b = np.ones(64)
    >>> gs = MulticolorGaussSeidel(A)
    >>> x = gs.post(gs.pre(None, b), b)
    >>> for _ in range(20):
    ...     x = gs.post(gs.pre(x, b), b)
    >>> bool(np.linalg.norm(b - A @ x) < 0.1 * np.linalg.norm(b))
    True
    """

    def __init__(self, A: Any, sweeps: int = 1):
        backend = backend_of(A.data)
        host = A.get() if backend == "cupy" else A
        self.split = MulticolorSplitting(host.tocsr(), backend)
        self.sweeps = int(sweeps)

    def pre(self, x: Any, b: Any) -> Any:
        if x is None:
            x = namespace(b).zeros_like(b)
        for _ in range(self.sweeps):
            self.split.sweep(x, b, 1.0, True)
        return x

    def post(self, x: Any, b: Any) -> Any:
        for _ in range(self.sweeps):
            self.split.sweep(x, b, 1.0, False)
        return x


#: the smoothers our cycle offers (option ``smoother`` of the amg pc with implementation="solverkit")
SMOOTHERS = ("chebyshev", "jacobi", "gauss-seidel")


def make_smoother(kind: str, A: Any, dinv: Any, rho: float, sweeps: int = 1, degree: int = 3,
                  vectorized: bool = False) -> Any:
    """The smoother ``kind`` (one of :data:`SMOOTHERS`) of one level (``vectorized``: the Chebyshev
    smoother's array-namespace form on the host too, see ``fused``)."""
    if kind == "jacobi":
        return JacobiSmoother(A, dinv, rho, sweeps)
    if kind == "chebyshev":
        return ChebyshevSmoother(A, dinv, rho, degree, sweeps, vectorized=vectorized)
    if kind == "gauss-seidel":
        return MulticolorGaussSeidel(A, sweeps)
    raise ValueError(f"unknown smoother {kind!r}")
