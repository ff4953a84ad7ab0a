"""Restarted GMRES with right preconditioning (``gmres``)."""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from .. import kernels
from ..backends import array_namespace
from ..component import COMPLEX_DTYPES, Option
from ..errors import InvalidInputError
from ..registry import register
from ..stopping import Status
from .base import Method

__all__ = ["GMRES"]


@register("method", "gmres")
class GMRES(Method):
    """Restarted GMRES(m), right preconditioned, for general (nonsymmetric) systems.

    With right preconditioning the residual that GMRES minimizes is the true residual of the
    unpreconditioned system, so the per-iteration norms in ``residual_norms`` are those of ``b - A x``
    (Givens estimates within a cycle; the true residual is computed at every restart and at the end).
    Arnoldi orthogonalizes by modified Gram-Schmidt on the host (``gram_schmidt="modified"``, SciPy's
    choice: one compiled kernel, two passes over the basis) and by classical Gram-Schmidt on the GPU
    (``"classical"``: two matrix-vector products, repeated where the first pass cancelled most of the
    vector, PETSc's refine-if-needed). Always repeating the classical pass, as an earlier version did,
    made every step four passes over the basis: with GMRES(200) on 512^2 Helmholtz that was 1.5x SciPy's
    time per iteration. On the GPU the basis stays on the device and only the small Hessenberg column
    crosses to the host each step. Complex systems use conjugated projections and
    complex Givens rotations (real sines: the subdiagonal of the Hessenberg matrix is a norm).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.3, 2.0, -0.7], [-1, 0, 1], shape=(60, 60), format="csr")   # nonsymmetric
    >>> res = solvers.solve(A, np.ones(60), method="gmres", pc="ilu")
    >>> res.converged and res.relative_residual <= 1e-8
    True
    """

    name = "gmres"
    backends = ("numpy", "cupy")
    dtypes = ("float32", "float64") + COMPLEX_DTYPES
    options_table = (Option("restart", "int", 30, "Krylov vectors per cycle (GMRES(m))", low=1),
                     Option("gram_schmidt", "str", None, "orthogonalization: 'modified' (two passes over the basis, "
                            "SciPy's) or 'classical' (repeated where the first pass cancelled most of the vector, "
                            "PETSc's refine-if-needed; BLAS-2 friendly); None: modified on the host, classical on "
                            "the GPU", choices=("modified", "classical"), nullable=True))
    accepts_pc = True
    needs_matrix = False
    #: called as ``inner_callback(residual_estimate)`` after every inner iteration, during the solve (what
    #: ``solvers.scipy_api.gmres`` uses for SciPy's ``callback_type="pr_norm"``)
    inner_callback = None

    def _solve(self, b, x, stop):
        m = self.options["restart"]
        n = b.shape[0]
        xp = array_namespace(b)
        host = (lambda a: a.get()) if xp is not np else (lambda a: a)  # the small Hessenberg lives on the host
        r = b.copy()
        beta = stop.start(x, r)
        hist = [beta]
        tol, maxiter = stop.tol, stop.maxiter
        cplx = b.dtype.kind == "c"
        hdtype = np.complex128 if cplx else np.float64
        V = xp.empty((m + 1, n), dtype=b.dtype)
        H = np.zeros((m + 1, m), dtype=hdtype)
        cs, sn = np.zeros(m, dtype=hdtype), np.zeros(m)
        w = xp.empty_like(b)
        scheme = self.options["gram_schmidt"] or ("modified" if xp is np else "classical")
        modified = scheme == "modified"
        if modified and xp is not np:
            raise InvalidInputError("gmres: gram_schmidt='modified' runs on the host; on the GPU use 'classical'")
        kern = (kernels.PARALLEL if n >= MGS_PARALLEL_MIN else kernels.SERIAL) if modified else None
        it = 0
        while True:
            status, beta = stop.test(hist, x, r, it, exact=True)  # beta is the true residual of the cycle
            if status != Status.ITERATING:
                return x, status, hist
            V[0] = r / beta
            g = np.zeros(m + 1, dtype=hdtype)
            g[0] = beta
            H[:] = 0.0
            k = 0
            breakdown = False
            while k < m and it < maxiter:
                self.matvec(self.apply_pc(V[k]), w)
                if modified:
                    h = np.empty(k + 1, dtype=b.dtype)
                    kern.mgs(V, k + 1, w, h)
                    h = h.astype(hdtype)
                    hn = float(xp.linalg.norm(w))
                else:
                    # classical Gram-Schmidt, repeated only where the first pass cancelled most of w (the DGKS
                    # criterion ||w'|| < ||w|| / sqrt(2), PETSc's refine-if-needed)
                    before = float(xp.linalg.norm(w))
                    h = self._orthogonalize(V, k, w, cplx, xp)
                    hn = float(xp.linalg.norm(w))
                    if hn < REFINE_BELOW * before:
                        h += self._orthogonalize(V, k, w, cplx, xp)
                        hn = float(xp.linalg.norm(w))
                H[: k + 1, k] = host(h)
                H[k + 1, k] = hn
                for j in range(k):  # apply the earlier rotations to the new column
                    t = cs[j].conjugate() * H[j, k] + sn[j] * H[j + 1, k]
                    H[j + 1, k] = -sn[j] * H[j, k] + cs[j] * H[j + 1, k]
                    H[j, k] = t
                den = np.hypot(abs(H[k, k]), H[k + 1, k].real)
                if not np.isfinite(den):
                    return x, Status.NANORINF, hist
                if den == 0.0:
                    breakdown = True
                    break
                cs[k], sn[k] = H[k, k] / den, H[k + 1, k].real / den
                H[k, k], H[k + 1, k] = den, 0.0
                g[k + 1] = -sn[k] * g[k]
                g[k] = cs[k].conjugate() * g[k]
                k += 1
                it += 1
                est = abs(g[k])
                hist.append(est)
                if self.inner_callback is not None:
                    self.inner_callback(est)
                if est <= tol or hn <= 1e-14 * den:
                    break
                V[k] = w / hn
            if k > 0:
                y = sla.solve_triangular(H[:k, :k], g[:k])
                x += self.apply_pc((xp.asarray(y, dtype=b.dtype) @ V[:k]).astype(b.dtype, copy=False))
            beta = self.residual(b, x, r)
            hist[-1] = beta
            if self.callback is not None:
                self.callback(x)
            if breakdown and beta > tol:
                return x, Status.BREAKDOWN, hist


    @staticmethod
    def _orthogonalize(V, k, w, cplx, xp):
        """One classical Gram-Schmidt pass of ``w`` against ``V[:k + 1]`` in place; returns the coefficients."""
        if cplx and xp is np:  # compiled loops (see kernels.project)
            h = np.empty(k + 1, dtype=w.dtype)
            kern = kernels.for_size((k + 1) * w.shape[0])
            kern.project(V, k + 1, w, h)
            kern.combine_sub(V, k + 1, h, w)
            return h
        h = _project(V[: k + 1], w, cplx)
        w -= h @ V[: k + 1]
        return h


#: from this many unknowns on, the modified Gram-Schmidt loop runs threaded (2 parallel regions per basis vector)
MGS_PARALLEL_MIN = 50_000

#: a second Gram-Schmidt pass runs when the first leaves less than this fraction of ||w|| (DGKS: 1/sqrt(2))
REFINE_BELOW = 1.0 / np.sqrt(2.0)


def _project(V, w, conjugate: bool):
    """``V^H w`` (the coefficients of ``w`` on the rows of ``V``); one conjugated copy of ``w``, not of ``V``."""
    if not conjugate:
        return V @ w
    return (V @ w.conj()).conj()
