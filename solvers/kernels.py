"""Compiled CPU kernels for the hot loops (numba).

Why hand-written: SciPy's CSR mat-vec runs on one core and a CG iteration built from it and BLAS-1 calls
passes over memory about ten times; these kernels fuse the vector updates with the reductions the
stopping test needs and spread the mat-vec over all cores. The sequential triangular sweeps (SOR, SSOR,
IC/ILU application) and ILU(0)/IC(0) factorization exist in no library we can depend on with a
residual-correction interface, so they live here too. Every kernel exists twice: a threaded build for
large systems and a serial one for small systems, where starting threads costs more than it saves.
"""
from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

__all__ = ["for_size", "PARALLEL_MIN_NNZ", "STATUS_CONVERGED", "STATUS_MAXITER", "STATUS_NAN", "STATUS_DTOL"]

#: below this many stored entries the serial kernels are used
PARALLEL_MIN_NNZ = 100_000

STATUS_CONVERGED, STATUS_MAXITER, STATUS_NAN, STATUS_DTOL = 0, 1, 2, 3
KIND_JACOBI, KIND_SOR, KIND_SSOR, KIND_BACKWARD_SOR = 0, 1, 2, 3


# Sequential sweeps: row i depends on the rows before it, so these never run threaded.
@nb.njit(cache=True, nogil=True)
def lower_solve(indptr, indices, data, dinv, r, z):
    """Solve (D' + L) z = r with L strictly lower (CSR) and dinv = 1/diag(D')."""
    for i in range(r.shape[0]):
        s = r[i]
        for k in range(indptr[i], indptr[i + 1]):
            s -= data[k] * z[indices[k]]
        z[i] = s * dinv[i]

@nb.njit(cache=True, nogil=True)
def upper_solve(indptr, indices, data, dinv, r, z):
    """Solve (D' + U) z = r with U strictly upper (CSR) and dinv = 1/diag(D'); r may alias z."""
    for i in range(r.shape[0] - 1, -1, -1):
        s = r[i]
        for k in range(indptr[i], indptr[i + 1]):
            s -= data[k] * z[indices[k]]
        z[i] = s * dinv[i]


@nb.njit(cache=True, nogil=True)
def ilu0(indptr, indices, data, diagpos):
    """In-place ILU(0) (IKJ order) on a CSR matrix with sorted indices and a stored diagonal.

    Returns the first row whose pivot is not positive, or -1. For a symmetric matrix the result is
    the IC(0) factorization in LDL^T form: L unit lower, U = D L^T.
    """
    n = indptr.shape[0] - 1
    pos = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            pos[indices[k]] = k
        for kk in range(indptr[i], diagpos[i]):
            k = indices[kk]
            lik = data[kk] / data[diagpos[k]]
            data[kk] = lik
            for jj in range(diagpos[k] + 1, indptr[k + 1]):
                p = pos[indices[jj]]
                if p >= 0:
                    data[p] -= lik * data[jj]
        for k in range(indptr[i], indptr[i + 1]):
            pos[indices[k]] = -1
        if not data[diagpos[i]] > 0.0:
            return i
    return -1


class _Kernels:
    """One build (serial or threaded) of the kernels that benefit from threads."""

    lower_solve = staticmethod(lower_solve)
    upper_solve = staticmethod(upper_solve)
    ilu0 = staticmethod(ilu0)


def _build(parallel: bool) -> _Kernels:
    suffix = "_threaded" if parallel else "_serial"

    def jit(fn):
        # distinct names keep the on-disk caches of the two builds apart
        fn.__qualname__ += suffix
        return nb.njit(parallel=parallel, cache=True, nogil=True, error_model="numpy")(fn)

    @jit
    def spmv(indptr, indices, data, x, out):
        for i in prange(out.shape[0]):
            s = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                s += data[k] * x[indices[k]]
            out[i] = s

    @jit
    def spmv_dot(indptr, indices, data, x, out):
        """out = A x, returns x . out."""
        acc = 0.0
        for i in prange(out.shape[0]):
            s = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                s += data[k] * x[indices[k]]
            out[i] = s
            acc += x[i] * s
        return acc

    @jit
    def residual(indptr, indices, data, x, b, r):
        """r = b - A x, returns r . r."""
        acc = 0.0
        for i in prange(r.shape[0]):
            s = b[i]
            for k in range(indptr[i], indptr[i + 1]):
                s -= data[k] * x[indices[k]]
            r[i] = s
            acc += s * s
        return acc

    @jit
    def cg_update(x, r, p, ap, alpha):
        """x += alpha p; r -= alpha Ap; returns r . r."""
        acc = 0.0
        for i in prange(x.shape[0]):
            x[i] += alpha * p[i]
            ri = r[i] - alpha * ap[i]
            r[i] = ri
            acc += ri * ri
        return acc

    @jit
    def xpby(z, p, beta):
        """p = z + beta p."""
        for i in prange(p.shape[0]):
            p[i] = z[i] + beta * p[i]

    @jit
    def dot(a, b):
        acc = 0.0
        for i in prange(a.shape[0]):
            acc += a[i] * b[i]
        return acc

    @jit
    def axpy(alpha, x, y):
        """y += alpha x."""
        for i in prange(y.shape[0]):
            y[i] += alpha * x[i]

    @jit
    def stationary(ap, ai, ax, lp, li, lx, up, ui, ux, dinv_w, dscale, b, x, r, z, kind,
                   tol, dtol, maxiter, hist, diag, omega, adapt_every):
        """Residual-correction loop x += M^-1 (b - A x) for Jacobi, SOR, SSOR, backward SOR.

        The true residual is computed every iteration (threaded); the correction is one triangular sweep
        (two for SSOR) on the residual, which costs less than a classical sweep plus a separate residual.

        With ``adapt_every > 0`` (SOR only) omega is raised during the solve, Hageman-Young style: every
        ``adapt_every`` iterations the observed convergence factor ``lam`` gives the Jacobi spectral radius
        through Young's relation ``(lam + omega - 1)^2 = lam omega^2 mu^2`` (valid while omega is below the
        optimum, where the dominant eigenvalue is real), and omega moves to ``2 / (1 + sqrt(1 - mu^2))``.
        A factor at or below ``omega - 1`` means omega has reached the optimum: adaptation stops.
        ``dinv_w`` is overwritten when omega changes. Returns (iterations, status, omega);
        hist[k] = ||b - A x_k||.
        """
        rr = 0.0
        for i in prange(r.shape[0]):
            s = b[i]
            for k in range(ap[i], ap[i + 1]):
                s -= ax[k] * x[ai[k]]
            r[i] = s
            rr += s * s
        rn = np.sqrt(rr)
        hist[0] = rn
        limit = dtol * rn
        it = 0
        lam_prev = -1.0
        while True:
            if rn <= tol:
                return it, 0, omega
            if not np.isfinite(rn):
                return it, 2, omega
            if rn > limit:
                return it, 3, omega
            if it >= maxiter:
                return it, 1, omega
            if kind == 0:
                for i in prange(x.shape[0]):
                    x[i] += dinv_w[i] * r[i]
            elif kind == 1:
                lower_solve(lp, li, lx, dinv_w, r, z)
                for i in prange(x.shape[0]):
                    x[i] += z[i]
            elif kind == 3:
                upper_solve(up, ui, ux, dinv_w, r, z)
                for i in prange(x.shape[0]):
                    x[i] += z[i]
            else:
                lower_solve(lp, li, lx, dinv_w, r, z)
                for i in prange(z.shape[0]):
                    z[i] *= dscale[i]
                upper_solve(up, ui, ux, dinv_w, z, z)
                for i in prange(x.shape[0]):
                    x[i] += z[i]
            it += 1
            rr = 0.0
            for i in prange(r.shape[0]):
                s = b[i]
                for k in range(ap[i], ap[i + 1]):
                    s -= ax[k] * x[ai[k]]
                r[i] = s
                rr += s * s
            rn = np.sqrt(rr)
            hist[it] = rn
            if adapt_every > 0 and kind == 1 and it % adapt_every == 0 and it > adapt_every and rn > 0:
                lam = (rn / hist[it - adapt_every]) ** (1.0 / adapt_every)
                if lam <= omega - 1.0 + 1e-3 or lam >= 1.0:
                    adapt_every = 0  # at (or past) the optimum, or no usable estimate: keep omega
                elif abs(lam - lam_prev) <= 0.01 * lam:  # two windows agree: the factor has settled
                    mu2 = (lam + omega - 1.0) ** 2 / (lam * omega * omega)
                    if mu2 < 1.0:
                        new = 2.0 / (1.0 + np.sqrt(1.0 - mu2))
                        if new > omega + 1e-3:
                            omega = min(new, 1.99)
                            for i in range(dinv_w.shape[0]):
                                dinv_w[i] = omega / diag[i]
                            lam = -1.0  # a new omega: wait for two fresh windows
                lam_prev = lam

    ns = _Kernels()
    for name, fn in list(locals().items()):
        if isinstance(fn, nb.core.registry.CPUDispatcher):
            setattr(ns, name, fn)
    return ns


SERIAL = _build(False)
PARALLEL = _build(True)


def for_size(nnz: int) -> _Kernels:
    """The kernel set to use for a matrix with ``nnz`` stored entries."""
    return PARALLEL if nnz >= PARALLEL_MIN_NNZ else SERIAL


def diagonal_positions(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Index into ``data`` of each row's diagonal entry (indices sorted); -1 where none is stored."""
    n = indptr.shape[0] - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    where = np.flatnonzero(indices == rows)
    out = np.full(n, -1, dtype=np.int64)
    out[rows[where]] = where
    return out


@nb.njit(cache=True, nogil=True)
def greedy_coloring(indptr, indices):
    """Colour the rows of a (structurally symmetric) sparse matrix so that no two coupled rows share a
    colour, greedily in row order; on a 5- or 7-point grid this is the red-black colouring.

    Rows of one colour can then be relaxed all at once: the multicolour Gauss-Seidel/SOR that runs on
    GPUs. Returns an int array of colours 0..k-1.
    """
    n = indptr.shape[0] - 1
    colour = np.full(n, -1, dtype=np.int64)
    mark = np.full(n + 1, -1, dtype=np.int64)
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if colour[j] >= 0:
                mark[colour[j]] = i
        c = 0
        while mark[c] == i:
            c += 1
        colour[i] = c
    return colour
