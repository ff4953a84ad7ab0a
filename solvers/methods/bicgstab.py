"""BiConjugate gradients stabilized, right preconditioned (``bicgstab``)."""
from __future__ import annotations

import numpy as np

from ..backends import array_namespace
from ..component import COMPLEX_DTYPES
from ..registry import register
from ..stopping import Status
from .base import RECOMPUTE_EVERY, Method

__all__ = ["BiCGStab"]


@register("method", "bicgstab")
class BiCGStab(Method):
    """BiCGStab (van der Vorst 1992) for general square systems, real or complex: a short recurrence, two
    products with ``A`` and two preconditioner applications per iteration, storage independent of the
    iteration count (unlike GMRES).

    Right preconditioning (``A M^-1 y = b``, ``x = M^-1 y``), so the residual the recurrence updates is the
    residual ``b - A x`` of the unpreconditioned system and ``residual_norms`` holds its 2-norms. An
    iteration whose half step already meets the tolerance stops there (``||s||``, as PETSc's KSPBCGS does);
    the count is then that iteration. Inner products are conjugated (``rhat^H r``), so complex
    non-Hermitian systems (Helmholtz) are solved as they are.

    As in every Krylov method here the recursive residual is confirmed on the true residual before
    convergence is reported, and replaced by ``b - A x`` every ``recompute_every`` iterations. A
    breakdown of the two-sided Lanczos process (``rhat^H r = 0`` or ``rhat^H A p = 0``) restarts the
    recurrence from the current residual; ``rhat^H A M^-1 r = 0`` right after a restart ends the solve with
    ``Reason.DIVERGED_BREAKDOWN``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.3, 2.0, -0.7], [-1, 0, 1], shape=(60, 60), format="csr")   # nonsymmetric
    >>> res = solvers.solve(A, np.ones(60), method="bicgstab", pc="ilu")
    >>> res.converged and res.relative_residual <= 1e-8
    True
    """

    name = "bicgstab"
    backends = ("numpy", "cupy")
    dtypes = ("float32", "float64") + COMPLEX_DTYPES
    options_table = (RECOMPUTE_EVERY,)
    accepts_pc = True
    needs_matrix = False

    def _solve(self, b, x, stop):
        xp = array_namespace(b)
        field = lambda value: _scalar(value, b.dtype)  # noqa: E731
        kern = self.kern if self.is_csr else None  # fused host kernels (one pass per update); else xp
        recompute = self.options["recompute_every"]
        r = xp.empty_like(b)
        hist = [stop.start(x, r)]
        v, tbuf, sbuf = xp.empty_like(b), xp.empty_like(b), xp.empty_like(b)
        p = xp.zeros_like(b)
        rhat = r.copy()
        rho_old = alpha = omega = 1.0
        it = 0
        fresh = True  # the recurrence starts (again) from the current residual
        exact = True

        def breakdown():
            if not exact:  # the last entry of the history is always a true residual
                hist[-1] = self.residual(b, x, r)
            return x, Status.BREAKDOWN, hist

        while True:
            status, rn = stop.test(hist, x, r, it, exact)
            if status != Status.ITERATING:
                return x, status, hist
            if fresh:
                rhat[:] = r
                rho = rn * rn
                p[:] = r
            else:
                rho = complex(kern.dot(rhat, r) if kern else xp.vdot(rhat, r))
                if not np.isfinite(rho):
                    return x, Status.NANORINF, hist
                if rho == 0:  # the shadow residual is orthogonal to r: restart from r
                    fresh = True
                    continue
                beta = (rho / rho_old) * (alpha / omega)
                if kern:
                    kern.bicg_direction(r, v, p, field(beta), field(omega))
                else:
                    with np.errstate(over="ignore", invalid="ignore"):  # an overflow here is caught just below
                        p -= field(omega) * v
                        p *= field(beta)
                        p += r
            phat = self.apply_pc(p)
            self.matvec(phat, v)
            rv = complex(kern.dot(rhat, v) if kern else xp.vdot(rhat, v))
            if not np.isfinite(rv):
                return x, Status.NANORINF, hist
            if rv == 0:
                if fresh:  # r^H A M^-1 r = 0: a restart would meet the same
                    return breakdown()
                fresh = True
                continue
            alpha = rho / rv
            a = field(alpha)
            if kern:
                s = sbuf
                sn = float(np.sqrt(kern.sub_scaled_norm(r, v, a, s)))
            else:
                s = r - a * v
                sn = float(xp.linalg.norm(s))
            if not np.isfinite(sn):
                return x, Status.NANORINF, hist
            it += 1
            shat = t = None
            if sn > stop.tol:
                shat = self.apply_pc(s)
                t = self.matvec(shat, tbuf)
                if kern:
                    tt, ts = kern.norm_and_dot(t, s)
                    tt, ts = float(tt), complex(ts)
                else:
                    tt = float(xp.vdot(t, t).real)
                    ts = complex(xp.vdot(t, s))
                if not (np.isfinite(tt) and np.isfinite(ts)):
                    return x, Status.NANORINF, hist
            if shat is None or tt == 0 or ts == 0:
                x += a * phat
                # the half step meets the tolerance (or omega = 0 and BiCGStab cannot take the second
                # half): x + alpha phat is this iteration's answer, and the recurrence restarts from it
                r[:] = s
                hist.append(sn)
                exact = False
                fresh = True
                self._after(x)
                continue
            fresh = False
            omega = ts / tt
            w = field(omega)
            exact = bool(recompute) and it % recompute == 0
            if kern and not exact:
                rn = float(np.sqrt(kern.bicg_update(x, phat, shat, a, w, r, s, t)))
            else:
                x += a * phat
                x += w * shat
                if exact:
                    rn = self.residual(b, x, r)
                else:
                    r[:] = s
                    r -= w * t
                    rn = float(xp.linalg.norm(r))
            hist.append(rn)
            rho_old = rho
            self._after(x)

    def _after(self, x):
        if self.callback is not None:
            self.callback(x)


def _scalar(value: complex, dtype) -> complex | float:
    """A Python scalar of the working field: real for real dtypes (the imaginary part is round-off)."""
    return value if np.issubdtype(dtype, np.complexfloating) else value.real
