"""Conjugate gradients, optionally preconditioned (``cg``)."""
from __future__ import annotations

import numpy as np

from ..backends import array_namespace
from ..component import COMPLEX_DTYPES
from ..registry import register
from ..stopping import Status
from .base import RECOMPUTE_EVERY, Method

__all__ = ["CG"]


@register("method", "cg")
class CG(Method):
    """Preconditioned conjugate gradients for symmetric positive definite systems, real or complex
    (Hermitian positive definite: the inner products are conjugated, ``r^H z`` and ``p^H A p``).

    The stopping test ``||b - A x|| <= max(rtol ||b||, atol)`` is made on the true residual: when the
    recursively updated residual passes it, the true residual is computed and the iteration goes on
    from it if it does not. The recursive residual is also replaced by the true one every
    ``recompute_every`` iterations (0 turns that off), as PyAMG does, to stop drift.

    On the GPU (a ``cupyx.scipy.sparse`` matrix, or ``backend="cupy"``) the iteration runs in fused CUDA
    kernels with the stopping test on the device, read by the host every 10 iterations (see
    ``solvers.gpu.cg_kernels``); the residual replacement happens at those reads.

    A non-symmetric (complex: non-Hermitian) matrix is refused in ``setup()`` with a message naming gmres
    and bicgstab; ``p.Ap <= 0`` during the iteration stops it with
    ``Reason.DIVERGED_INDEFINITE_MAT``, ``r.z <= 0`` with ``Reason.DIVERGED_INDEFINITE_PC``; a NaN or Inf
    from the matrix or the preconditioner with ``Reason.DIVERGED_NANORINF``, as in every method.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    >>> res = solvers.solve(A, np.ones(50), method="cg", rtol=1e-10)
    >>> res.converged, res.iterations <= 50, len(res.residual_norms) == res.iterations + 1
    (True, True, True)
    """

    name = "cg"
    backends = ("numpy", "cupy")
    dtypes = ("float32", "float64") + COMPLEX_DTYPES
    options_table = (RECOMPUTE_EVERY,)
    accepts_pc = True
    symmetric_pc_only = True
    needs_matrix = False
    spd_only = True
    #: stop at ``p^H A p <= 0`` or ``r^H z <= 0`` (PETSc's KSPCG); ``False`` iterates on as SciPy's cg does
    #: (:mod:`solvers.scipy_api`), stopping only where the quotient is zero or not finite (the CPU loop;
    #: the CUDA kernels always stop)
    stop_on_indefinite = True

    def _solve(self, b, x, stop):
        if self.backend == "cupy":  # fused CUDA kernels, real and complex
            from ..gpu.cg import cg_cupy

            return cg_cupy(self.A, b, x, stop, pc=self.pc.apply if self.pc is not None else None,
                           recompute_every=self.options["recompute_every"])
        A = self.A
        csr = self.is_csr
        kern = self.kern if csr else None
        xp = array_namespace(b)
        recompute = self.options["recompute_every"]
        r = xp.empty_like(b)
        hist = [stop.start(x, r)]
        p = xp.empty_like(b)
        ap = xp.empty_like(b)
        rz_old = 0.0
        it = 0
        exact = True  # hist[-1] is a true residual
        while True:
            status, rn = stop.test(hist, x, r, it, exact)
            if status != Status.ITERATING:
                return x, status, hist
            z = self.apply_pc(r)
            if self.pc is None:
                rz = rn * rn  # r.r is what the fused update just returned
            else:
                rz = float((kern.dot(r, z) if csr else xp.vdot(r, z)).real)
            if self.pc is not None and not rz > 0 and (self.stop_on_indefinite or not rz < 0):
                return x, Status.INDEFINITE_PC if np.isfinite(rz) else Status.NANORINF, hist
            if it == 0:
                p[:] = z
            else:
                beta = rz / rz_old
                if csr:
                    kern.xpby(z, p, beta)
                else:
                    p *= beta
                    p += z
            rz_old = rz
            if csr:
                pap = float(kern.spmv_dot(A.indptr, A.indices, A.data, p, ap).real)
            else:
                ap[:] = A @ p
                pap = float(xp.vdot(p, ap).real)
            if not pap > 0 and (self.stop_on_indefinite or not pap < 0):
                if not np.isfinite(pap):
                    return x, Status.NANORINF, hist
                return x, Status.INDEFINITE_MAT, hist
            alpha = rz / pap
            it += 1
            exact = bool(recompute) and it % recompute == 0
            if exact:
                x += alpha * p
                rn = self.residual(b, x, r)
            elif csr:
                rn = float(np.sqrt(kern.cg_update(x, r, p, ap, alpha)))
            else:
                x += alpha * p
                r -= alpha * ap
                rn = float(xp.linalg.norm(r))
            hist.append(rn)
            if self.callback is not None:
                self.callback(x)
