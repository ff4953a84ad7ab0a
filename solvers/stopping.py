"""The one stopping rule every method stops through (PETSc's ``KSPConvergedDefault``, in one place).

Iterate ``k`` with residual norm ``rn = ||b - A x_k||_2`` stops the iteration when, in this order,

1. ``rn`` is NaN or Inf: ``NANORINF`` (tested first, so that an infinite tolerance never passes it);
2. ``rn <= tol`` with ``tol = max(rtol ||b||, atol)``: converged (on the *true* residual, see below);
3. ``rn > limit`` with ``limit = DTOL * max(||r_0||, tol)``: diverged (``DTOL``);
4. ``k >= maxiter``: ``MAXITER``;
5. where the solve has a deadline (``Method.time_limit``, tested by the Python loops only), a
   ``k > 0`` past it: ``MAXITER`` too (:class:`StoppingRule`).

The test itself is :func:`check`, compiled with numba so that the compiled loops
(``solvers.kernels``) call the very function the Python loops call; the CUDA kernels
(``solvers.gpu.cg_kernels``) get the same status numbers through :func:`cuda_defines`, and the
loops that keep their history on a device (multicolour relaxation, GPU CG) find the first stopping
iterate of a history with :func:`first_stop`.

Krylov methods update the residual recursively; they stop through :class:`StoppingRule`, which confirms
a recursive residual that passed ``tol`` (or reached ``maxiter``) on the true residual ``b - A x``
and, if that one does not pass, goes on from it. So in every method the reported count is the first
iterate whose true residual met the tolerance, ``residual_norms[-1]`` is a true residual, and
``len(residual_norms) == iterations + 1``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum
from typing import Any

import numba as nb
import numpy as np

from .result import Reason

__all__ = ["Status", "DTOL", "DEFAULT_MAXITER", "check", "first_stop", "divergence_limit", "to_reason",
           "StoppingRule", "cuda_defines"]

#: divergence: the residual grew above DTOL times its initial value (PETSc's default dtol)
DTOL = 1e5
#: iteration limit when the caller gives none
DEFAULT_MAXITER = 10_000


class Status(IntEnum):
    """Status codes shared by the Python loops, the numba kernels and the CUDA kernels.

    Examples
    --------
    >>> to_reason(Status.MAXITER).name
    'DIVERGED_ITS'
    """

    ITERATING = 0
    CONVERGED = 1
    MAXITER = 2
    DTOL = 3
    NANORINF = 4
    INDEFINITE_MAT = 5
    INDEFINITE_PC = 6
    BREAKDOWN = 7
    PC_FAILED = 8
    SINGULAR = 9
    #: b has a component above the tolerance in A's null space (see solvers.nullspace): no x can converge
    INCONSISTENT = 10


_REASONS = {
    Status.CONVERGED: Reason.CONVERGED_RTOL,
    Status.MAXITER: Reason.DIVERGED_ITS,
    Status.DTOL: Reason.DIVERGED_DTOL,
    Status.NANORINF: Reason.DIVERGED_NANORINF,
    Status.INDEFINITE_MAT: Reason.DIVERGED_INDEFINITE_MAT,
    Status.INDEFINITE_PC: Reason.DIVERGED_INDEFINITE_PC,
    Status.BREAKDOWN: Reason.DIVERGED_BREAKDOWN,
    Status.PC_FAILED: Reason.DIVERGED_PC_FAILED,
    Status.SINGULAR: Reason.DIVERGED_NULL,
    Status.INCONSISTENT: Reason.DIVERGED_NULL,  # PETSc has no code of its own; the result's message tells
}

# numba sees module-level ints as compile-time constants
_ITERATING, _CONVERGED, _MAXITER = int(Status.ITERATING), int(Status.CONVERGED), int(Status.MAXITER)
_DTOL, _NANORINF = int(Status.DTOL), int(Status.NANORINF)


def to_reason(status: int) -> Reason:
    """The :class:`~solvers.result.Reason` a final status is reported as (``CONVERGED`` -> ``CONVERGED_RTOL``;
    :meth:`solvers.methods.base.Method.solve` tells RTOL from ATOL)."""
    return _REASONS[Status(status)]


def divergence_limit(r0: float, tol: float) -> float:
    """``DTOL * max(||r_0||, tol)``: above it the iteration is declared divergent.

    Examples
    --------
    >>> divergence_limit(2.0, 1e-8)
    200000.0
    """
    return DTOL * max(float(r0), float(tol))


@nb.njit(cache=True, nogil=True)
def check(rn: float, it: int, tol: float, limit: float, maxiter: int) -> int:
    """The stopping test on iterate ``it`` with residual norm ``rn``; returns a :class:`Status` number.

    Examples
    --------
    >>> check(1e-9, 5, 1e-8, 1e5, 100) == Status.CONVERGED
    True
    >>> check(float("nan"), 5, 1e-8, 1e5, 100) == Status.NANORINF, check(0.5, 100, 1e-8, 1e5, 100) == Status.MAXITER
    (True, True)
    """
    if not np.isfinite(rn):  # first: an infinite tolerance (||b|| overflowed) must not pass an infinite residual
        return _NANORINF
    if rn <= tol:
        return _CONVERGED
    if rn > limit:
        return _DTOL
    if it >= maxiter:
        return _MAXITER
    return _ITERATING


@nb.njit(cache=True, nogil=True)
def first_stop(hist: np.ndarray, tol: float, limit: float, maxiter: int, start: int = 0) -> tuple[int, int]:
    """The first iterate of a residual history (from index ``start``, those before it already tested) at
    which :func:`check` stops, and its status.

    ``(len(hist) - 1, ITERATING)`` when none does: the loop that wrote ``hist`` goes on.

    Examples
    --------
    >>> first_stop(np.array([1.0, 0.1, 1e-9, 1e-12]), 1e-8, 1e5, 100)
    (2, 1)
    """
    for k in range(start, hist.shape[0]):
        status = check(hist[k], k, tol, limit, maxiter)
        if status != _ITERATING:
            return k, status
    return hist.shape[0] - 1, _ITERATING


def cuda_defines() -> str:
    """``#define STATUS_<NAME> <n>`` lines for CUDA sources, so device code uses :class:`Status` numbers.

    Examples
    --------
    >>> cuda_defines().splitlines()[1]
    '#define STATUS_CONVERGED 1'
    """
    return "\n".join(f"#define STATUS_{s.name} {int(s)}" for s in Status) + "\n"


class StoppingRule:
    """The stopping rule of one solve, for loops that update the residual recursively (Krylov methods).

    Parameters
    ----------
    tol : float
        ``max(rtol ||b||, atol)``.
    maxiter : int
    true_residual : callable ``true_residual(x, r) -> float``
        Writes ``b - A x`` into ``r`` and returns its norm.
    deadline : float, optional
        A ``time.perf_counter()`` instant: an iterate tested after it that would go on stops as at
        ``maxiter`` (``MAXITER``, after the same true-residual check), and :attr:`timed_out` says so. What
        :attr:`solvers.methods.base.Method.time_limit` sets; PETSc's ``max_it`` lowered by a
        monitor does the same for :class:`bandits.petsc.KSPTuner`.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([1.0, 2.0]); b = np.ones(2)
    >>> def true_residual(x, r):
    ...     r[:] = b - A @ x
    ...     return float(np.linalg.norm(r))
    >>> rule = StoppingRule(1e-8, 10, true_residual)
    >>> x, r = np.zeros(2), np.empty(2)
    >>> hist = [rule.start(x, r)]
    >>> x[:] = [1.0, 0.5]; hist.append(1e-12)        # a recursive residual that claims convergence
    >>> Status(rule.test(hist, x, r, 1)[0]).name, hist[-1]
    ('CONVERGED', 0.0)

    Past a deadline, the first iterate tested stops the solve:

    >>> import time
    >>> late = StoppingRule(1e-8, 10, true_residual, deadline=time.perf_counter() - 1.0)
    >>> x = np.zeros(2); hist = [late.start(x, r)]
    >>> x[:] = [0.5, 0.25]; hist.append(0.5)
    >>> Status(late.test(hist, x, r, 1)[0]).name, late.timed_out
    ('MAXITER', True)
    """

    def __init__(self, tol: float, maxiter: int, true_residual: Callable[[Any, Any], float],
                 deadline: float | None = None):
        self.tol, self.maxiter = float(tol), int(maxiter)
        self.true_residual = true_residual
        self.limit = np.inf
        self.deadline = None if deadline is None else float(deadline)
        #: the last status was MAXITER because the deadline had passed
        self.timed_out = False

    def start(self, x: Any, r: Any) -> float:
        """Compute the initial (true) residual into ``r``, set the divergence limit, return its norm."""
        r0 = self.true_residual(x, r)
        self.limit = divergence_limit(r0, self.tol)
        return r0

    def status(self, rn: float, it: int) -> int:
        """:func:`check` with this solve's tolerance, limit and maxiter; past the deadline, an iterate
        (other than the initial one) that would go on gets ``MAXITER``."""
        status = check(rn, it, self.tol, self.limit, self.maxiter)
        # one perf_counter() call per iteration (~50 ns) where a deadline is set
        self.timed_out = (status == _ITERATING and self.deadline is not None and it > 0
                          and time.perf_counter() > self.deadline)
        return _MAXITER if self.timed_out else status

    def test(self, hist: list, x: Any, r: Any, it: int, exact: bool = False) -> tuple[int, float]:
        """Test iterate ``it`` whose residual norm is ``hist[-1]`` (recursive unless ``exact``).

        A recursive norm that passes ``tol`` or reaches ``maxiter`` is replaced (in ``r`` and ``hist[-1]``)
        by the true one, which decides. Returns ``(status, the norm to continue with)``.
        """
        rn = hist[-1]
        status = self.status(rn, it)
        if not exact and status in (_CONVERGED, _MAXITER):
            rn = self.true_residual(x, r)
            hist[-1] = rn
            status = self.status(rn, it)
        return status, rn
