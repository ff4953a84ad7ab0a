"""The complex shifted-Laplacian preconditioner for Helmholtz problems (``shifted-laplacian``)."""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from ..component import COMPLEX_DTYPES, Option
from ..errors import InvalidInputError
from ..registry import register
from .base import Preconditioner

__all__ = ["ShiftedLaplacianPC", "shifted_operator"]

log = logging.getLogger(__name__)


def shifted_operator(A: sp.csr_matrix, beta_re: float = 1.0, beta_im: float = 0.5) -> sp.csr_matrix:
    """``M = -Laplace - (beta_re + i s beta_im) k^2`` from a Helmholtz matrix ``A = -Laplace - k^2``.

    ``k^2`` times the (lumped) mass is read off ``A`` itself: the discrete Laplacian's rows sum to zero
    in their real part (an absorbing boundary adds only an imaginary term), so ``-Re(rowsum(A))`` is the
    diagonal of ``k^2 M_lumped`` (also for a wavenumber that varies in space, and for finite elements with a
    consistent mass matrix, whose lumped form it then is). Rows of a Dirichlet boundary overestimate it
    slightly, which a preconditioner tolerates. The sign ``s`` of the imaginary shift is that of the
    damping already in ``A`` (the imaginary part of its diagonal from an absorbing boundary): with the
    opposite sign the preconditioned spectrum wraps around the origin and GMRES stalls. Without damping
    in ``A`` the shift is ``-(1 - 0.5 i) k^2``, Erlangga's.

    Examples
    --------
    >>> from pde_examples.helmholtz import helmholtz
    >>> p = helmholtz((16, 16), k=10.0)
    >>> M = shifted_operator(p.A)
    >>> bool(abs((M - p.A).diagonal()[40] - (-0.5j * 100.0)) < 1e-9)   # an interior vertex: mass 1
    True
    """
    k2m = -np.asarray(A.sum(axis=1)).ravel().real
    if np.any(k2m < -1e-8 * np.abs(A.diagonal()).max()):
        raise InvalidInputError("shifted-laplacian: A does not look like -Laplace - k^2 (a row of A has a positive "
                                "real row sum beyond rounding); build the shifted operator yourself and use "
                                "pc='amg' on it")
    k2m = np.maximum(k2m, 0.0)
    damping = float(np.sum(A.diagonal().imag))
    sign = -1.0 if damping <= 0.0 else 1.0
    if damping == 0.0:
        sign = 1.0
    shift = (1.0 - beta_re) + 1j * sign * beta_im
    return (A + sp.diags(shift * k2m)).tocsr()


@register("pc", "shifted-laplacian")
class ShiftedLaplacianPC(Preconditioner):
    """One multigrid cycle on the complex shifted Laplacian ``M = -Laplace - (beta_re + i beta_im) k^2``
    (Erlangga, Vuik and Oosterlee 2004/2006): the preconditioner that makes GMRES and BiCGStab converge on
    Helmholtz problems at practical wavenumbers, where ILU and AMG on ``A`` itself fail or stall.

    ``M`` is formed from ``A`` by :func:`shifted_operator` (no wavenumber needs to be given), and its
    hierarchy is PyAMG's smoothed aggregation for complex symmetric matrices, built once in ``setup()``;
    ``apply`` is one cycle from zero. The iteration count grows about linearly with ``k`` at a fixed number
    of points per wavelength (the shifted Laplacian's known behaviour; an exact ``M^-1`` needs about 40
    GMRES iterations at 64^2 and 70 at 128^2 with 10 points per wavelength). Not symmetric positive
    definite: use it with gmres or bicgstab (fcg and cg need a Hermitian matrix, which Helmholtz is not).

    Examples
    --------
    >>> import solvers
    >>> from pde_examples.helmholtz import helmholtz
    >>> p = helmholtz((48, 48))
    >>> res = solvers.solve(p, p.b, method="bicgstab", pc="shifted-laplacian")
    >>> res.converged and res.relative_residual <= 1e-8
    True
    """

    name = "shifted-laplacian"
    dtypes = COMPLEX_DTYPES  # M is complex: a real system would have to be solved in complex
    symmetric = False
    options_table = (
        Option("beta_re", "float", 1.0, "real part of the shift, in units of k^2", low=0.0),
        Option("beta_im", "float", 0.5, "imaginary part of the shift, in units of k^2 (0.5: Erlangga's)",
               low=0.0, open_low=True),
        Option("cycle", "str", "V", "multigrid cycle", choices=("V", "W", "F")),
        Option("sweeps", "int", 1, "symmetric Gauss-Seidel sweeps before and after the coarse correction",
               low=1),
        Option("max_coarse", "int", 300, "unknowns on the coarsest level (solved directly)", low=10),
    )

    def _setup(self):
        import pyamg

        A = self.A
        M = shifted_operator(A.astype(np.complex128), self.options["beta_re"], self.options["beta_im"])
        smoother = ("gauss_seidel", {"sweep": "symmetric", "iterations": self.options["sweeps"]})
        symmetric = bool(abs(M - M.T).max() <= 1e-12 * abs(M).max())
        self.ml = pyamg.smoothed_aggregation_solver(
            M, symmetry="symmetric" if symmetric else "nonsymmetric", presmoother=smoother,
            postsmoother=smoother, max_coarse=self.options["max_coarse"])
        self._op = self.ml.aspreconditioner(cycle=self.options["cycle"])
        log.info("shifted-laplacian: %d levels, operator complexity %.2f", len(self.ml.levels),
                 self.ml.operator_complexity())

    def apply(self, r: np.ndarray) -> np.ndarray:
        return np.asarray(self._op @ r, dtype=r.dtype)
