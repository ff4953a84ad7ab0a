"""Stationary iterations: damped Jacobi, Gauss-Seidel, SOR and SSOR (``jacobi``, ``gauss-seidel``, ``sor``,
``ssor``).

Options common to all four: ``omega`` (not for Gauss-Seidel) and ``ordering``: ``"lexicographic"``
(default on the CPU) or ``"multicolor"`` (greedy colouring, red-black on 5/7-point stencils; always used
on the GPU, see ``solvers.multicolor``).

In lexicographic order, all four run the residual-correction form ``x += M^-1 (b - A x)`` inside one compiled loop: the true
residual, which the stopping test needs anyway, is computed with threads, and the correction is one
triangular sweep over half the matrix (two for SSOR). That is the classical sweep's arithmetic, in fewer
passes over memory than a sweep followed by a separate residual.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..component import COMPLEX_DTYPES, REAL_DTYPES, Option
from ..errors import InvalidInputError
from ..preconditioners.relaxation import OMEGA, ORDERING, Splitting
from ..registry import register
from .base import Method, host_matrix

__all__ = ["Jacobi", "GaussSeidel", "SOR", "SSOR"]

_KIND_NAMES = {kernels.KIND_JACOBI: "jacobi", kernels.KIND_SOR: "sor", kernels.KIND_SSOR: "ssor"}


class _Stationary(Method):
    options_table = (OMEGA, ORDERING)
    backends = ("numpy", "cupy")
    dtypes = REAL_DTYPES + COMPLEX_DTYPES
    kind = kernels.KIND_SOR

    @property
    def multicolor(self) -> bool:
        """Multicolour (red-black on stencils) order: always on the GPU, on request on the CPU."""
        return self.backend == "cupy" or self.options["ordering"] == "multicolor"

    @property
    def omega(self) -> float:
        return self.options.get("omega", 1.0)

    def _setup(self):
        if self.multicolor:
            from ..multicolor import MulticolorSplitting

            if self.options.get("adapt_every"):
                raise InvalidInputError(f"{self.name}: adapt_every needs the lexicographic order on the CPU")
            self.mc = MulticolorSplitting(host_matrix(self.A), self.backend)
            return
        self.split = Splitting(self.A, self.omega, self.name)

    def set_omega(self, omega: float) -> None:
        """Change omega without redoing the set-up (what a tuner does between solves)."""
        self.options["omega"] = OMEGA.validate(self.name, omega)
        if self.A is not None and not self.multicolor:
            self.split.set_omega(self.options["omega"])

    def _solve(self, b, x, stop):
        if self.multicolor:
            from ..multicolor import stationary_solve

            return stationary_solve(self.A, self.mc, _KIND_NAMES[self.kind], self.omega, b, x, stop)
        A, L, U, s = self.A, self.split.lower, self.split.upper, self.split
        r = np.empty_like(b)
        z = np.empty_like(b)
        hist = np.empty(stop.maxiter + 1)
        every = self.options.get("adapt_every", 0)
        dinv_w = s.dinv_w.copy() if every else s.dinv_w
        its, status, omega = self.kern.stationary(
            (A.indptr, A.indices, A.data), (L.indptr, L.indices, L.data), (U.indptr, U.indices, U.data),
            dinv_w, s.dscale, b, x, r, z, self.kind, stop.tol, stop.maxiter, hist,
            (every, float(s.omega), s.diag.astype(b.dtype)))
        self.final_omega = float(omega)
        return x, status, hist[: its + 1]

    def used_options(self):
        opts = super().used_options()
        if self.options.get("adapt_every"):
            opts["omega_final"] = self.final_omega
        return opts


@register("method", "jacobi")
class Jacobi(_Stationary):
    """Damped Jacobi, ``x += omega D^-1 (b - A x)``; omega = 1 is plain Jacobi, 2/3 the usual smoother.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.0, 4.0, -1.0], [-1, 0, 1], shape=(30, 30), format="csr")
    >>> solvers.solve(A, np.ones(30), method="jacobi").converged
    True
    """

    name = "jacobi"
    kind = kernels.KIND_JACOBI


@register("method", "sor")
class SOR(_Stationary):
    """Successive over-relaxation (forward, lexicographic order), ``0 < omega < 2``.

    Notes
    -----
    With ``adapt_every > 0`` omega is raised during the solve from the observed convergence factor (Young's
    relation, checked every ``adapt_every`` iterations) until it reaches the estimated optimum; start below
    the optimum. ``result.options['omega_final']`` is where it ended. Exact for consistently ordered
    matrices (5-point and 7-point stencils in lexicographic order), a heuristic elsewhere.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(30, 30), format="csr")
    >>> fast = solvers.solve(A, np.ones(30), method="sor", omega=1.8)
    >>> slow = solvers.solve(A, np.ones(30), method="sor", omega=1.0)
    >>> fast.iterations < slow.iterations
    True
    """

    name = "sor"
    options_table = _Stationary.options_table + (
        Option("adapt_every", "int", 0, "raise omega during the solve from the convergence factor seen over this "
               "many iterations (0: off)", low=0),)


@register("method", "gauss-seidel")
class GaussSeidel(_Stationary):
    """Forward Gauss-Seidel (SOR with omega = 1).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.0, 3.0, -1.0], [-1, 0, 1], shape=(30, 30), format="csr")
    >>> solvers.solve(A, np.ones(30), method="gauss-seidel").converged
    True
    """

    name = "gauss-seidel"
    options_table = (ORDERING,)


@register("method", "ssor")
class SSOR(_Stationary):
    """Symmetric SOR: a forward and a backward sweep per iteration, ``0 < omega < 2``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(30, 30), format="csr")
    >>> solvers.solve(A, np.ones(30), method="ssor", omega=1.5).converged
    True
    """

    name = "ssor"
    kind = kernels.KIND_SSOR
