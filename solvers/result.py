"""The result of a solve: :class:`SolveResult` and the convergence :class:`Reason` codes."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

__all__ = ["Reason", "SolveResult"]


class Reason(IntEnum):
    """Why an iteration stopped, with PETSc's ``KSPConvergedReason`` numbers and names.

    Positive values mean converged, negative values mean the solve failed; ``message`` says what to try.

    Examples
    --------
    >>> Reason.DIVERGED_ITS < 0
    True
    >>> Reason(2).name
    'CONVERGED_RTOL'
    """

    CONVERGED_ITERATING = 0  # PETSc's "not finished yet"; never the reason of a returned result
    CONVERGED_RTOL_NORMAL = 1  # PETSc's normal-equation variants (KSPLSQR, ...), kept for a 1:1 mapping
    CONVERGED_RTOL = 2
    CONVERGED_ATOL = 3
    CONVERGED_ITS = 4  # a method that finishes in a fixed number of steps (direct solves)
    CONVERGED_CG_NEG_CURVE = 5
    CONVERGED_CG_CONSTRAINED = 6
    CONVERGED_STEP_LENGTH = 7
    CONVERGED_HAPPY_BREAKDOWN = 8
    CONVERGED_ATOL_NORMAL = 9
    DIVERGED_NULL = -2
    DIVERGED_ITS = -3
    DIVERGED_DTOL = -4
    DIVERGED_BREAKDOWN = -5
    DIVERGED_BREAKDOWN_BICG = -6
    DIVERGED_NONSYMMETRIC = -7
    DIVERGED_INDEFINITE_PC = -8
    DIVERGED_NANORINF = -9
    DIVERGED_INDEFINITE_MAT = -10
    DIVERGED_PC_FAILED = -11

    @property
    def converged(self) -> bool:
        return self.value > 0

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Reason.CONVERGED_RTOL: "converged: ||r|| <= rtol * ||b||",
    Reason.CONVERGED_ATOL: "converged: ||r|| <= atol",
    Reason.CONVERGED_ITERATING: "still iterating (the solve was interrupted)",
    Reason.CONVERGED_RTOL_NORMAL: "converged: the normal-equation residual met rtol",
    Reason.CONVERGED_ATOL_NORMAL: "converged: the normal-equation residual met atol",
    Reason.CONVERGED_CG_NEG_CURVE: "stopped on negative curvature (trust-region CG); the matrix is not SPD",
    Reason.CONVERGED_CG_CONSTRAINED: "stopped on the trust-region boundary (trust-region CG)",
    Reason.CONVERGED_STEP_LENGTH: "stopped: the step length became too small",
    Reason.CONVERGED_HAPPY_BREAKDOWN: "converged: the Krylov space contains the exact solution (happy breakdown)",
    Reason.CONVERGED_ITS: "finished: the method ran its fixed number of steps (direct solve)",
    Reason.DIVERGED_NULL: "the matrix is singular (or too ill-conditioned for this tolerance): the residual stays "
    "above it; give solve() its null space (nullspace='constant' for a pure-Neumann problem) or loosen rtol",
    Reason.DIVERGED_ITS: "maxiter reached before the tolerance; raise maxiter, add a preconditioner (pc='amg' or 'ic'), "
    "or loosen rtol. x is the last iterate",
    Reason.DIVERGED_DTOL: "the residual grew far above its initial value; the method diverges on this matrix "
    "(for SOR/SSOR try a smaller omega, for Jacobi damping omega < 1)",
    Reason.DIVERGED_BREAKDOWN: "breakdown in the recurrence (a zero denominator); try gmres or another preconditioner",
    Reason.DIVERGED_BREAKDOWN_BICG: "breakdown in BiCG; try gmres",
    Reason.DIVERGED_NONSYMMETRIC: "the operator or preconditioner is not symmetric; CG needs symmetry, use gmres or fcg",
    Reason.DIVERGED_INDEFINITE_PC: "the preconditioner is not positive definite; CG needs an SPD preconditioner "
    "(use ssor instead of sor, ic, amg) or switch to fcg/gmres",
    Reason.DIVERGED_NANORINF: "NaN or Inf appeared in the iteration; check the matrix scaling and the preconditioner",
    Reason.DIVERGED_INDEFINITE_MAT: "the matrix is not positive definite (p.Ap <= 0); CG needs an SPD matrix, "
    "use gmres for indefinite or nonsymmetric systems",
    Reason.DIVERGED_PC_FAILED: "the preconditioner failed to set up or apply; see the log for the cause",
}


@dataclass(frozen=True)
class SolveResult:
    """What a solve returns.

    Attributes
    ----------
    x : array
        The final iterate, with ``b``'s dtype and array type.
    reason : Reason
        Why the iteration stopped.
    iterations : int
        Number of iterations done; ``len(residual_norms) == iterations + 1``.
    residual_norms : numpy.ndarray
        2-norm of the residual, index 0 the initial one, one entry per iteration. The last entry is the
        true residual ``||b - A x||`` of the returned ``x``.
    setup_time, solve_time : float
        Seconds spent in ``setup()`` and ``solve()``.
    method : str
        Registered name of the method.
    options : dict
        The option values actually used (for example the omega a tuner picked).
    b_norm : float
        ``||b||_2``, the scale of the relative residual.
    nullspace : str or None
        The null space the solve projected out (``"detected constant"``, ``"given, dimension 3"``,
        see :mod:`solvers.nullspace`), ``None`` for none.
    pc_built_at : int or None
        Which matrix the preconditioner was set up on: its index in the solver's sequence of set-ups
        (0 = the first matrix the solver was set up on); ``None`` without a preconditioner.
    pc_age : int
        How many set-ups ago that was: 0 when the preconditioner was built (or refreshed) on this very
        matrix, ``k`` when it was kept from the matrix ``k`` set-ups earlier (``pc_reuse="keep"``).
    detail : str
        What this result's failure was, when more is known than ``reason.message`` says (an inconsistent
        ``b``: the size of its component in the null space); ``""`` otherwise. :attr:`message` picks.

    Examples
    --------
    >>> import numpy as np
    >>> r = SolveResult(x=np.zeros(2), reason=Reason.CONVERGED_RTOL, iterations=1,
    ...                 residual_norms=np.array([1.0, 1e-9]), b_norm=1.0)
    >>> r.converged, r.relative_residual
    (True, 1e-09)
    """

    x: Any
    reason: Reason
    iterations: int
    residual_norms: np.ndarray
    setup_time: float = 0.0
    solve_time: float = 0.0
    method: str = ""
    options: dict = field(default_factory=dict)
    b_norm: float = 1.0
    nullspace: str | None = None
    detail: str = ""
    pc_built_at: int | None = None
    pc_age: int = 0

    @property
    def converged(self) -> bool:
        return self.reason.converged

    @property
    def message(self) -> str:
        """What happened and what to try: :attr:`detail` when set, else the reason's message."""
        return self.detail or self.reason.message

    @property
    def relative_residual(self) -> float:
        """Final ``||b - A x|| / ||b||`` (the absolute residual when ``b = 0``)."""
        final = float(self.residual_norms[-1])
        return final / self.b_norm if self.b_norm > 0 else final

    def __repr__(self) -> str:
        return (f"SolveResult(method={self.method!r}, reason={self.reason.name}, iterations={self.iterations}, "
                f"relative_residual={self.relative_residual:.3e}, setup_time={self.setup_time:.3g}s, "
                f"solve_time={self.solve_time:.3g}s)")
