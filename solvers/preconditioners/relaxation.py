"""Relaxation preconditioners: Jacobi, Gauss-Seidel, SOR, SSOR (one or more sweeps from zero)."""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import kernels
from ..backends import to_host
from ..component import COMPLEX_DTYPES, REAL_DTYPES, Option
from ..errors import InvalidInputError
from ..registry import register
from .base import Preconditioner

__all__ = ["Splitting", "JacobiPC", "GaussSeidelPC", "SORPC", "SSORPC", "OMEGA", "ORDERING", "ITS"]

#: the relaxation factor, where the iteration can converge: 0 < omega < 2
OMEGA = Option("omega", "float", 1.0, "relaxation factor", low=0.0, high=2.0, open_low=True, open_high=True)
#: the order of the unknowns in a sweep
ORDERING = Option("ordering", "str", "lexicographic", "sweep order (multicolor: red-black on stencils, always on "
                  "the GPU)", choices=("lexicographic", "multicolor"))
#: sweeps per application of a relaxation preconditioner
ITS = Option("its", "int", 1, "sweeps per application", low=1)


def nonzero_diagonal(A: Any, name: str) -> Any:
    """The diagonal of ``A`` (host or GPU matrix), refused with a clear error when an entry is zero.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> nonzero_diagonal(sp.diags([2.0, 0.0]).tocsr(), "jacobi")
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: jacobi divides by the diagonal and A has a zero on its diagonal at row 1 (1 in all)
    """
    d = A.diagonal()
    zero = d == 0
    if bool(zero.any()):
        rows = np.flatnonzero(to_host(zero))
        raise InvalidInputError(f"{name} divides by the diagonal and A has a zero on its diagonal at row "
                                f"{int(rows[0])} ({rows.size} in all)")
    return d


class Splitting:
    """``A = L + D + U`` in CSR pieces, with what the triangular sweeps need for a given omega.

    ``M_sor = D/omega + L``, ``M_ssor = (D/omega + L) (D/omega)^-1 (D/omega + U) / (2 - omega)``.
    """

    def __init__(self, A: sp.csr_matrix, omega: float, method: str):
        d = nonzero_diagonal(A, method)
        self.A = A
        self.diag = d
        self.lower = sp.tril(A, -1, format="csr")
        self.upper = sp.triu(A, 1, format="csr")
        self.lower.sort_indices()
        self.upper.sort_indices()
        self.set_omega(omega)

    def set_omega(self, omega: float) -> None:
        self.omega = omega
        self.dinv_w = (omega / self.diag).astype(self.A.dtype)
        self.dscale = ((2.0 - omega) * self.diag / omega).astype(self.A.dtype)

    def forward(self, r: np.ndarray, z: np.ndarray) -> np.ndarray:
        L = self.lower
        kernels.lower_solve(L.indptr, L.indices, L.data, self.dinv_w, r, z)
        return z

    def backward(self, r: np.ndarray, z: np.ndarray) -> np.ndarray:
        U = self.upper
        kernels.upper_solve(U.indptr, U.indices, U.data, self.dinv_w, r, z)
        return z

    def symmetric(self, r: np.ndarray, z: np.ndarray) -> np.ndarray:
        self.forward(r, z)
        z *= self.dscale
        return self.backward(z, z)


class _RelaxationPC(Preconditioner):
    options_table = (OMEGA, ITS)
    backends = ("numpy", "cupy")
    dtypes = REAL_DTYPES + COMPLEX_DTYPES
    symmetric_sweep = False

    @property
    def omega(self) -> float:
        return self.options.get("omega", 1.0)

    def _setup(self):
        if self.backend == "cupy":  # multicolour sweeps on the GPU
            from ..multicolor import MulticolorSplitting

            self.mc = MulticolorSplitting(self.A.get(), "cupy")
            return
        self.split = Splitting(self.A, self.omega, self.name)

    def _sweep(self, r, z):
        if self.backend == "cupy":
            z[:] = self.mc.apply(r, self.omega, self.symmetric_sweep)
            return z
        return self.split.forward(r, z)

    def apply(self, r):
        z = r.copy() if self.backend == "cupy" else np.empty_like(r)
        self._sweep(r, z)
        for _ in range(self.options["its"] - 1):  # further sweeps: z += M^-1 (r - A z)
            res = r - self.A @ z
            z += self._sweep(res, np.empty_like(r))
        return z


@register("pc", "jacobi")
class JacobiPC(_RelaxationPC):
    """Diagonal scaling ``z = omega D^-1 r`` (``its`` damped-Jacobi sweeps from zero when ``its > 1``).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> pc = JacobiPC().setup(sp.diags([2.0, 4.0]).tocsr())
    >>> pc.apply(np.array([2.0, 2.0])).tolist()
    [1.0, 0.5]
    """

    name = "jacobi"

    def _setup(self):
        d = nonzero_diagonal(self.A, self.name)
        self.scale = (self.options["omega"] / d).astype(self.A.dtype)

    def _sweep(self, r, z):
        z[:] = self.scale * r
        return z


@register("pc", "sor")
class SORPC(_RelaxationPC):
    """Forward SOR sweeps from zero: ``z = (D/omega + L)^-1 r``. Not symmetric: use with fcg or gmres.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[2.0, 0.0], [1.0, 2.0]]))
    >>> SORPC(omega=1.0).setup(A).apply(np.array([2.0, 3.0])).tolist()
    [1.0, 1.0]
    """

    name = "sor"
    symmetric = False


@register("pc", "gauss-seidel")
class GaussSeidelPC(SORPC):
    """Forward Gauss-Seidel sweeps from zero (SOR with omega = 1)."""

    name = "gauss-seidel"
    options_table = (ITS,)


@register("pc", "ssor")
class SSORPC(_RelaxationPC):
    """Symmetric SOR: a forward then a backward sweep, a symmetric positive definite operator for SPD A
    and ``0 < omega < 2``, so it serves CG.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(5, 5), format="csr")
    >>> M = SSORPC(omega=1.5).setup(A).as_linear_operator() @ np.eye(5)
    >>> bool(np.allclose(M, M.T))
    True
    """

    name = "ssor"
    symmetric_sweep = True

    def _sweep(self, r, z):
        if self.backend == "cupy":
            return super()._sweep(r, z)
        return self.split.symmetric(r, z)
