"""Minimal residual method for symmetric or Hermitian, possibly indefinite systems (``minres``)."""
from __future__ import annotations

import numpy as np

from ..backends import array_namespace
from ..component import COMPLEX_DTYPES
from ..registry import register
from ..stopping import Status
from .base import RECOMPUTE_EVERY, Method

__all__ = ["MINRES"]


@register("method", "minres")
class MINRES(Method):
    """MINRES (Paige and Saunders 1975) for symmetric (complex: Hermitian) matrices that may be indefinite,
    with a symmetric (Hermitian) positive definite preconditioner.

    The Lanczos recurrence and the QR update of its tridiagonal matrix follow Paige and Saunders (and
    SciPy's ``minres``); for Hermitian input the inner products are conjugated and every Lanczos
    coefficient is real. Besides the iterate the method updates its residual ``r = b - A x`` (the
    products ``A w`` of the search directions come from the Lanczos product, one extra vector update),
    so ``residual_norms`` holds 2-norms of ``b - A x`` also when preconditioned (the recurrence's own
    estimate is then a norm in ``M^-1``). As in every Krylov method here that residual is confirmed on
    the true residual before convergence is reported and replaced by ``b - A x`` every
    ``recompute_every`` iterations; when the true residual does not confirm it, the Lanczos process
    starts again from the true residual (in float32 the gap between the recurrences and ``b - A x``
    would otherwise stall the iteration just above the tolerance).

    A nonsymmetric (non-Hermitian) matrix is refused in ``setup()`` with a message naming gmres and
    bicgstab; a preconditioner that is not positive definite stops the solve with
    ``Reason.DIVERGED_INDEFINITE_PC``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags(np.linspace(-1.0, 2.0, 50)).tocsr() + sp.diags([0.3, 0.3], [-1, 1], shape=(50, 50))
    >>> res = solvers.solve(A, np.ones(50), method="minres", rtol=1e-10)   # indefinite: cg cannot
    >>> res.converged, bool(np.linalg.norm(np.ones(50) - A @ res.x) <= 1e-10 * np.sqrt(50))
    (True, True)
    """

    name = "minres"
    backends = ("numpy", "cupy")
    dtypes = ("float32", "float64") + COMPLEX_DTYPES
    options_table = (RECOMPUTE_EVERY,)
    accepts_pc = True
    symmetric_pc_only = True
    needs_matrix = False
    symmetric_only = True

    def _solve(self, b, x, stop):
        xp = array_namespace(b)
        r = xp.empty_like(b)
        hist = [stop.start(x, r)]
        it = 0
        while True:  # one Lanczos process; a new one from the true residual when it failed to confirm
            status, it = self._lanczos(b, x, r, hist, it, stop)
            if status != Status.ITERATING:
                return x, status, hist

    def _lanczos(self, b, x, r, hist, it, stop):
        """MINRES from the current ``x`` and its residual ``r`` until ``stop`` decides, or until a recursive
        residual below the tolerance is not confirmed by the true one (then ``ITERATING``: the caller starts
        again from the true residual, which removes the gap between the recurrences and ``b - A x``)."""
        xp = array_namespace(b)
        kern = self.kern if self.is_csr else None
        recompute = self.options["recompute_every"]
        eps = float(np.finfo(b.dtype).eps)
        anorm = 0.0  # the largest Lanczos coefficient so far: A's scale, for a relative floor on gamma
        status, rn = stop.test(hist, x, r, it, True)
        if status != Status.ITERATING:
            return status, it
        # Lanczos on M^-1 A in the M inner product: r1, r2 the last two (unscaled) vectors, y = M^-1 r2
        r1 = r.copy()
        r2 = r.copy()
        y = self.apply_pc(r2)
        beta = float(xp.vdot(r2, y).real)
        if not np.isfinite(beta):
            return Status.NANORINF, it
        if beta <= 0:
            return Status.INDEFINITE_PC, it
        beta = float(np.sqrt(beta))
        oldb = 0.0
        dbar = epsln = 0.0
        phibar = beta
        cs, sn = -1.0, 0.0
        w, w1, w2 = xp.zeros_like(b), xp.zeros_like(b), xp.zeros_like(b)
        aw, aw1, aw2 = xp.zeros_like(b), xp.zeros_like(b), xp.zeros_like(b)
        av = xp.empty_like(b)
        first = True
        exact = True
        while True:
            if beta == 0.0:  # the Krylov space is invariant and x is its best: A is singular here
                if not exact:
                    hist[-1] = self.residual(b, x, r)
                return Status.BREAKDOWN, it
            v = y / beta
            self.matvec(v, av)
            ynew = av.copy()
            if not first:
                ynew -= (beta / oldb) * r1
            first = False
            alfa = float(xp.vdot(v, ynew).real)
            ynew -= (alfa / beta) * r2
            r1, r2 = r2, ynew
            y = self.apply_pc(r2)
            oldb = beta
            beta2 = float(xp.vdot(r2, y).real)
            if not (np.isfinite(beta2) and np.isfinite(alfa)):
                return Status.NANORINF, it
            if beta2 < 0:
                return Status.INDEFINITE_PC, it
            beta = float(np.sqrt(beta2))
            # previous rotation on the new column, then the next rotation
            oldeps = epsln
            delta = cs * dbar + sn * alfa
            gbar = sn * dbar - cs * alfa
            epsln = sn * beta
            dbar = -cs * beta
            # a floor relative to A's scale (SciPy's absolute eps stalls a matrix of norm 1e-16 or less)
            anorm = max(anorm, abs(alfa), beta)
            gamma = max(float(np.hypot(gbar, beta)), eps * anorm) or eps
            cs, sn = gbar / gamma, beta / gamma
            phi = cs * phibar
            phibar = sn * phibar
            # new direction w = (v - oldeps w1 - delta w2) / gamma, and A w from A v the same way
            w1, w2, w = w2, w, w1
            aw1, aw2, aw = aw2, aw, aw1
            it += 1
            exact = bool(recompute) and it % recompute == 0
            if kern is not None and not exact:  # one fused pass on the host
                rn = float(np.sqrt(kern.minres_update(v, av, w1, w2, aw1, aw2, w, aw, oldeps, delta, 1.0 / gamma,
                                                      phi, x, r)))
            else:
                w[:] = v
                w -= oldeps * w1
                w -= delta * w2
                w /= gamma
                aw[:] = av
                aw -= oldeps * aw1
                aw -= delta * aw2
                aw /= gamma
                x += phi * w
                if exact:
                    rn = self.residual(b, x, r)
                else:
                    r -= phi * aw
                    rn = float(xp.linalg.norm(r))
            hist.append(rn)
            if self.callback is not None:
                self.callback(x)
            claimed = not exact and rn <= stop.tol
            status, rn = stop.test(hist, x, r, it, exact)
            if status != Status.ITERATING or claimed:  # claimed but not confirmed: start again from r
                return status, it
