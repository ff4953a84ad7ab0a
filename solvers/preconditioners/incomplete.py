"""Incomplete factorizations: IC(0) for SPD systems (``ic``) and SuperLU's ILUTP (``ilu``)."""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import kernels
from ..component import COMPLEX_DTYPES, REAL_DTYPES, Option
from ..errors import InvalidInputError, SolverError
from ..registry import register
from .base import Preconditioner

__all__ = ["ICPC", "ILUPC"]

log = logging.getLogger(__name__)


@register("pc", "ic")
class ICPC(Preconditioner):
    """Incomplete Cholesky IC(0): ``A ~ L D L^T`` (complex Hermitian: ``L D L^H``) on the pattern of ``A``;
    symmetric, so it serves CG.

    When a pivot is not positive (possible for SPD matrices that are not M-matrices), the factorization
    is retried on ``A + alpha diag(A)`` with alpha doubling from ``shift`` (Manteuffel's shift).
    Factorization and triangular solves are compiled kernels: SciPy offers no incomplete Cholesky.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(10, 10), format="csr")
    >>> pc = ICPC().setup(A)                      # tridiagonal: IC(0) is the exact Cholesky factor
    >>> bool(np.allclose(A @ pc.apply(np.ones(10)), 1.0))
    True
    """

    name = "ic"
    dtypes = REAL_DTYPES + COMPLEX_DTYPES
    options_table = (Option("shift", "float", 1e-3, "first diagonal shift tried after a breakdown (none without one)", low=0.0,
                            open_low=True),)

    def _setup(self):
        A = self.A
        d = A.diagonal()
        if np.any(d.real <= 0) or np.any(d.imag != 0):
            raise InvalidInputError("ic needs a symmetric (Hermitian) positive definite matrix; A has a diagonal "
                                    "entry that is not real and > 0; use ilu for other matrices")
        alpha = 0.0
        for _ in range(30):
            F = (A + sp.diags(alpha * d)).tocsr() if alpha else A.copy()
            F.sort_indices()
            F.data = F.data.astype(np.result_type(F.data.dtype, np.float64))
            diagpos = kernels.diagonal_positions(F.indptr, F.indices)
            bad = kernels.ilu0(F.indptr, F.indices, F.data, diagpos)
            if bad < 0:
                break
            alpha = max(2 * alpha, self.options["shift"])
            log.info("IC(0) broke down at row %d; retrying with diagonal shift %g", bad, alpha)
        else:
            raise SolverError("ic: incomplete Cholesky failed even with a large diagonal shift; is A SPD?")
        self.shift_used = alpha
        self._set_factors(F, diagpos)

    def _set_factors(self, F, diagpos):
        dtype = self.A.dtype
        self.L = sp.tril(F, -1, format="csr").astype(dtype)
        self.U = sp.triu(F, 1, format="csr").astype(dtype)
        self.L.sort_indices()
        self.U.sort_indices()
        self.ones = np.ones(F.shape[0], dtype=dtype)
        self.uinv = (1.0 / F.data[diagpos]).astype(dtype)

    def apply(self, r: np.ndarray) -> np.ndarray:
        z = np.empty_like(r)
        kernels.lower_solve(self.L.indptr, self.L.indices, self.L.data, self.ones, r, z)
        kernels.upper_solve(self.U.indptr, self.U.indices, self.U.data, self.uinv, z, z)
        return z


@register("pc", "ilu")
class ILUPC(Preconditioner):
    """Incomplete LU with threshold and pivoting (SciPy's ``spilu``, SuperLU's ILUTP) for nonsymmetric A,
    real or complex.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([-1.3, 2.0, -0.7], [-1, 0, 1], shape=(20, 20), format="csr")
    >>> pc = ILUPC().setup(A)
    >>> bool(np.allclose(A @ pc.apply(np.ones(20)), 1.0))
    True
    """

    name = "ilu"
    dtypes = REAL_DTYPES + COMPLEX_DTYPES
    options_table = (Option("drop_tol", "float", 1e-4, "drop entries below this relative size", low=0.0),
                     Option("fill_factor", "float", 10.0, "fill allowed relative to nnz(A)", low=1.0))
    symmetric = False

    def _setup(self):
        try:
            self.ilu = spla.spilu(self.A.tocsc(), drop_tol=self.options["drop_tol"],
                                  fill_factor=self.options["fill_factor"])
        except RuntimeError as exc:
            raise SolverError(f"ilu: SuperLU could not factor A ({exc}); the matrix may be singular") from exc

    def apply(self, r: np.ndarray) -> np.ndarray:
        return np.asarray(self.ilu.solve(r.astype(self.A.dtype, copy=False)), dtype=r.dtype)
