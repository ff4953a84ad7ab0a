"""The base class every method shares: option checking, set-up timing, input checks, result building."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .. import kernels
from ..backends import array_namespace, backend_of, resolve_backend
from ..component import Component, Option
from ..errors import InvalidInputError, SolverError
from ..gpu.grid import DeviceGrid
from ..grid import GridOperator
from ..inputs import (as_matrix, check_guess, check_rhs, check_tolerances, float_dtype, is_gpu_matrix, rhs_scale,
                      working_dtype)
from ..nullspace import NullSpace, inconsistency_message, resolve
from ..preconditioners.base import Preconditioner, as_preconditioner
from ..result import Reason, SolveResult
from ..stopping import DEFAULT_MAXITER, Status, StoppingRule, to_reason
from ..threads import with_single_blas_thread

__all__ = ["Method", "host_matrix", "RECOMPUTE_EVERY"]

#: the option of the Krylov methods that keep a recursive residual (cg, fcg, bicgstab, minres)
RECOMPUTE_EVERY = Option("recompute_every", "int", 50, "replace the recursive residual by b - A x this often "
                         "(0: only to confirm convergence)", low=0)

log = logging.getLogger(__name__)

Monitor = Callable[[int, float], Any]


class Method(Component):
    """Base class of iterative and direct methods.

    Subclasses declare their options (``options_table``) and flags, and implement ``_setup()`` and
    ``_solve(b, x, stop) -> (x, Status, history)`` where ``stop`` is the solve's
    :class:`~solvers.stopping.StoppingRule`: every method stops through it.

    Parameters
    ----------
    pc : preconditioner, optional
        Already constructed (see :func:`solvers.make_solver`, which builds it from a name); an object
        with ``setup(A)`` and ``apply(r)`` that is not a :class:`~solvers.preconditioners.base.Preconditioner`
        is wrapped in :class:`~solvers.preconditioners.base.ForeignPreconditioner`.
    rtol, atol : float
        Stop when ``||b - A x||_2 <= max(rtol * ||b||_2, atol)``.
    maxiter : int, optional
        Iteration limit (default 10,000). Reaching it gives ``Reason.DIVERGED_ITS`` and the last iterate.
    monitor : callable ``monitor(iteration, residual_norm)``, optional
        Called once per iteration (after the solve, in order, for the methods whose loop is compiled).
    pc_reuse : {"rebuild", "keep", "refresh"}, default "rebuild"
        What :meth:`setup` does with a preconditioner already set up on an earlier matrix of this solver:
        ``"rebuild"`` sets it up again on the new matrix; ``"keep"`` keeps it as it is (an AMG hierarchy,
        an IC factor of an earlier matrix: no set-up cost, more iterations as the matrix drifts away from
        it); ``"refresh"`` calls the preconditioner's cheaper re-set-up for a matrix with the same pattern
        (:meth:`~solvers.preconditioners.base.Preconditioner.resetup`; a full set-up where it has none).
        The result says which matrix the preconditioner came from (``pc_built_at``, ``pc_age``); a
        :meth:`setup` call may override it for one matrix.
    nullspace : None, "auto", "constant" or array of shape (n,) or (n, k), default "auto"
        ``A``'s null space (also its left null space, as for a symmetric matrix), resolved in
        :meth:`setup` by :func:`solvers.nullspace.resolve`; ``"auto"`` detects the constants (rows and
        columns summing to zero) and isolated unknowns. With one, :meth:`solve` stops at once with
        ``Reason.DIVERGED_NULL`` (and ``result.message`` giving the size) when ``b``'s component in it is
        above the tolerance; else it solves with ``b`` projected onto the range, the preconditioned
        residual projected (``apply_pc``), and returns the minimum-norm ``x`` (projected at the end),
        its residual norms those of the original system. A direct solve factors the bordered matrix
        ``[[A, N], [N^T, 0]]``, which is nonsingular.
    **options
        The method's hyper-parameters (``options_table``).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from solvers.methods.cg import CG
    >>> s = CG(rtol=1e-10).setup(sp.diags([1.0, 2.0, 4.0]).tocsr())
    >>> res = s.solve(np.ones(3))
    >>> res.iterations, bool(res.residual_norms[-1] <= 1e-10 * np.sqrt(3))
    (3, True)

    Keeping a preconditioner set up on an earlier matrix of a sequence:

    >>> from solvers.methods.cg import CG
    >>> from solvers.preconditioners.incomplete import ICPC
    >>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    >>> s = CG(pc=ICPC(), rtol=1e-10).setup(T)
    >>> s.setup(T + 0.1 * sp.eye(50, format="csr"), pc_reuse="keep").solve(np.ones(50)).pc_age
    1
    """

    #: takes a preconditioner
    accepts_pc: ClassVar[bool] = False
    #: needs a symmetric (SPD) preconditioner
    symmetric_pc_only: ClassVar[bool] = False
    #: iterates (False: a direct solve)
    iterative: ClassVar[bool] = True
    #: needs a symmetric positive definite matrix
    spd_only: ClassVar[bool] = False
    #: needs a symmetric (complex: Hermitian) matrix, definite or not (minres)
    symmetric_only: ClassVar[bool] = False

    def __init__(self, pc: Any = None, *, rtol: float = 1e-8, atol: float = 0.0, maxiter: int | None = None,
                 monitor: Monitor | None = None, nullspace: Any = "auto", pc_reuse: str = "rebuild", **options: Any):
        check_tolerances(rtol, atol, maxiter)
        self.pc_reuse = _check_pc_reuse(pc_reuse)
        super().__init__(**options)
        if pc is not None:
            if not self.accepts_pc:
                raise InvalidInputError(f"{self.name} takes no preconditioner; use it with method='cg', 'fcg' or "
                                        f"'gmres', or as pc={self.name!r} where it is registered as one")
            pc = as_preconditioner(pc)
            if self.symmetric_pc_only and not pc.symmetric:
                raise InvalidInputError(f"{self.name} needs a symmetric preconditioner and {pc.name!r} is not; "
                                        "use ssor, jacobi, ic or amg, or method='fcg'/'gmres'")
        self.rtol, self.atol, self.maxiter, self.monitor = float(rtol), float(atol), maxiter, monitor
        self.pc: Preconditioner | None = pc
        #: called as ``callback(x)`` after every iteration by the methods with a Python loop (cg, fcg) and
        #: after every restart cycle by gmres; what ``solvers.scipy_api`` uses for SciPy's callbacks
        self.callback: Callable[[np.ndarray], Any] | None = None
        #: seconds the iteration of each solve may take (``None``: no limit). Past it, a method whose loop
        #: tests the stopping rule from Python (cg, fcg, bicgstab, minres, amg at every iterate, gmres at
        #: every restart) stops at the iterate reached with ``DIVERGED_ITS``, the result's ``detail`` saying so; the
        #: compiled relaxation loops and the CUDA CG run to their own end. What ``bandits.Tuner(cap=...)``
        #: stops a trial configuration with.
        self.time_limit: float | None = None
        #: the last solve stopped at ``time_limit``
        self.timed_out = False
        #: whether ``monitor`` was already called during the solve (loops that call it live set this)
        self.monitors_live = False
        self.A: Any = None
        self.nullspace_spec = nullspace
        #: the null space resolved in setup(), in the solve's namespace and dtype
        self.nullspace: NullSpace | None = None
        self.grid: GridOperator | None = None
        self.setup_time = 0.0
        #: how many matrices this solver has been set up on (the next one gets this index)
        self.matrix_count = 0
        #: index (in this solver's sequence of set-ups, 0 = the first) of the matrix the pc was set up on
        self.pc_built_at: int | None = None
        self._pc_n = -1

    # -- to override -------------------------------------------------------------------------
    def _check_options(self) -> None:
        """Validate ``self.options``; raise InvalidInputError."""

    def _setup(self) -> None:
        """Expensive, reusable work on ``self.A``."""

    def _solve(self, b: np.ndarray, x: np.ndarray, stop: StoppingRule) -> tuple[np.ndarray, int, Any]:
        """Iterate on ``x`` until ``stop`` says so; returns ``(x, Status, residual history)``."""
        raise NotImplementedError

    # -- the protocol ------------------------------------------------------------------------
    _UNSET: ClassVar[Any] = object()

    @with_single_blas_thread
    def setup(self, A: Any, *, nullspace: Any = _UNSET, pc_reuse: str | None = None) -> "Method":
        """Check ``A`` and do the reusable work (factorizations, hierarchies, splittings).

        ``nullspace``, when given, replaces the constructor's (see the class's parameters) from this
        matrix on. ``pc_reuse`` (``"rebuild"``, ``"keep"``, ``"refresh"``), when given, replaces the
        constructor's for this matrix: with ``"keep"`` the preconditioner set up on an earlier matrix is
        kept (a first set-up, or a matrix of another size, builds it). Returns ``self`` so that
        ``make_solver(...).setup(A).solve(b)`` reads naturally.
        """
        mode = self.pc_reuse if pc_reuse is None else _check_pc_reuse(pc_reuse)
        if nullspace is not Method._UNSET:
            self.nullspace_spec = nullspace
        t0 = time.perf_counter()
        components = [self] if self.pc is None else [self, self.pc]
        allow_op = not any(c.needs_matrix for c in components)
        gpu = is_gpu_matrix(A)
        if gpu:
            for c in components:
                if "cupy" not in c.backends:
                    raise InvalidInputError(f"{c.name!r} runs on backends {', '.join(c.backends)}, not on the GPU; "
                                            "use A.get() for the host, or a component that lists 'cupy'")
        self.grid = A if isinstance(A, GridOperator) else A.grid if isinstance(A, DeviceGrid) else None
        self.A = as_matrix(A, allow_operator=allow_op, allow_gpu=gpu)
        self.backend = "cupy" if gpu else "numpy"
        self.n = self.A.shape[0]
        self.dtype = float_dtype(self.A) or np.dtype(np.float64)
        self.check_dtype(self.dtype, "method")
        self.is_csr = sp.issparse(self.A)
        if self.is_csr:
            self.kern = kernels.for_size(self.A.nnz)
        if (self.is_csr or gpu) and (self.spd_only or self.symmetric_only):
            _check_symmetric(self.A, self.name, definite=self.spd_only)
        self.nullspace = resolve(self.nullspace_spec, self.A, self.dtype)
        if self.nullspace is not None:
            if gpu:
                import cupy

                self.nullspace = self.nullspace.to(cupy, self.dtype)
            log.info("%s: A is singular, null space %s", self.name, self.nullspace.describe())
        index = self.matrix_count
        self.matrix_count += 1
        if self.pc is not None:
            built = self.pc_built_at is not None and self._pc_n == self.n
            if not (mode == "keep" and built):
                pc_input = A if self.pc.wants_grid else self.A  # a learned pc gets the GridOperator itself
                try:
                    if mode == "refresh" and built:
                        self.pc.resetup(pc_input)
                    else:
                        self.pc.setup(pc_input)
                except SolverError:
                    raise
                except Exception as exc:  # a library failure inside a preconditioner: say which one
                    raise SolverError(f"preconditioner {self.pc.name!r} failed in setup: {exc}") from exc
                self.pc_built_at, self._pc_n = index, self.n
        self._setup()
        self.setup_time = time.perf_counter() - t0
        return self

    @with_single_blas_thread
    def solve(self, b: Any, x0: Any = None, *, rtol: float | None = None, atol: float | None = None,
              maxiter: int | None = None, backend: str = "auto") -> SolveResult:
        """Solve ``A x = b`` from ``x0`` (default zero) with the set-up done by :meth:`setup` (NumPy's
        OpenBLAS on one thread meanwhile: see ``solvers.threads``)."""
        if self.A is None:
            raise SolverError(f"{self.name}: call setup(A) before solve(b)")
        rtol = self.rtol if rtol is None else rtol
        atol = self.atol if atol is None else atol
        maxiter = self.maxiter if maxiter is None else maxiter
        check_tolerances(rtol, atol, maxiter)
        maxiter = DEFAULT_MAXITER if maxiter is None else int(maxiter)
        resolve_backend(backend, b, self.backends, self.name)
        if backend_of(b) != self.backend:
            raise InvalidInputError(f"{self.name} was set up with a matrix on {self.backend!r} and b lives on "
                                    f"{backend_of(b)!r}; move one of them (solverkit never copies inside a solve)")
        b = check_rhs(b, self.n)
        x = check_guess(x0, b)
        out_dtype = working_dtype(b.dtype, self.dtype)  # b's precision, complex if A or b is
        if out_dtype.kind == "c" and self.dtype.kind != "c":
            self._promote_to_complex(out_dtype)
        if b.dtype != self.dtype:  # solve in the matrix's precision, return b's dtype
            b = b.astype(self.dtype)
            x = x.astype(self.dtype)
        xp = array_namespace(b)
        # where b's entries are so small or large that a sum of their squares under- or overflows, solve
        # for x / s with b / s (s = max |b_i|): the residual norms and the tolerance stay representable
        scale = rhs_scale(b, self.dtype)
        if scale != 1.0:
            b, x = b / scale, x / scale
        b_norm = float(xp.linalg.norm(b))
        tol = max(rtol * b_norm, atol / scale)
        t0 = time.perf_counter()
        self.monitors_live = False
        self.timed_out = False
        self.solve_detail = ""  # a method may say more about how its solve ended
        deadline = None if self.time_limit is None else t0 + float(self.time_limit)
        callback, inner = self.callback, getattr(self, "inner_callback", None)
        if scale != 1.0:  # callbacks see the user's units
            if callback is not None:
                self.callback = lambda x_: callback(x_ * scale)
            if inner is not None:
                self.inner_callback = lambda est: inner(est * scale)
        try:
            x, reason, hist, detail = self._dispatch(b, x, b_norm, tol, maxiter, deadline)
        finally:
            self.callback = callback
            if inner is not None:
                self.inner_callback = inner
        solve_time = time.perf_counter() - t0
        if self.timed_out:
            detail = (f"stopped at its time limit ({self.time_limit:.3g} s) after {len(hist) - 1} iterations, "
                      "short of the tolerance")
        hist = np.asarray(hist, dtype=np.float64)
        if reason.converged and reason != Reason.CONVERGED_ITS:
            reason = Reason.CONVERGED_RTOL if b_norm > 0 and hist[-1] <= rtol * b_norm else Reason.CONVERGED_ATOL
        if scale != 1.0:
            x, hist, b_norm = x * scale, hist * scale, b_norm * scale
        if self.monitor is not None and not self.monitors_live:
            for k, rn in enumerate(hist):
                self.monitor(k, float(rn))
        return SolveResult(x=x.astype(out_dtype, copy=False), reason=reason, iterations=len(hist) - 1,
                           residual_norms=hist, setup_time=self.setup_time, solve_time=solve_time,
                           method=self.name, options=self.used_options(), b_norm=b_norm,
                           nullspace=None if self.nullspace is None else self.nullspace.describe(),
                           detail=detail or self.solve_detail,
                           pc_built_at=self.pc_built_at if self.pc is not None else None,
                           pc_age=self.matrix_count - 1 - self.pc_built_at if self.pc_built_at is not None and
                           self.pc is not None else 0)

    def _dispatch(self, b: Any, x: Any, b_norm: float, tol: float, maxiter: int,
                  deadline: float | None) -> tuple[Any, Reason, Any, str]:
        """The solve proper, on ``b`` and ``x`` as :meth:`solve` prepared them: ``(x, reason, history,
        detail)``. ``b = 0``: ``x = 0``, whatever the initial guess (the exact solution, of minimum norm
        where A is singular; SciPy returns the same)."""
        detail = ""
        if b_norm == 0.0:
            x, reason, hist = array_namespace(x).zeros_like(x), Reason.CONVERGED_ATOL, [0.0]
        elif self.nullspace is not None:
            x, status, hist, detail = self._solve_singular(b, x, b_norm, tol, maxiter, deadline)
            reason = to_reason(status)
        else:
            stop = StoppingRule(tol, maxiter, lambda x_, r_: self.residual(b, x_, r_), deadline)
            x, status, hist = self._solve(b, x, stop)
            self.timed_out = stop.timed_out and status == Status.MAXITER
            reason = to_reason(status)
        return x, reason, hist, detail

    def _solve_singular(self, b: Any, x: Any, b_norm: float, tol: float, maxiter: int,
                        deadline: float | None = None) -> tuple[Any, int, Any, str]:
        """Solve with ``self.nullspace``: stop on an inconsistent ``b``, else solve the projected system.

        With ``c = ||N N^T b||`` and ``r'`` the residual of the projected system, the residual of the
        original system is ``r' + N N^T b``, two orthogonal parts (``r'`` lies in the range); so the
        projected system is solved to ``sqrt(tol^2 - c^2)`` and every reported norm is
        ``sqrt(||r'||^2 + c^2)``, the last one recomputed as ``||b - A x||`` for the returned ``x``.
        """
        ns = self.nullspace
        xp = array_namespace(b)
        r = xp.empty_like(b)
        c = ns.component(b)
        if c > tol:
            return x, Status.INCONSISTENT, [self.residual(b, x, r)], inconsistency_message(c, b_norm, ns)
        b_in = ns.project(b)
        stop = StoppingRule(np.sqrt(tol * tol - c * c), maxiter, lambda x_, r_: self.residual(b_in, x_, r_),
                            deadline)
        x, status, hist = self._solve(b_in, x, stop)
        self.timed_out = stop.timed_out and status == Status.MAXITER
        x = ns.project(x)  # the minimum-norm solution: no part in the null space
        hist = np.sqrt(np.asarray(hist, dtype=np.float64) ** 2 + c * c)
        hist[-1] = self.residual(b, x, r)
        if status == Status.CONVERGED and not hist[-1] <= tol:  # rounding of the projection: say so
            status = Status.SINGULAR
        return x, status, hist, ""

    def _promote_to_complex(self, dtype: np.dtype) -> None:
        """A complex ``b`` after a set-up on a real matrix: redo the set-up on the matrix made complex (as
        SciPy promotes A and b to their common type); a ``LinearOperator`` computes in complex as it is."""
        dtype = np.result_type(self.dtype, dtype)
        log.info("%s: complex b with a real matrix; setting up again in %s", self.name, dtype)
        if self.is_csr or is_gpu_matrix(self.A):
            self.setup(self.A.astype(dtype))
        else:
            self.dtype = dtype

    def used_options(self) -> dict[str, Any]:
        """The option values this solve used (the method's, then the preconditioner's)."""
        opts = dict(self.options)
        if self.pc is not None:
            opts["pc"] = self.pc.name
            opts.update(self.pc.options)
        return opts

    # -- helpers for subclasses --------------------------------------------------------------
    def residual(self, b: np.ndarray, x: np.ndarray, r: np.ndarray) -> float:
        """``r = b - A x``; returns ``||r||_2``."""
        if self.is_csr:
            A = self.A
            return float(np.sqrt(self.kern.residual(A.indptr, A.indices, A.data, x, b, r)))
        r[:] = b - self.A @ x
        return float(array_namespace(r).linalg.norm(r))

    def matvec(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        if self.is_csr:
            A = self.A
            self.kern.spmv(A.indptr, A.indices, A.data, x, out)
        else:
            out[:] = self.A @ x
        return out

    def apply_pc(self, r: np.ndarray) -> np.ndarray:
        """``z = M r``, projected onto the range when the matrix has a null space (so that Krylov
        methods iterate in the range whatever the preconditioner adds along the null space)."""
        z = r if self.pc is None else self.pc.apply(r)
        return z if self.nullspace is None else self.nullspace.project(z)

    def project(self, v: np.ndarray) -> np.ndarray:
        """``v`` without its part in the null space (``v`` itself when there is none)."""
        return v if self.nullspace is None else self.nullspace.project(v)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        pc = f", pc={self.pc.name!r}" if self.pc is not None else ""
        return f"{type(self).__name__}({opts}{pc})"


PC_REUSE = ("rebuild", "keep", "refresh")


def _check_pc_reuse(mode: Any) -> str:
    if mode not in PC_REUSE:
        raise InvalidInputError(f"pc_reuse must be one of {', '.join(map(repr, PC_REUSE))}, got {mode!r}")
    return mode


def host_matrix(A: Any) -> sp.csr_matrix:
    """The host copy of a (possibly GPU) matrix, for set-up work done on the CPU."""
    return A.get() if is_gpu_matrix(A) else A


def _check_symmetric(A: sp.csr_matrix, method: str, definite: bool = True) -> None:
    """Refuse a clearly nonsymmetric (complex: non-Hermitian) matrix for a method that needs one.

    A probe with two random vectors, ``y^H (A x)`` against ``conj(x^H (A y))``, costs two threaded
    products, far less than forming ``A - A^H``; it misses an asymmetry with probability zero. For complex
    A the vectors are complex, so a complex symmetric (``A = A^T``) matrix that is not Hermitian is refused.
    """
    rng = np.random.default_rng(12345)
    n = A.shape[0]
    x = rng.standard_normal(n)
    y = rng.standard_normal(n)
    if np.issubdtype(A.dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(n)
        y = y + 1j * rng.standard_normal(n)
    x, y = x.astype(A.dtype), y.astype(A.dtype)
    if sp.issparse(A):
        kern = kernels.for_size(A.nnz)
        ax, ay = np.empty_like(x), np.empty_like(y)
        kern.spmv(A.indptr, A.indices, A.data, x, ax)
        kern.spmv(A.indptr, A.indices, A.data, y, ay)
    else:  # a GPU matrix: the same probe on the device
        import cupy

        x, y = cupy.asarray(x), cupy.asarray(y)
        ax, ay = A @ x, A @ y
    xp = array_namespace(x)
    # products of A's scale: bring them to order 1 first, so that the sums of squares and products below
    # neither underflow (A * 1e-200) nor overflow
    big = max(float(xp.max(xp.abs(ax))), float(xp.max(xp.abs(ay))))
    if big == 0.0:
        return  # A x = A y = 0: the zero matrix, symmetric
    ax, ay = ax / big, ay / big
    gap = abs(complex(xp.vdot(y, ax)) - complex(xp.vdot(x, ay)).conjugate())
    scale = float(xp.linalg.norm(y) * xp.linalg.norm(ax) + xp.linalg.norm(x) * xp.linalg.norm(ay))
    eps = float(np.finfo(A.dtype).eps)
    # gap / scale estimates ||A - A^H||_F / (2 sqrt(n) ||A||_F): refuse a relative asymmetry above about
    # 2e-6 only (rounding, or entries written with 8 digits, pass; SciPy and PETSc check nothing)
    if gap > max(1e3 * eps * np.sqrt(A.shape[0]), 1e-6 / np.sqrt(A.shape[0])) * scale:
        complex_ = np.issubdtype(A.dtype, np.complexfloating)
        need = ("a Hermitian" if complex_ else "a symmetric") + (" positive definite" if definite else "")
        what = "Hermitian (A^H = A)" if complex_ else "symmetric"
        raise InvalidInputError(f"{method} needs {need} matrix and A is not {what} "
                                f"(|y^H A x - conj(x^H A y)| / scale = {gap / scale:.2g}); "
                                "use method='gmres' or 'bicgstab'")
