"""One AMG cycle as a preconditioner (``amg``), hierarchy from PyAMG built once in ``setup()``."""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..component import COMPLEX_DTYPES, REAL_DTYPES, Option
from ..errors import InvalidInputError
from ..registry import register
from .base import Preconditioner

__all__ = ["AMGPC"]


@register("pc", "amg")
class AMGPC(Preconditioner):
    """One multigrid cycle from a zero guess (PyAMG's hierarchy and cycle, symmetric smoothing, so it
    is a symmetric positive definite operator for SPD A and serves CG).

    Notes
    -----
    ``smoother="jacobi"`` runs damped Jacobi in our own V-cycle (``solvers.amg_cycle``), which is what runs
    on the GPU: there the hierarchy is built by PyAMG on the host once and every level moves to the device.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(100, 100), format="csr")
    >>> pc = AMGPC().setup(A)
    >>> z = pc.apply(np.ones(100))
    >>> bool(np.linalg.norm(np.ones(100) - A @ z) < np.linalg.norm(np.ones(100)))
    True
    """

    name = "amg"
    options_table = (
        Option("amg_type", "str", "sa", "smoothed aggregation or classical Ruge-Stuben", choices=("sa", "rs")),
        Option("strength", "float", 0.0, "strength-of-connection threshold (RS: 0 means PyAMG's 0.25)",
               low=0.0, high=1.0, open_high=True),
        Option("cycle", "str", "V", "multigrid cycle", choices=("V", "W", "F")),
        Option("smoother", "str", "pyamg", "PyAMG's Gauss-Seidel, or damped Jacobi in our own V-cycle (the GPU's)",
               choices=("pyamg", "jacobi")),
    )
    backends = ("numpy", "cupy")
    dtypes = REAL_DTYPES + COMPLEX_DTYPES

    def _setup(self):
        import pyamg

        s = self.options["strength"]
        host = self.A.get() if self.backend == "cupy" else self.A
        # PyAMG starts its spectral-radius estimates (the prolongation smoother's omega) from
        # np.random.rand, NumPy's global generator: seed it for this set-up, so that a matrix always gets
        # the same hierarchy, and give the caller's generator state back
        state = np.random.get_state()
        np.random.seed(0)
        try:
            if self.options["amg_type"] == "sa":
                self.ml = pyamg.smoothed_aggregation_solver(host, strength=("symmetric", {"theta": s}))
            else:
                self.ml = pyamg.ruge_stuben_solver(host, strength=("classical", {"theta": s or 0.25}))
        finally:
            np.random.set_state(state)
        self._jacobi = None
        if self.backend == "cupy" or self.options["smoother"] == "jacobi":
            from ..amg_cycle import JacobiCycle

            if self.options["cycle"] != "V":
                raise InvalidInputError("the Jacobi-smoothed (GPU) AMG cycle is a V-cycle: use cycle='V'")
            self._jacobi = JacobiCycle(self.ml, self.backend, dtype=host.dtype)
            return
        self._op = self.ml.aspreconditioner(cycle="F") if self.options["cycle"] == "F" else None
        self._kernels = [kernels.for_size(lvl.A.nnz) for lvl in self.ml.levels]

    def apply(self, r: np.ndarray) -> np.ndarray:
        r = r.astype(self.A.dtype, copy=False)
        if self._jacobi is not None:
            return self._jacobi.apply(r)
        if self._op is not None:
            return np.asarray(self._op @ r, dtype=r.dtype)
        if len(self.ml.levels) == 1:  # a small matrix: the hierarchy is just the coarse solve
            return np.asarray(self.ml.coarse_solver(self.ml.levels[0].A, r), dtype=r.dtype)
        x = np.zeros_like(r)
        self._cycle(0, x, r, self.options["cycle"])
        return x

    def _cycle(self, lvl: int, x: np.ndarray, b: np.ndarray, cycle: str) -> None:
        """One V or W cycle on PyAMG's levels and smoothers.

        PyAMG's own ``aspreconditioner`` runs ``ml.solve(maxiter=1)``, which also forms norms and residuals
        for its stopping test on every call; this cycle does only the multigrid work, with the fine-level
        residual and prolongation through the threaded kernels.
        """
        levels = self.ml.levels
        level = levels[lvl]
        A = level.A
        level.presmoother(A, x, b)
        k = self._kernels[lvl]
        if A.format == "csr":
            r = np.empty_like(b)
            k.residual(A.indptr, A.indices, A.data, x, b, r)
        else:  # PyAMG may keep a level in BSR form
            r = b - A @ x
        coarse_b = level.R @ r
        coarse_x = np.zeros_like(coarse_b)
        if lvl == len(levels) - 2:
            coarse_x[:] = self.ml.coarse_solver(levels[-1].A, coarse_b)
        else:
            self._cycle(lvl + 1, coarse_x, coarse_b, cycle)
            if cycle == "W":
                self._cycle(lvl + 1, coarse_x, coarse_b, cycle)
        P = level.P
        if P.format == "csr":
            correction = np.empty_like(x)
            k.spmv(P.indptr, P.indices, P.data, coarse_x, correction)
            x += correction
        else:
            x += P @ coarse_x
        level.postsmoother(A, x, b)
