"""Compiled CPU kernels for the hot loops (numba).

Why hand-written: SciPy's CSR mat-vec runs on one core and a CG iteration built from it and BLAS-1 calls
passes over memory about ten times; these kernels fuse the vector updates with the reductions the
stopping test needs and spread the mat-vec over all cores. The sequential triangular sweeps (SOR, SSOR,
IC/ILU application) and ILU(0)/IC(0) factorization exist in no library we can depend on with a
residual-correction interface, so they live here too. Every kernel exists twice: a threaded build for
large systems and a serial one for small systems, where starting threads costs more than it saves.

Every kernel takes real (float32/float64) and complex (complex64/complex128) arrays; numba compiles one
specialization per dtype combination. Accumulators start at ``0.0`` and numba widens them to complex
where a complex term is added; inner products conjugate their first argument (``dot(a, b) = a^H b``,
what Hermitian CG needs) and squared norms sum ``|v_i|^2``, so they stay real.
"""
from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

from .stopping import DTOL, Status, check
from .young import jacobi_radius_sq, optimal_sor_omega

__all__ = ["for_size", "PARALLEL_MIN_NNZ", "KIND_JACOBI", "KIND_SOR", "KIND_SSOR", "KIND_BACKWARD_SOR", "adapt_omega"]

#: below this many stored entries the serial kernels are used
PARALLEL_MIN_NNZ = 100_000

#: ``relax``/``stationary`` kind: damped Jacobi
KIND_JACOBI = 0
#: ``relax``/``stationary`` kind: forward SOR (Gauss-Seidel at omega = 1)
KIND_SOR = 1
#: ``relax``/``stationary`` kind: symmetric SOR (a forward and a backward sweep)
KIND_SSOR = 2
#: ``relax``/``stationary`` kind: backward SOR
KIND_BACKWARD_SOR = 3
STATUS_ITERATING = int(Status.ITERATING)


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

    Returns the first row whose pivot is not positive (complex: whose real part is not), or -1. For a
    symmetric matrix the result is the IC(0) factorization in LDL^T form: L unit lower, U = D L^T (for a
    Hermitian one LDL^H, with a real D).
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
        if not data[diagpos[i]].real > 0.0:
            return i
    return -1


@nb.njit(cache=True, nogil=True)
def adapt_omega(hist, it, every, omega, lam_prev, dinv_w, diag):
    """Hageman-Young adaptation of SOR's omega inside a solve, at iterate ``it`` (a multiple of ``every``).

    The observed convergence factor ``lam`` over the last ``every`` iterations gives the Jacobi spectral
    radius through Young's relation (``solvers.young``, valid while omega is below the optimum, where the
    dominant eigenvalue is real), and omega moves to the optimum it implies once two windows agree. A
    factor at or below ``omega - 1`` means omega has reached the optimum: adaptation stops (``every``
    returned as 0). ``dinv_w`` is overwritten when omega changes. Returns ``(omega, lam_prev, every)``.
    """
    lam = (hist[it] / hist[it - every]) ** (1.0 / every)
    if lam <= omega - 1.0 + 1e-3 or lam >= 1.0:
        return omega, lam, 0  # at (or past) the optimum, or no usable estimate: keep omega
    if abs(lam - lam_prev) <= 0.01 * lam:  # two windows agree: the factor has settled
        mu2 = jacobi_radius_sq(lam, omega)
        if mu2 < 1.0:
            new = optimal_sor_omega(mu2)
            if new > omega + 1e-3:
                omega = min(new, 1.99)
                for i in range(dinv_w.shape[0]):
                    dinv_w[i] = omega / diag[i]
                lam = -1.0  # a new omega: wait for two fresh windows
    return omega, lam, every


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

    def jit_driver(fn):
        # a loop that only calls the threaded kernels has no parallel loop of its own: compiled without
        # ``parallel`` (numba warns otherwise); the kernels it calls keep their threads
        fn.__qualname__ += suffix
        return nb.njit(cache=True, nogil=True, error_model="numpy")(fn)

    @jit
    def spmv(indptr, indices, data, x, out):
        for i in prange(out.shape[0]):
            s = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                s += data[k] * x[indices[k]]
            out[i] = s

    @jit
    def spmv_dot(indptr, indices, data, x, out):
        """out = A x, returns x^H out."""
        acc = 0.0
        for i in prange(out.shape[0]):
            s = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                s += data[k] * x[indices[k]]
            out[i] = s
            acc += x[i].conjugate() * s
        return acc

    @jit
    def residual(indptr, indices, data, x, b, r):
        """r = b - A x, returns ||r||^2.

        ``(A x)_i`` is summed first and subtracted from ``b_i`` last: starting from ``b_i`` would let ``b_i``
        vanish in the rounding of large products (an iterate that grew along a null vector), and the
        residual come out as an exact, false, zero. Summed in double precision whatever the dtype (a
        float32 operand times ``0.0`` or plus ``0.0`` widens: the product of two float32 numbers is exact
        in float64), so the norm the stopping test sees in float32 is that of the exact residual of the
        float32 data, not one with rounding of the size of the tolerance.
        """
        acc = 0.0
        for i in prange(r.shape[0]):
            s = b[i] * 0.0
            for k in range(indptr[i], indptr[i + 1]):
                s += data[k] * (x[indices[k]] + 0.0)
            ri = (b[i] + 0.0) - s
            r[i] = ri
            acc += ri.real * ri.real + ri.imag * ri.imag
        return acc

    @jit
    def cg_update(x, r, p, ap, alpha):
        """x += alpha p; r -= alpha Ap; returns ||r||^2."""
        acc = 0.0
        for i in prange(x.shape[0]):
            x[i] += alpha * p[i]
            ri = r[i] - alpha * ap[i]
            r[i] = ri
            acc += ri.real * ri.real + ri.imag * ri.imag
        return acc

    @jit
    def xpby(z, p, beta):
        """p = z + beta p."""
        for i in prange(p.shape[0]):
            p[i] = z[i] + beta * p[i]

    @jit
    def bicg_direction(r, v, p, beta, omega):
        """p = r + beta (p - omega v) (BiCGStab's direction update, one pass)."""
        for i in prange(p.shape[0]):
            p[i] = r[i] + beta * (p[i] - omega * v[i])

    @jit
    def sub_scaled_norm(r, v, alpha, s):
        """s = r - alpha v; returns ||s||^2."""
        acc = 0.0
        for i in prange(s.shape[0]):
            si = r[i] - alpha * v[i]
            s[i] = si
            acc += si.real * si.real + si.imag * si.imag
        return acc

    @jit
    def norm_and_dot(t, s):
        """(||t||^2, t^H s) in one pass."""
        tt = 0.0
        ts = 0.0
        for i in prange(t.shape[0]):
            ti = t[i]
            tt += ti.real * ti.real + ti.imag * ti.imag
            ts += ti.conjugate() * s[i]
        return tt, ts

    @jit
    def bicg_update(x, phat, shat, alpha, omega, r, s, t):
        """x += alpha phat + omega shat; r = s - omega t; returns ||r||^2 (BiCGStab's step, one pass)."""
        acc = 0.0
        for i in prange(x.shape[0]):
            x[i] += alpha * phat[i] + omega * shat[i]
            ri = s[i] - omega * t[i]
            r[i] = ri
            acc += ri.real * ri.real + ri.imag * ri.imag
        return acc

    @jit
    def minres_update(v, av, w1, w2, aw1, aw2, w, aw, oldeps, delta, inv_gamma, phi, x, r):
        """MINRES's step in one pass: w = (v - oldeps w1 - delta w2) / gamma and A w from A v the same
        way, x += phi w, r -= phi A w; returns ||r||^2."""
        acc = 0.0
        for i in prange(x.shape[0]):
            wi = (v[i] - oldeps * w1[i] - delta * w2[i]) * inv_gamma
            awi = (av[i] - oldeps * aw1[i] - delta * aw2[i]) * inv_gamma
            w[i] = wi
            aw[i] = awi
            x[i] += phi * wi
            ri = r[i] - phi * awi
            r[i] = ri
            acc += ri.real * ri.real + ri.imag * ri.imag
        return acc

    @jit
    def mgs(V, k, w, h):
        """Modified Gram-Schmidt of ``w`` against the first ``k`` rows of ``V`` in place: for each row in
        turn ``h[j] = V[j]^H w`` and ``w -= h[j] V[j]`` (GMRES's orthogonalization on the host, as SciPy's
        and PETSc's modified variant do; two passes over the basis)."""
        for j in range(k):
            acc = 0.0
            for i in prange(w.shape[0]):
                acc += V[j, i].conjugate() * w[i]
            h[j] = acc
            for i in prange(w.shape[0]):
                w[i] -= acc * V[j, i]

    @jit
    def dot(a, b):
        """a^H b (a plain dot product for real arrays)."""
        acc = 0.0
        for i in prange(a.shape[0]):
            acc += a[i].conjugate() * b[i]
        return acc

    @jit
    def project(V, k, w, h):
        """h[j] = V[j]^H w for the first ``k`` rows of V (the Gram-Schmidt coefficients of GMRES).

        For complex arrays: OpenBLAS's threaded complex gemv runs 100x slower than its serial one on a
        loaded machine (measured on the shared 2-core box); this loop is what GMRES uses for complex."""
        for j in prange(k):
            acc = 0.0
            for i in range(w.shape[0]):
                acc += V[j, i].conjugate() * w[i]
            h[j] = acc

    @jit
    def combine_sub(V, k, h, w):
        """w -= sum_j h[j] V[j] over the first ``k`` rows of V."""
        for i in prange(w.shape[0]):
            s = 0.0
            for j in range(k):
                s += h[j] * V[j, i]
            w[i] -= s

    @jit
    def axpy(alpha, x, y):
        """y += alpha x."""
        for i in prange(y.shape[0]):
            y[i] += alpha * x[i]

    @jit
    def relax(kind, L, U, dinv_w, dscale, r, z, x):
        """One correction ``x += M^-1 r`` of Jacobi, SOR, SSOR or backward SOR (``kind``); ``z`` is work
        space. ``L``/``U`` are the strictly lower/upper CSR parts as ``(indptr, indices, data)``,
        ``dinv_w = omega / diag``, ``dscale = (2 - omega) diag / omega`` (SSOR's middle factor)."""
        if kind == KIND_JACOBI:
            for i in prange(x.shape[0]):
                x[i] += dinv_w[i] * r[i]
            return
        if kind == KIND_BACKWARD_SOR:
            upper_solve(U[0], U[1], U[2], dinv_w, r, z)
        else:
            lower_solve(L[0], L[1], L[2], dinv_w, r, z)
            if kind == KIND_SSOR:
                for i in prange(z.shape[0]):
                    z[i] *= dscale[i]
                upper_solve(U[0], U[1], U[2], dinv_w, z, z)
        for i in prange(x.shape[0]):
            x[i] += z[i]

    @jit_driver
    def stationary(A, L, U, dinv_w, dscale, b, x, r, z, kind, tol, maxiter, hist, adapt):
        """Residual-correction loop ``x += M^-1 (b - A x)`` (``relax``) with the true residual of every
        iterate (``residual``, threaded) and the shared stopping test (``solvers.stopping.check``).

        The correction is one triangular sweep (two for SSOR) on the residual, which costs less than a
        classical sweep plus a separate residual. ``adapt = (adapt_every, omega, diag)``: with
        ``adapt_every > 0`` (SOR only) omega is raised during the solve by :func:`adapt_omega`, which
        overwrites ``dinv_w``. Returns ``(iterations, status, omega)``; ``hist[k] = ||b - A x_k||``.
        """
        every, omega, diag = adapt
        rn = np.sqrt(residual(A[0], A[1], A[2], x, b, r))
        hist[0] = rn
        limit = DTOL * max(rn, tol)
        it = 0
        lam_prev = -1.0
        while True:
            status = check(rn, it, tol, limit, maxiter)
            if status != STATUS_ITERATING:
                return it, status, omega
            relax(kind, L, U, dinv_w, dscale, r, z, x)
            it += 1
            rn = np.sqrt(residual(A[0], A[1], A[2], x, b, r))
            hist[it] = rn
            if every > 0 and kind == KIND_SOR and it % every == 0 and it > every and rn > 0:
                omega, lam_prev, every = adapt_omega(hist, it, every, omega, lam_prev, dinv_w, diag)

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
