"""Multicolour relaxation and its solve loop, written once against the array's namespace.

Gauss-Seidel, SOR and SSOR are sequential in lexicographic order; in multicolour order (red-black on
5/7-point stencils) all rows of one colour are relaxed at once, which is how they run on a GPU. The
same code runs under numpy (``ordering="multicolor"`` on the CPU), so CI covers its logic.

The ordering changes the iteration, not only its speed: for consistently ordered matrices such as the
5-point Laplacian the red-black ordering keeps Young's theory (same optimal omega, same asymptotic
rate), so Gauss-Seidel and SOR need about as many iterations as in lexicographic order (within some
20% on the model problem, transients differ). SSOR is the exception: in red-black order its backward
sweep repeats the last colour, the iteration loses what omega buys and needs many times more
iterations; as a CG preconditioner (two sweeps, symmetric) it stays effective. For general matrices
the greedy colouring can need more or fewer iterations than the natural order.

Stopping: the residual norm of every iteration is written to a history array on the device and a
0/1 ``active`` flag, also on the device, multiplies every update, so once the tolerance is met the
iterate stops changing; the host reads the flag only every ``check_every`` iterations. The reported
count is the first iterate that met the tolerance, whatever ``check_every`` is.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from . import kernels
from .backends import array_namespace, to_host
from .stopping import Status, StoppingRule, divergence_limit, first_stop

__all__ = ["MulticolorSplitting", "stationary_solve", "to_backend_csr"]


def to_backend_csr(A: sp.csr_matrix, backend: str) -> Any:
    """``A`` as a CSR matrix of ``backend``: itself for ``"numpy"``, a ``cupyx.scipy.sparse`` copy for ``"cupy"``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> to_backend_csr(sp.eye(2, format="csr"), "numpy").format
    'csr'
    """
    if backend == "cupy":
        import cupyx.scipy.sparse as csp

        return csp.csr_matrix(A)
    return A


def _to_backend(a: np.ndarray, backend: str) -> Any:
    if backend == "cupy":
        import cupy

        return cupy.asarray(a)
    return a


class MulticolorSplitting:
    """Rows grouped by colour, each group's rows of ``A`` and inverse diagonal on the backend.

    Examples
    --------
    >>> from pde_examples.sequences import laplacian_delsq
    >>> MulticolorSplitting(laplacian_delsq(6)).n_colors      # red-black
    2
    """

    def __init__(self, A_host: sp.csr_matrix, backend: str = "numpy"):
        colours = kernels.greedy_coloring(A_host.indptr, A_host.indices)
        self.n_colors = int(colours.max()) + 1
        d = A_host.diagonal()
        self.rows, self.blocks, self.dinv = [], [], []
        for c in range(self.n_colors):
            rows = np.flatnonzero(colours == c)
            self.rows.append(_to_backend(rows, backend))
            self.blocks.append(to_backend_csr(A_host[rows].tocsr(), backend))
            self.dinv.append(_to_backend((1.0 / d[rows]).astype(A_host.dtype), backend))
        self.diag_inv = _to_backend((1.0 / d).astype(A_host.dtype), backend)

    def sweep(self, x, b, omega: float, forward: bool = True, active: Any = 1) -> None:
        """One SOR sweep colour by colour (``omega = 1``: Gauss-Seidel), in place on ``x``."""
        order = range(self.n_colors) if forward else range(self.n_colors - 1, -1, -1)
        for c in order:
            rows = self.rows[c]
            x[rows] += (active * omega) * (b[rows] - self.blocks[c] @ x) * self.dinv[c]

    def apply(self, r, omega: float, symmetric: bool) -> Any:
        """``z = M^-1 r`` for SOR (forward sweep from zero) or SSOR (forward then backward)."""
        xp = array_namespace(r)
        z = xp.zeros_like(r)
        self.sweep(z, r, omega, True)
        if symmetric:
            self.sweep(z, r, omega, False)
        return z


def stationary_solve(A: Any, split: MulticolorSplitting, kind: str, omega: float, b: Any, x: Any,
                     stop: StoppingRule, check_every: int = 10) -> tuple[Any, int, np.ndarray]:
    """Jacobi (``kind='jacobi'``), SOR or SSOR in multicolour order until ``stop`` says so.

    The device keeps a 0/1 ``active`` flag that turns 0 at the first iterate whose residual meets the
    tolerance or leaves the divergence limit (a NaN fails both comparisons), so the iterate freezes
    there; every ``check_every`` iterations the host finds that iterate with the shared
    :func:`solvers.stopping.first_stop`.
    """
    xp = array_namespace(b)
    maxiter = stop.maxiter
    hist = xp.zeros(maxiter + 1, dtype=xp.float64)
    r = b - A @ x
    r0 = xp.linalg.norm(r)
    hist[0] = r0
    stop.limit = divergence_limit(float(r0), stop.tol)
    tol, limit = stop.tol, stop.limit

    def running(rn: Any) -> Any:
        return ((rn > tol) & (rn <= limit)).astype(b.dtype)

    active = running(hist[0])
    it = checked = 0
    while True:
        h = to_host(hist[: it + 1])
        k, status = first_stop(np.ascontiguousarray(h), tol, limit, maxiter, checked)
        if status != Status.ITERATING:
            return x, status, np.array(h[: k + 1])
        checked = it + 1
        for _ in range(min(maxiter, it + check_every) - it):
            it += 1
            if kind == "jacobi":
                x += (active * omega) * split.diag_inv * r
            else:
                split.sweep(x, b, omega, True, active)
                if kind == "ssor":
                    split.sweep(x, b, omega, False, active)
            r = b - A @ x
            hist[it] = xp.linalg.norm(r)
            active = active * running(hist[it])
