"""The complex shifted-Laplacian preconditioner for Helmholtz problems (``shifted-laplacian``)."""
from __future__ import annotations

import logging
from functools import partial

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..component import COMPLEX_DTYPES, Option
from ..errors import InvalidInputError
from ..registry import register
from .base import Preconditioner
from .geometric import cycle as cycle_once
from .geometric import detect_grid, geometric_solver

__all__ = ["ShiftedLaplacianPC", "shifted_operator"]

log = logging.getLogger(__name__)

#: damping of the Jacobi smoother: Erlangga, Oosterlee and Vuik's 0.5 (with an F(1,1)-cycle); 0.8 needs 1.5 times the
#: GMRES iterations at 128^2
OMEGA = 0.5


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

    ``M`` is formed from ``A`` by :func:`shifted_operator` (no wavenumber needs to be given); its multigrid
    hierarchy is built once in ``setup()`` and ``apply`` is one cycle from zero. Modes (``multigrid``):

    - ``"geometric"``: the multigrid that Erlangga, Oosterlee and Vuik analysed for ``M``: linear
      interpolation between vertex grids, Galerkin coarse operators ``P^T M P``, damped Jacobi smoothing
      (``omega``), an F-cycle, cycled by PyAMG (:mod:`solvers.preconditioners.geometric`). The grid is read
      off ``A``'s sparsity pattern (a square or cubic grid in C order, 5- to 27-point stencils).
    - ``"aggregation"``: PyAMG's smoothed aggregation on ``M`` with symmetric Gauss-Seidel and a V-cycle
      (the former behaviour, for matrices without a grid). Aggregates represent the oscillatory error of
      ``M`` poorly: about 3 times the iterations of ``"geometric"`` at 64^2, more as ``k`` grows.
    - ``"direct"``: ``M^-1`` by sparse LU, the ideal count that a cycle approximates (for comparisons; the
      factor's fill grows quickly with the grid).
    - ``"auto"`` (default): geometric when the grid is recognised, else aggregation.

    At 10 points per wavelength the count grows about linearly with ``k`` (the shifted Laplacian's known
    behaviour), and one geometric F-cycle needs about as many GMRES iterations as ``M^-1`` itself
    (41 at 64^2 for both, GMRES without restarts). Not symmetric positive definite: use it with gmres or
    bicgstab (fcg and cg need a Hermitian matrix, which Helmholtz is not).

    Examples
    --------
    >>> import solvers
    >>> from pde_examples.helmholtz import helmholtz
    >>> p = helmholtz((48, 48))
    >>> res = solvers.solve(p, p.b, method="bicgstab", pc="shifted-laplacian")
    >>> res.converged and res.relative_residual <= 1e-8
    True
    >>> s = solvers.make_solver("gmres", pc="shifted-laplacian", restart=100).setup(p.A)
    >>> s.pc.mode, s.pc.grid
    ('geometric', (48, 48))
    """

    name = "shifted-laplacian"
    dtypes = COMPLEX_DTYPES  # M is complex: a real system would have to be solved in complex
    symmetric = False
    #: the mode ``setup()`` chose ("geometric", "aggregation" or "direct"); None before set-up
    mode: str | None = None
    #: the grid read off ``A`` (geometric mode), else None
    grid: tuple[int, ...] | None = None
    options_table = (
        Option("beta_re", "float", 1.0, "real part of the shift, in units of k^2", low=0.0),
        Option("beta_im", "float", 0.5, "imaginary part of the shift, in units of k^2 (0.5: Erlangga's)",
               low=0.0, open_low=True),
        Option("multigrid", "str", "auto", "how M is inverted: 'geometric' (linear interpolation on the grid read "
               "off A), 'aggregation' (PyAMG smoothed aggregation), 'direct' (sparse LU: the ideal count), "
               "'auto' (geometric where a grid is recognised, else aggregation)",
               choices=("auto", "geometric", "aggregation", "direct")),
        Option("cycle", "str", None, "multigrid cycle (None: 'F' geometric, 'V' aggregation)",
               choices=("V", "W", "F"), nullable=True),
        Option("smoother", "str", None, "smoother (None: 'jacobi' geometric, 'gauss-seidel' aggregation; "
               "gauss-seidel is symmetric: forward then backward)", choices=("jacobi", "gauss-seidel"),
               nullable=True),
        Option("omega", "float", OMEGA, "damping of the Jacobi smoother", low=0.0, high=1.0, open_low=True),
        Option("sweeps", "int", 1, "smoothing sweeps before and after the coarse correction", low=1),
        Option("max_coarse", "int", 300, "unknowns on the coarsest level (solved directly)", low=10),
    )

    def _setup(self) -> None:
        A = self.A
        M = shifted_operator(sp.csr_matrix(A).astype(np.complex128), self.options["beta_re"],
                             self.options["beta_im"])
        mode = self.options["multigrid"]
        self.grid = detect_grid(M) if mode in ("auto", "geometric") else None
        if mode == "geometric" and self.grid is None:
            raise InvalidInputError("shifted-laplacian: multigrid='geometric' needs a matrix on a square or cubic "
                                    "grid (C order, couplings between grid neighbours only); use "
                                    "multigrid='aggregation' for other matrices")
        self.mode = "geometric" if self.grid is not None else "aggregation" if mode == "auto" else mode
        if self.mode == "direct":
            lu = spla.splu(M.tocsc())
            self._apply = lu.solve
            log.info("shifted-laplacian: sparse LU of M, %d nonzeros in the factors", lu.L.nnz + lu.U.nnz)
            return
        import pyamg

        geometric = self.mode == "geometric"
        cycle = self.options["cycle"] or ("F" if geometric else "V")
        smoother = self.options["smoother"] or ("jacobi" if geometric else "gauss-seidel")
        its = self.options["sweeps"]
        if smoother == "jacobi":
            relax = ("jacobi", {"omega": self.options["omega"], "iterations": its, "withrho": False})
        else:
            relax = ("gauss_seidel", {"sweep": "symmetric", "iterations": its})
        if geometric:
            self.ml = geometric_solver(M, self.grid, self.options["max_coarse"], relax)
        else:
            symmetric = bool(abs(M - M.T).max() <= 1e-12 * abs(M).max())
            self.ml = pyamg.smoothed_aggregation_solver(
                M, symmetry="symmetric" if symmetric else "nonsymmetric", presmoother=relax,
                postsmoother=relax, max_coarse=self.options["max_coarse"])
        self._apply = partial(cycle_once, self.ml, kind=cycle)
        log.info("shifted-laplacian: %s multigrid, %s-cycle, %s, %d levels, operator complexity %.2f", self.mode,
                 cycle, smoother, len(self.ml.levels), self.ml.operator_complexity())

    def apply(self, r: np.ndarray) -> np.ndarray:
        return np.asarray(self._apply(np.asarray(r, dtype=np.complex128)), dtype=r.dtype)
