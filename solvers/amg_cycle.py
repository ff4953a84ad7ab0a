"""A multigrid V-cycle with damped-Jacobi smoothing, written once against the array namespace: PyAMG
builds the hierarchy on the host, every level moves to the backend once, and the cycles run there (the
GPU AMG). Under numpy it is the ``smoother="jacobi"`` option of the ``amg`` preconditioner and solver.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from .multicolor import _to_backend, to_backend_csr

__all__ = ["JacobiCycle"]


def _spectral_radius_dinv_a(A: sp.csr_matrix, iterations: int = 30) -> float:
    """Largest eigenvalue of D^-1 A by power iteration (what the Jacobi damping is scaled by)."""
    d = A.diagonal()
    v = np.random.default_rng(0).standard_normal(A.shape[0])
    lam = 1.0
    for _ in range(iterations):
        w = (A @ v) / d
        lam = float(np.linalg.norm(w) / np.linalg.norm(v))
        v = w / np.linalg.norm(w)
    return lam


class JacobiCycle:
    """V-cycles over a PyAMG hierarchy with ``sweeps`` damped-Jacobi sweeps before and after the coarse
    correction (weight ``4 / (3 rho(D^-1 A))`` per level) and a dense inverse on the coarsest level.

    Symmetric (same smoothing before and after), so it serves CG.

    Examples
    --------
    >>> import numpy as np, pyamg
    >>> from pde_examples.sequences import laplacian_delsq
    >>> A = laplacian_delsq(32)
    >>> cycle = JacobiCycle(pyamg.smoothed_aggregation_solver(A), "numpy")
    >>> r = np.ones(A.shape[0])
    >>> bool(np.linalg.norm(r - A @ cycle.apply(r)) < 0.5 * np.linalg.norm(r))
    True
    """

    def __init__(self, ml: Any, backend: str, sweeps: int = 2, dtype: Any = np.float64):
        self.sweeps = int(sweeps)
        self.levels = []
        for level in ml.levels[:-1]:
            A = sp.csr_matrix(level.A).astype(dtype)
            weight = 4.0 / (3.0 * _spectral_radius_dinv_a(A))
            self.levels.append({
                "A": to_backend_csr(A, backend),
                "P": to_backend_csr(sp.csr_matrix(level.P).astype(dtype), backend),
                "R": to_backend_csr(sp.csr_matrix(level.R).astype(dtype), backend),
                "wdinv": _to_backend((weight / A.diagonal()).astype(dtype), backend),
            })
        coarse = sp.csr_matrix(ml.levels[-1].A).toarray()
        self.coarse_inverse = _to_backend(sla.inv(coarse).astype(dtype), backend)

    def apply(self, r: Any) -> Any:
        """One V-cycle on ``A z = r`` from ``z = 0``."""
        return self._cycle(0, r)

    def _cycle(self, lvl: int, b: Any) -> Any:
        if lvl == len(self.levels):
            return self.coarse_inverse @ b
        L = self.levels[lvl]
        A, wdinv = L["A"], L["wdinv"]
        x = wdinv * b  # first sweep from zero
        for _ in range(self.sweeps - 1):
            x += wdinv * (b - A @ x)
        x += L["P"] @ self._cycle(lvl + 1, L["R"] @ (b - A @ x))
        for _ in range(self.sweeps):
            x += wdinv * (b - A @ x)
        return x
