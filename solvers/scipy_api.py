"""Drop-in replacements for ``scipy.sparse.linalg``'s ``cg``, ``gmres``, ``bicgstab`` and ``minres``: SciPy's
signatures (as of SciPy 1.14+), return values ``(x, info)`` and callback semantics, our methods underneath.
Switch with one import::

    from solvers.scipy_api import cg, gmres     # instead of: from scipy.sparse.linalg import cg, gmres

What follows SciPy, point by point (``tests/solvers/test_scipy_api.py`` checks each against SciPy itself):

- ``A``: sparse matrix or array, dense array or ``LinearOperator``, real or complex; ``b`` of shape ``(n,)``
  or ``(n, 1)``; integer ``b`` is taken as float64. Shapes that do not fit raise ``ValueError``.
- ``x0``: ``None`` (zero), an array of shape ``(n,)`` or ``(n, 1)``, or ``"Mb"`` (the guess ``M @ b``).
- ``M``: a matrix, a ``LinearOperator`` or (beyond SciPy) a callable ``M(r)``; it approximates ``A^-1``.
  Without ``M``, an ``A`` that has a ``psolve`` method is preconditioned by it, as in SciPy.
- ``rtol``/``atol``: converged when ``||b - A x|| <= max(rtol ||b||, atol)``; an ``atol`` that is ``None``,
  negative or ``"legacy"`` raises ``ValueError`` (minres, as SciPy's, has ``rtol`` only).
- ``info``: ``0`` converged; ``> 0`` not converged, the value is ``maxiter`` (for gmres in the legacy
  callback mode, the inner-iteration limit); ``< 0`` a breakdown (bicgstab: ``-10``).
- ``maxiter`` defaults: ``10 n`` (cg, bicgstab; gmres: restart cycles), ``5 n`` (minres).
- A zero ``b`` returns ``(zeros, 0)`` whatever ``x0`` is, as SciPy does.
- dtype of the returned ``x``: SciPy's: the common type of ``A`` and ``b`` (float64 for integer input); minres
  returns at least double precision once it has iterated (SciPy's minres upcasts through a float64 scalar).
- gmres: ``restart`` (default 20, at most ``n``); ``callback_type`` ``"x"`` (``callback(xk)`` after each
  restart cycle), ``"pr_norm"`` (``callback(residual_norm / ||b||)`` after each inner iteration, a NumPy
  scalar of the real working type), ``"legacy"`` (the same calls, and ``maxiter`` then limits the inner
  iterations); a callback without ``callback_type`` gives SciPy's ``DeprecationWarning``.
- minres: ``shift`` solves ``(A - shift I) x = b``; ``check=True`` runs SciPy's symmetry probes of ``A`` and
  ``M``; ``show=True`` logs the summary SciPy prints; an indefinite preconditioner raises ``ValueError``.

Where solverkit is deliberately stricter:

- Working precision: the iteration runs in the common type of ``A``, ``b``, ``x0`` and ``M`` (a float32
  system with a float64 preconditioner iterates in float64) and the answer is returned in SciPy's dtype.
- Convergence is tested on the true residual ``b - A x``, never on a recursively updated one or, for minres,
  on SciPy's ``||r|| / (||A|| ||x||)`` estimate: ``info == 0`` means the returned iterate met the tolerance
  (SciPy can return ``0`` for a float32 iterate whose true residual is far above it). An iterate that meets
  the tolerance at exactly ``maxiter`` iterations reports ``0`` (SciPy's cg and bicgstab loops end before
  testing it and report ``maxiter``).
- gmres is right preconditioned (SciPy's is left preconditioned), so ``"pr_norm"`` reports the residual
  of the unpreconditioned system; both are the same without ``M``.
- cg and minres refuse a matrix that is clearly not symmetric (complex: Hermitian; ``||A - A^H||_F /
  ||A||_F`` above about 2e-6, so that a matrix written with 8 digits passes), naming gmres/bicgstab; NaN or Inf in
  ``A``, ``b`` or ``x0`` raise ``ValueError``.

Where it differs otherwise:

- ``info > 0`` is ``maxiter`` for every failure, also where the iteration stopped earlier (a residual
  grown beyond ``1e5`` times its start, the one stopping rule's divergence test, or an indefinite
  preconditioner); bicgstab reports every breakdown as ``-10`` (SciPy: ``-10`` or ``-11``).
- minres stops on the true residual only: on a singular system with an inconsistent ``b`` it does not
  stop at the least-squares solution as SciPy's does (``||A r|| / (||A|| ||r||) <= rtol``) but runs to
  the divergence test or ``maxiter``.
- A singular system is solved as it is, as SciPy does (no null space is removed: ``nullspace=None``
  underneath), so ``x0``'s component in the null space stays; ``solvers.solve`` instead returns the
  minimum-norm solution by default.
- cg iterates on through ``p^H A p <= 0`` and ``r^H z <= 0``, as SciPy's does (a negative definite ``A``
  is solved); ``solvers.solve`` stops there with ``DIVERGED_INDEFINITE_MAT`` / ``_PC``, as PETSc does.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from .methods.bicgstab import BiCGStab
from .methods.cg import CG
from .methods.gmres import GMRES
from .methods.minres import MINRES
from .inputs import safe_norm
from .result import Reason

__all__ = ["cg", "gmres", "bicgstab", "minres"]

log = logging.getLogger(__name__)


class _OperatorPC:
    """SciPy's ``M`` (an approximation of A^-1, as a ``LinearOperator``) as a preconditioner object."""

    name = "M"
    symmetric = True  # SciPy's cg and minres assume it; the user answers for it
    needs_matrix = False

    def __init__(self, M: LinearOperator, dtype: np.dtype):
        self.M, self.dtype = M, dtype

    def setup(self, A: Any) -> "_OperatorPC":
        return self

    def apply(self, r: np.ndarray) -> np.ndarray:
        return np.asarray(self.M.matvec(r), dtype=r.dtype).ravel()


def _fp(char: str) -> str:
    """SciPy's ``coerce``: anything but f, d, F, D is taken as d."""
    return char if char in "fdFD" else "d"


class _System:
    """SciPy's ``make_system``, then the working precision and our arrays.

    Attributes: ``A`` (for our solver), ``b``, ``x0`` (or None), ``M`` (our preconditioner or None),
    ``xtype`` (SciPy's dtype of x), ``work`` (the dtype we iterate in), ``n``, ``bnorm``.
    """

    def __init__(self, A: Any, b: Any, x0: Any, M: Any):
        lin = aslinearoperator(A)
        if lin.shape[0] != lin.shape[1]:
            raise ValueError(f"expected square matrix, but got shape={(lin.shape,)}")
        n = self.n = lin.shape[0]
        b = np.asanyarray(b)
        if not (b.shape == (n, 1) or b.shape == (n,)):
            raise ValueError(f"shapes of A {lin.shape} and b {b.shape} are incompatible")
        if b.dtype.char not in "fdFD":
            b = b.astype("d")
        a_char = lin.dtype.char if lin.dtype is not None else lin.matvec(b).dtype.char
        self.xtype = np.result_type(_fp(a_char), _fp(b.dtype.char))
        b = np.asarray(b, dtype=self.xtype).ravel()
        work = self.xtype
        Mop = None
        if M is None and hasattr(A, "psolve"):  # SciPy's make_system takes A.psolve as M when M is None
            M = LinearOperator((n, n), matvec=A.psolve, dtype=self.xtype)
        if M is not None:
            if callable(M) and not hasattr(M, "shape"):
                Mop = LinearOperator((n, n), matvec=M, dtype=self.xtype)
            else:
                Mop = aslinearoperator(M)
            if Mop.shape != lin.shape:
                raise ValueError("matrix and preconditioner have different shapes")
            if Mop.dtype is not None and Mop.dtype.char in "fdFD":
                work = np.result_type(work, Mop.dtype)
        if x0 is None:
            x = None
        elif isinstance(x0, str):
            if x0 != "Mb":
                raise ValueError(f"x0 must be None, an array or 'Mb', got {x0!r}")
            x = b.copy() if Mop is None else np.asarray(Mop.matvec(b.copy())).ravel()
        else:
            given = np.asanyarray(x0)
            x = np.array(x0, dtype=self.xtype)  # as SciPy: a complex x0 for a real system warns and drops .imag
            if not (x.shape == (n, 1) or x.shape == (n,)):
                raise ValueError(f"shapes of A {lin.shape} and x0 {x.shape} are incompatible")
            x = x.ravel()
            if given.dtype.char in "fdFD":  # x0's precision counts (its complexness does not, as above)
                work = np.result_type(work, np.finfo(given.dtype).dtype)
        self.work = np.dtype(work)
        self.b = b
        self.bnorm = safe_norm(b)  # b near 1e-170: not 0 (no early return), b near 1e160: not inf
        self.x0 = None if x is None else x.astype(self.work)
        self.M = None if Mop is None else _OperatorPC(Mop, self.work)
        self.A = self._working_matrix(A, lin)

    def _working_matrix(self, A: Any, lin: LinearOperator) -> Any:
        if isinstance(A, LinearOperator) or not (sp.issparse(A) or hasattr(A, "__array__")):
            if lin.dtype == self.work:
                return lin
            return LinearOperator(lin.shape, matvec=lin.matvec, rmatvec=lin.rmatvec, dtype=self.work)
        A = A if sp.issparse(A) else np.asarray(A)
        return A.astype(self.work) if A.dtype != self.work else A

    def run(self, method: Any, maxiter: int) -> Any:
        method.setup(self.A)
        return method.solve(self.b.astype(self.work), x0=self.x0, maxiter=maxiter)


def _check_atol(name: str, atol: Any) -> float:
    if atol == "legacy" or atol is None or atol < 0:
        raise ValueError(f"'scipy.sparse.linalg.{name}' called with invalid `atol`={atol}; "
                         "if set, `atol` must be a real, non-negative number.")
    return float(atol)


def _info(res: Any, maxiter: int, breakdown: int | None = None) -> int:
    if res.converged:
        return 0
    if breakdown is not None and res.reason == Reason.DIVERGED_BREAKDOWN:
        return breakdown
    return maxiter  # SciPy reports the iteration limit for every other failure too


def _short_recurrence(cls: type, name: str, A: Any, b: Any, x0: Any, M: Any, rtol: float, atol: float,
                      maxiter: int | None, callback: Callable | None, breakdown: int | None = None
                      ) -> tuple[np.ndarray, int]:
    """What :func:`cg` and :func:`bicgstab` share: SciPy's default ``maxiter = 10 n``, ``callback(xk)``."""
    system = _System(A, b, x0, M)
    atol = _check_atol(name, atol)
    if system.bnorm == 0:
        return system.b, 0
    maxiter = 10 * system.n if maxiter is None else int(maxiter)
    method = cls(pc=system.M, rtol=rtol, atol=atol, nullspace=None)
    if cls is CG:
        method.stop_on_indefinite = False  # SciPy's cg iterates on through p^H A p <= 0 (a negative definite A)
    method.callback = callback
    res = system.run(method, maxiter)
    return res.x.astype(system.xtype, copy=False), _info(res, maxiter, breakdown=breakdown)


def cg(A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-5, atol: float = 0.0, maxiter: int | None = None,
       M: Any = None, callback: Callable[[np.ndarray], Any] | None = None) -> tuple[np.ndarray, int]:
    """Conjugate gradients with :func:`scipy.sparse.linalg.cg`'s interface (Hermitian positive definite A).

    ``callback(xk)`` is called after each iteration; ``maxiter`` defaults to ``10 n``. See the module
    docstring for the semantics point by point.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from solvers.scipy_api import cg
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    >>> x, info = cg(A, np.ones(50), rtol=1e-10)
    >>> info, bool(np.linalg.norm(A @ x - 1) < 1e-8)
    (0, True)
    """
    return _short_recurrence(CG, "cg", A, b, x0, M, rtol, atol, maxiter, callback)


def bicgstab(A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-5, atol: float = 0.0, maxiter: int | None = None,
             M: Any = None, callback: Callable[[np.ndarray], Any] | None = None) -> tuple[np.ndarray, int]:
    """BiCGStab with :func:`scipy.sparse.linalg.bicgstab`'s interface (general square A).

    ``callback(xk)`` after each iteration; ``maxiter`` defaults to ``10 n``; a breakdown gives ``info = -10``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from solvers.scipy_api import bicgstab
    >>> A = sp.diags([-1.3, 2.0, -0.7], [-1, 0, 1], shape=(40, 40), format="csr")
    >>> x, info = bicgstab(A, np.ones(40), rtol=1e-10)
    >>> info, bool(np.linalg.norm(A @ x - 1) < 1e-8)
    (0, True)
    """
    return _short_recurrence(BiCGStab, "bicgstab", A, b, x0, M, rtol, atol, maxiter, callback, breakdown=-10)


_GMRES_WARNING = ("scipy.sparse.linalg.gmres called without specifying `callback_type`. The default value will be "
                  "changed in a future release. For compatibility, specify a value for `callback_type` explicitly, "
                  "e.g., ``gmres(..., callback_type='pr_norm')``, or to retain the old behavior "
                  "``gmres(..., callback_type='legacy')``")


def gmres(A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-5, atol: float = 0.0, restart: int | None = None,
          maxiter: int | None = None, M: Any = None, callback: Callable | None = None,
          callback_type: str | None = None) -> tuple[np.ndarray, int]:
    """Restarted GMRES with :func:`scipy.sparse.linalg.gmres`'s interface.

    ``maxiter`` counts restart cycles (default ``10 n``; in the legacy callback mode it limits the inner
    iterations, as in SciPy), ``restart`` defaults to 20 (at most ``n``), ``callback_type`` is ``'x'``,
    ``'pr_norm'`` or ``'legacy'`` (see the module docstring).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from solvers.scipy_api import gmres
    >>> A = sp.diags([-1.3, 2.0, -0.7], [-1, 0, 1], shape=(40, 40), format="csr")
    >>> norms = []
    >>> x, info = gmres(A, np.ones(40), rtol=1e-10, callback=norms.append, callback_type="pr_norm")
    >>> info, bool(np.linalg.norm(A @ x - 1) < 1e-8), type(norms[0]).__name__
    (0, True, 'float64')
    """
    if callback is not None and callback_type is None:
        warnings.warn(_GMRES_WARNING, category=DeprecationWarning, stacklevel=2)
    if callback_type is None:
        callback_type = "legacy"
    if callback_type not in ("x", "pr_norm", "legacy"):
        raise ValueError(f"Unknown callback_type: {callback_type!r}")
    if callback is None:
        callback_type = None
    system = _System(A, b, x0, M)
    atol = _check_atol("gmres", atol)
    if system.bnorm == 0:
        return system.b, 0
    n = system.n
    restart = min(20 if restart is None else int(restart), n)
    maxiter = 10 * n if maxiter is None else int(maxiter)
    # legacy mode: maxiter limits the inner iterations; otherwise it counts restart cycles
    total = maxiter if callback_type == "legacy" else maxiter * restart
    method = GMRES(pc=system.M, rtol=rtol, atol=atol, restart=restart, nullspace=None)
    if callback_type == "x":
        method.callback = callback
    elif callback_type is not None:
        scalar = np.finfo(system.xtype).dtype.type  # SciPy passes a NumPy scalar of the real working type
        bnorm = system.bnorm
        method.inner_callback = lambda est: callback(scalar(est / bnorm))
    res = system.run(method, max(total, 0))
    return res.x.astype(system.xtype, copy=False), _info(res, maxiter)


def minres(A: Any, b: Any, x0: Any = None, *, rtol: float = 1e-5, shift: float = 0.0, maxiter: int | None = None,
           M: Any = None, callback: Callable[[np.ndarray], Any] | None = None, show: bool = False,
           check: bool = False) -> tuple[np.ndarray, int]:
    """MINRES with :func:`scipy.sparse.linalg.minres`'s interface (symmetric/Hermitian, possibly indefinite A;
    symmetric positive definite M).

    Solves ``(A - shift I) x = b``; stops when ``||b - (A - shift I) x|| <= rtol ||b||``; ``maxiter`` defaults
    to ``5 n``; ``callback(xk)`` after each iteration.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from solvers.scipy_api import minres
    >>> A = sp.diags(np.linspace(-1.0, 2.0, 30)).tocsr()            # indefinite
    >>> x, info = minres(A, np.ones(30), rtol=1e-10, shift=0.01)
    >>> info, bool(np.linalg.norm(A @ x - 0.01 * x - 1) < 1e-8)
    (0, True)
    """
    system = _System(A, b, x0, M)
    n = system.n
    maxiter = 5 * n if maxiter is None else int(maxiter)
    if system.bnorm == 0:
        return system.b, 0
    if shift != 0.0:
        if isinstance(system.A, LinearOperator):
            op = system.A
            system.A = LinearOperator(op.shape, matvec=lambda v: op.matvec(v) - shift * np.ravel(v), dtype=system.work)
        else:
            system.A = (sp.csr_matrix(system.A) - shift * sp.eye(n, dtype=system.work, format="csr")).tocsr()
    if check:
        _scipy_symmetry_probes(system)
    method = MINRES(pc=system.M, rtol=rtol, atol=0.0, nullspace=None)
    method.callback = callback
    res = system.run(method, maxiter)
    if res.reason == Reason.DIVERGED_INDEFINITE_PC:
        raise ValueError("indefinite preconditioner")
    if show:
        log.info("minres: %s after %d iterations, ||r|| = %.4e", res.reason.name, res.iterations,
                 res.residual_norms[-1])
    out = np.result_type(system.xtype, np.float64) if res.iterations > 0 else system.xtype
    return res.x.astype(out, copy=False), _info(res, maxiter)


def _scipy_symmetry_probes(system: _System) -> None:
    """SciPy's ``check=True`` in minres: ``|w.w - y.(A w)|`` with ``y = M b``, ``w = A y``, and the same for M."""
    A = aslinearoperator(system.A)
    M = system.M.M if system.M is not None else aslinearoperator(sp.eye(system.n, dtype=system.work))
    eps = float(np.finfo(system.work).eps)
    r1 = system.b.astype(system.work) if system.x0 is None else system.b - A.matvec(system.x0)
    y = np.asarray(M.matvec(r1)).ravel()
    w = np.asarray(A.matvec(y)).ravel()
    r2 = np.asarray(A.matvec(w)).ravel()
    s, t = np.vdot(w, w), np.vdot(y, r2)
    if abs(s - t) > (abs(s) + eps) * eps ** (1.0 / 3.0):
        raise ValueError("non-symmetric matrix")
    r2 = np.asarray(M.matvec(y)).ravel()
    s, t = np.vdot(y, y), np.vdot(r1, r2)
    if abs(s - t) > (abs(s) + eps) * eps ** (1.0 / 3.0):
        raise ValueError("non-symmetric preconditioner")
