"""Drop-in replacements for ``scipy.sparse.linalg.cg`` and ``gmres``: same signatures, same return values
``(x, info)``, same callback semantics, our kernels underneath. Switch with one import::

    from solvers.scipy_api import cg, gmres     # instead of: from scipy.sparse.linalg import cg, gmres

``info`` follows SciPy: 0 converged, > 0 the iteration count when the tolerance was not reached,
< 0 breakdown or an indefinite matrix/preconditioner.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.sparse.linalg import aslinearoperator

from .errors import InvalidInputError
from .methods.cg import CG
from .methods.gmres import GMRES
from .result import Reason

__all__ = ["cg", "gmres"]


class _OperatorPC:
    """SciPy's ``M`` (an approximation of A^-1) as a preconditioner object."""

    name = "M"
    symmetric = True  # SciPy's cg assumes it; the user answers for it
    needs_matrix = False

    def __init__(self, M: Any):
        self.M = aslinearoperator(M)

    def setup(self, A: Any) -> "_OperatorPC":
        if self.M.shape != A.shape:
            raise InvalidInputError(f"M has shape {self.M.shape}, A has {A.shape}")
        return self

    def apply(self, r: np.ndarray) -> np.ndarray:
        return np.asarray(self.M.matvec(r), dtype=r.dtype).ravel()


def _info(res) -> int:
    if res.converged:
        return 0
    if res.reason == Reason.DIVERGED_ITS:
        return max(res.iterations, 1)
    return -1


def _run(method: Any, A: Any, b: Any, x0: Any, callback: Callable | None) -> Any:
    method.callback = callback
    method.setup(A)
    b = np.asarray(b)
    if b.dtype.kind in "iub":
        b = b.astype(np.float64)
    return method.solve(b.ravel(), x0=x0)


def cg(A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-5, atol: float = 0.0, maxiter: int | None = None,
       M: Any = None, callback: Callable[[np.ndarray], Any] | None = None) -> tuple[np.ndarray, int]:
    """Conjugate gradients with :func:`scipy.sparse.linalg.cg`'s interface.

    ``callback(xk)`` is called after each iteration; ``maxiter`` defaults to ``10 n``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from solvers.scipy_api import cg
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    >>> x, info = cg(A, np.ones(50), rtol=1e-10)
    >>> info, bool(np.linalg.norm(A @ x - 1) < 1e-8)
    (0, True)
    """
    n = np.shape(b)[0]
    method = CG(pc=_OperatorPC(M) if M is not None else None, rtol=rtol, atol=atol,
                maxiter=10 * n if maxiter is None else maxiter)
    res = _run(method, A, b, x0, callback)
    return res.x, _info(res)


def gmres(A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-5, atol: float = 0.0, restart: int | None = None,
          maxiter: int | None = None, M: Any = None, callback: Callable | None = None,
          callback_type: str | None = None) -> tuple[np.ndarray, int]:
    """Restarted GMRES with :func:`scipy.sparse.linalg.gmres`'s interface.

    As in SciPy, ``maxiter`` counts restart cycles (default ``10 n``), ``restart`` defaults to 20, and
    ``callback_type`` is ``'x'`` (``callback(xk)`` after each cycle) or ``'pr_norm'``/``'legacy'``
    (``callback(residual_norm / ||b||)`` after each inner iteration). ``M`` preconditions on the right,
    so the residual norms are those of the unpreconditioned system.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from solvers.scipy_api import gmres
    >>> A = sp.diags([-1.3, 2.0, -0.7], [-1, 0, 1], shape=(40, 40), format="csr")
    >>> x, info = gmres(A, np.ones(40), rtol=1e-10)
    >>> info, bool(np.linalg.norm(A @ x - 1) < 1e-8)
    (0, True)
    """
    n = np.shape(b)[0]
    restart = 20 if restart is None else int(restart)
    restart = min(restart, n)
    cycles = 10 * n if maxiter is None else int(maxiter)
    callback_type = callback_type or "legacy"
    if callback_type not in ("x", "pr_norm", "legacy"):
        raise InvalidInputError(f"callback_type must be 'x', 'pr_norm' or 'legacy', got {callback_type!r}")
    monitor = None
    if callback is not None and callback_type != "x":
        bnorm = float(np.linalg.norm(b)) or 1.0
        monitor = lambda it, rn: callback(rn / bnorm) if it > 0 else None  # noqa: E731
    method = GMRES(pc=_OperatorPC(M) if M is not None else None, rtol=rtol, atol=atol,
                   maxiter=cycles * restart, monitor=monitor, restart=restart)
    res = _run(method, A, b, x0, callback if callback_type == "x" else None)
    return res.x, _info(res)
