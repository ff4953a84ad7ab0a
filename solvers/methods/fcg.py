"""Flexible conjugate gradients with truncated orthogonalization (``fcg``)."""
from __future__ import annotations

from collections import deque

import numpy as np

from ..backends import array_namespace
from ..component import COMPLEX_DTYPES, Option
from ..registry import register
from ..stopping import Status
from .base import RECOMPUTE_EVERY, Method

__all__ = ["FCG"]


@register("method", "fcg")
class FCG(Method):
    """Flexible CG (Notay 2000; PETSc's KSPFCG): for preconditioners that change from one application to
    the next or are not linear, such as a learned network or an inner iteration.

    Each new direction ``p = M(r)`` is A-orthogonalized against the last ``mmax`` directions and the step
    is the exact line search ``alpha = p^H r / p^H A p`` (conjugated for Hermitian complex systems).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.0, 2.5, -1.0], [-1, 0, 1], shape=(40, 40), format="csr")
    >>> res = solvers.solve(A, np.ones(40), method="fcg", pc="sor")
    >>> res.converged
    True
    """

    name = "fcg"
    backends = ("numpy", "cupy")
    dtypes = ("float32", "float64") + COMPLEX_DTYPES
    options_table = (Option("mmax", "int", 30, "previous directions kept for the A-orthogonalization (1: the cheapest "
                            "variant)", low=1),
                     RECOMPUTE_EVERY)
    accepts_pc = True
    needs_matrix = False
    spd_only = True

    def _solve(self, b, x, stop):
        mmax = self.options["mmax"]
        recompute = self.options["recompute_every"]
        xp = array_namespace(b)
        r = b.copy()
        hist = [stop.start(x, r)]
        dirs: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=mmax)
        it = 0
        exact = True
        while True:
            status, rn = stop.test(hist, x, r, it, exact)
            if status != Status.ITERATING:
                return x, status, hist
            p = xp.array(self.apply_pc(r), dtype=b.dtype, copy=True)
            if not bool(xp.all(xp.isfinite(p))):
                return x, Status.NANORINF, hist
            field = complex if b.dtype.kind == "c" else float
            for pj, apj, pjapj in dirs:
                p -= (field(xp.vdot(apj, p)) / pjapj) * pj
            ap = self.matvec(p, xp.empty_like(b))
            pap = float(xp.vdot(p, ap).real)
            if not pap > 0:
                if not np.isfinite(pap):
                    return x, Status.NANORINF, hist
                if float(xp.linalg.norm(p)) == 0:
                    return x, Status.BREAKDOWN, hist
                return x, Status.INDEFINITE_MAT, hist
            alpha = field(xp.vdot(p, r)) / pap
            dirs.append((p, ap, pap))
            x += alpha * p
            it += 1
            exact = bool(recompute) and it % recompute == 0
            if exact:
                rn = self.residual(b, x, r)
            else:
                r -= alpha * ap
                rn = float(xp.linalg.norm(r))
            hist.append(rn)
            if self.callback is not None:
                self.callback(x)
