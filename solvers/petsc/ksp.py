"""``solve(..., backend="petsc")``: one KSP solve, returned as a :class:`solvers.SolveResult`."""
from __future__ import annotations

import itertools
import logging
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ..errors import InvalidInputError
from ..inputs import as_matrix, check_guess, check_rhs, check_tolerances, unwrap_problem
from ..component import Component, Option
from ..registry import register
from ..result import Reason, SolveResult
from ._lib import petsc
from .mapping import ksp_options, parse_petsc_string

__all__ = ["solve_petsc", "PetscKSP", "to_petsc_mat"]

log = logging.getLogger(__name__)
_PREFIXES = itertools.count()
#: iteration limit when none is given (PETSc's own default)
DEFAULT_MAX_IT = 10000


def to_petsc_mat(A: Any, comm: Any = None) -> Any:
    """A sequential AIJ matrix from anything :func:`solvers.inputs.as_matrix` accepts (a PETSc Mat passes)."""
    PETSc = petsc()
    if isinstance(A, PETSc.Mat):
        return A
    csr = sp.csr_matrix(as_matrix(unwrap_problem(A)[0]), dtype=np.float64)
    csr.sort_indices()
    return PETSc.Mat().createAIJ(size=csr.shape, csr=(csr.indptr.astype(PETSc.IntType),
                                                      csr.indices.astype(PETSc.IntType), csr.data),
                                 comm=comm or PETSc.COMM_SELF)


def solve_petsc(A: Any, b: Any, method: str = "cg", pc: str | None = None, *, x0: Any = None, rtol: float = 1e-8,
                atol: float = 0.0, maxiter: int | None = None, monitor: Callable[[int, float], Any] | None = None,
                options: str | None = None, nullspace: Any = None, **method_options: Any) -> SolveResult:
    """Solve ``A x = b`` with a PETSc KSP chosen by our names.

    ``method`` maps to a KSP type (cg, fcg, gmres; jacobi/gauss-seidel/sor/ssor as Richardson around
    PCJACOBI/PCSOR; direct as preonly+LU), ``pc`` to a PC type (jacobi, sor, ssor, ilu, ic -> icc,
    amg -> gamg, hypre where the build has it); any other registered preconditioner runs inside PETSc
    through :class:`solvers.petsc.RegistryPC`. ``options`` is a PETSc string passed to the options
    database as is (under a private prefix), and wins over the keywords. The convergence test is
    PETSc's, set to our rule: unpreconditioned residual norm, ``||r|| <= max(rtol ||b||, atol)``; the
    true residual ``||b - A x||`` is checked afterwards, and a solve that PETSc calls converged but whose
    true residual is above the tolerance is reported as ``Reason.DIVERGED_NULL`` (singular matrix,
    inconsistent ``b``), never as converged.

    A null space (symmetric singular ``A``, e.g. a pure-Neumann Laplacian) is handed to PETSc with
    ``MatSetNullSpace``: Krylov methods then work in its complement. ``b``'s component in the null space
    is removed before the solve (as PETSc advises) and its size reported in
    ``options["rhs_outside_range"]`` (relative to ``||b||``); an inconsistent ``b`` whose component is
    above the tolerance ends in ``DIVERGED_NULL``. ``x`` is returned without null-space component.
    Everything created here (KSP, null space, vectors, the matrix converted from SciPy) is destroyed
    before returning; a PETSc ``Mat`` or ``Vec`` passed in is left as it was (its null space too).

    Parameters
    ----------
    A : scipy.sparse matrix, ndarray, Problem, or petsc4py ``Mat``
    b : ndarray or petsc4py ``Vec``
    method, pc : str
    x0 : ndarray, optional
    rtol, atol, maxiter : stopping rule (maxiter defaults to PETSc's 10000)
    monitor : callable ``monitor(iteration, residual_norm)``
    options : str, optional
        Raw PETSc options, e.g. ``"-pc_gamg_threshold 0.05"``.
    nullspace : None, "constant", or array of shape (n, k), optional
        ``"constant"``: the constant vector spans the null space (rows sum to zero); an array: its
        columns span it (orthonormalized here; they must satisfy ``A v = 0`` to rounding, else
        :class:`~solvers.errors.InvalidInputError`).

    Returns
    -------
    SolveResult
        ``reason`` is PETSc's ``KSPConvergedReason``, number for number; ``residual_norms`` is the KSP's
        convergence history; ``options`` holds the PETSc options used and the KSP/PC types.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, solvers
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    >>> res = solvers.solve(A, np.ones(50), method="cg", pc="ic", backend="petsc")  # doctest: +SKIP
    >>> res.reason.name, res.options["pc_type"]  # doctest: +SKIP
    ('CONVERGED_RTOL', 'icc')

    A pure-Neumann Laplacian (rows sum to zero) with a consistent right-hand side:

    >>> L = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50)).tolil()
    >>> L[0, 0] = L[49, 49] = 1.0
    >>> b = np.sin(np.linspace(0, 2 * np.pi, 50)); b -= b.mean()
    >>> res = solvers.solve(L.tocsr(), b, "cg", backend="petsc", nullspace="constant")  # doctest: +SKIP
    >>> res.converged, abs(res.x.mean()) < 1e-12  # doctest: +SKIP
    (True, True)
    """
    check_tolerances(rtol, atol, maxiter)
    if method == "petsc-ksp":
        settings = {"ksp_type": method_options.pop("ksp_type", "cg"), "pc_type": method_options.pop("pc_type", "none")}
        if method_options:
            raise InvalidInputError(f"petsc-ksp takes ksp_type, pc_type and options='...'; got {sorted(method_options)}")
    else:
        settings = ksp_options(method, pc, dict(method_options))
    if options:
        settings.update(parse_petsc_string(options))
    if settings.get("ksp_type") == "gmres" and "ksp_pc_side" not in settings:
        settings["ksp_pc_side"] = "right"  # so that the test sees the true residual, as everywhere else
    if settings.get("ksp_type") not in ("preonly",) and "ksp_norm_type" not in settings:
        settings["ksp_norm_type"] = "unpreconditioned"
    return _run_ksp(A, b, x0, rtol, atol, maxiter, monitor, settings, method, nullspace)


def _run_ksp(A: Any, b: Any, x0: Any, rtol: float, atol: float, maxiter: int | None,
             monitor: Callable[[int, float], Any] | None, settings: dict[str, Any], method: str,
             nullspace: Any = None) -> SolveResult:
    PETSc = petsc()
    owned: list[Any] = []  # what this call creates, destroyed before it returns
    try:
        return _solve_with(PETSc, owned, A, b, x0, rtol, atol, maxiter, monitor, settings, method, nullspace)
    finally:
        for obj in reversed(owned):
            obj.destroy()


def _solve_with(PETSc: Any, owned: list[Any], A: Any, b: Any, x0: Any, rtol: float, atol: float,
                maxiter: int | None, monitor: Callable[[int, float], Any] | None, settings: dict[str, Any],
                method: str, nullspace: Any) -> SolveResult:
    mat = to_petsc_mat(A)
    if mat is not A:
        owned.append(mat)
    n_rows, n_cols = mat.getSize()
    if n_rows != n_cols:
        raise InvalidInputError(f"A must be square, got shape {(n_rows, n_cols)}")
    b_given, b_host = _rhs_vec(PETSc, mat, b)
    if b_given is not b:
        owned.append(b_given)
    ns = _make_nullspace(PETSc, mat, nullspace, owned)
    bvec = b_given
    if ns is not None:  # solve with b's null-space component removed, never touching the caller's b
        bvec = b_given.copy()
        owned.append(bvec)
        ns.remove(bvec)
    xvec = bvec.duplicate()
    owned.append(xvec)
    if x0 is not None:
        xvec.getArray()[:] = check_guess(x0, b_host)
    else:
        xvec.set(0.0)
    prefix = f"solverkit{next(_PREFIXES)}_"
    db = PETSc.Options()
    for key, value in settings.items():
        db.setValue(prefix + key, "" if value is None else value)
    max_it = int(maxiter) if maxiter is not None else DEFAULT_MAX_IT
    ksp = PETSc.KSP().create(comm=mat.getComm())
    previous_ns = mat.getNullSpace() if ns is not None else None
    if previous_ns is not None:
        owned.append(previous_ns)  # getNullSpace took a reference; destroy() gives it back
    try:
        if ns is not None:
            mat.setNullSpace(ns)
        ksp.setOptionsPrefix(prefix)
        ksp.setOperators(mat)
        ksp.setTolerances(rtol=rtol, atol=atol, max_it=max_it, divtol=1e5)
        ksp.setFromOptions()
        ksp.setInitialGuessNonzero(x0 is not None)
        ksp.setConvergenceHistory(length=max_it + 2)
        if monitor is not None:
            ksp.setMonitor(lambda _ksp, its, rnorm: monitor(int(its), float(rnorm)))
        elif ksp.getType() == "richardson":
            # With no monitor, Richardson+SOR takes PCApplyRichardson's fast path, which runs max_it sweeps
            # without a convergence test; any monitor turns the test back on.
            ksp.setMonitor(lambda _ksp, its, rnorm: None)
        t0 = time.perf_counter()
        ksp.setUp()
        t1 = time.perf_counter()
        ksp.solve(bvec, xvec)
        t2 = time.perf_counter()
        reason = Reason(int(ksp.getConvergedReason()))
        its = int(ksp.getIterationNumber())
        history = np.array(ksp.getConvergenceHistory(), dtype=np.float64)
        used = {**settings, "ksp_type": ksp.getType(), "pc_type": ksp.getPC().getType()}
        if ns is not None:
            ns.remove(xvec)
        x = xvec.getArray().copy()
    finally:
        ksp.destroy()
        if ns is not None:
            mat.setNullSpace(previous_ns)  # a caller's Mat keeps the null space it had (none: NULL)
        for key in settings:
            db.delValue(prefix + key)
    b_norm = float(b_given.norm())
    true = _true_residual(mat, b_given, xvec)
    if history.size == 0:  # preonly: no history; report the true residual of the one application
        history = np.array([b_norm, true])
        its = 1
    if ns is not None:
        outside = _norm_of_difference(b_given, bvec)
        k = np.shape(nullspace)[1] if np.ndim(nullspace) == 2 else 1
        used["nullspace"] = "constant" if isinstance(nullspace, str) else f"basis of {k}"
        used["rhs_outside_range"] = outside / b_norm if b_norm > 0 else outside
    limit = max(rtol * b_norm, atol)
    if reason.converged and true > limit:
        log.warning("PETSc reports %s but the true residual ||b - A x|| = %.3e is above the tolerance %.3e%s; "
                    "reported as DIVERGED_NULL", reason.name, true, limit,
                    f" (b's component in the null space: {used['rhs_outside_range']:.3e} of ||b||, inconsistent b)"
                    if ns is not None else "")
        reason = Reason.DIVERGED_NULL
    x = x.astype(b_host.dtype, copy=False)
    return SolveResult(x=x, reason=reason, iterations=its, residual_norms=history, setup_time=t1 - t0,
                       solve_time=t2 - t1, method=f"petsc:{method}", options=used, b_norm=b_norm)


def _rhs_vec(PETSc: Any, mat: Any, b: Any) -> tuple[Any, np.ndarray]:
    if isinstance(b, PETSc.Vec):
        if b.getSize() != mat.getSize()[0]:
            raise InvalidInputError(f"b has {b.getSize()} entries but A has {mat.getSize()[0]} rows")
        return b, b.getArray(readonly=True)
    b_host = check_rhs(b, mat.getSize()[0])
    if not isinstance(b_host, np.ndarray):
        raise InvalidInputError("backend='petsc' takes b on the host (numpy) or as a PETSc Vec")
    vec = mat.createVecLeft()
    vec.getArray()[:] = b_host
    return vec, b_host


def _true_residual(mat: Any, bvec: Any, xvec: Any) -> float:
    r = bvec.duplicate()
    try:
        mat.mult(xvec, r)
        r.aypx(-1.0, bvec)
        return float(r.norm())
    finally:
        r.destroy()


def _norm_of_difference(u: Any, v: Any) -> float:
    d = u.copy()
    try:
        d.axpy(-1.0, v)
        return float(d.norm())
    finally:
        d.destroy()


def _make_nullspace(PETSc: Any, mat: Any, nullspace: Any, owned: list[Any]) -> Any:
    """A ``PETSc.NullSpace`` for ``nullspace`` (None, "constant", or an (n, k) basis), checked against ``mat``.

    The basis is orthonormalized (QR), as ``MatNullSpaceCreate`` requires; columns that do not span
    ``k`` dimensions, or that ``A`` does not map to zero (to ``1e-8 ||A||_inf``), are refused.
    """
    if nullspace is None:
        return None
    n = mat.getSize()[0]
    if isinstance(nullspace, str):
        if nullspace != "constant":
            raise InvalidInputError(f"nullspace must be None, 'constant' or an array of shape (n, k); "
                                    f"got {nullspace!r}")
        ns = PETSc.NullSpace().create(constant=True, comm=mat.getComm())
        owned.append(ns)
        basis_vecs: list[Any] = []
        check = mat.createVecRight()
        owned.append(check)
        check.set(1.0 / np.sqrt(n))
        basis_vecs.append(check)
    else:
        basis = np.asarray(nullspace)
        if basis.ndim == 1:
            basis = basis[:, None]
        if basis.ndim != 2 or basis.shape[0] != n or not 1 <= basis.shape[1] < n:
            raise InvalidInputError(f"nullspace must have shape (n, k) with n = {n} and 1 <= k < n; "
                                    f"got shape {np.shape(nullspace)}")
        if not np.issubdtype(basis.dtype, np.number) or np.iscomplexobj(basis):
            raise InvalidInputError(f"nullspace must be a real array; got dtype {basis.dtype}")
        basis = basis.astype(np.float64)
        if not np.all(np.isfinite(basis)):
            raise InvalidInputError("nullspace contains NaN or Inf")
        q, r = np.linalg.qr(basis)
        diag = np.abs(np.diag(r))
        if diag.min() <= 1e-10 * max(diag.max(), np.finfo(float).tiny):
            raise InvalidInputError(f"the {basis.shape[1]} columns of nullspace are linearly dependent")
        lo, hi = mat.getOwnershipRangeColumn()
        basis_vecs = []
        for j in range(q.shape[1]):
            v = mat.createVecRight()
            owned.append(v)
            v.getArray()[:] = q[lo:hi, j]
            basis_vecs.append(v)
        ns = PETSc.NullSpace().create(constant=False, vectors=basis_vecs, comm=mat.getComm())
        owned.append(ns)
    scale = float(mat.norm(PETSc.NormType.INFINITY))
    for j, v in enumerate(basis_vecs):
        worst = _norm_of_image(mat, v)
        if worst > 1e-8 * max(scale, np.finfo(float).tiny):
            what = "the constant vector" if isinstance(nullspace, str) else f"column {j} of nullspace"
            raise InvalidInputError(f"{what} is not in A's null space: ||A v|| = {worst:.3e} for ||v|| = 1 "
                                    f"(||A||_inf = {scale:.3e})")
    return ns


def _norm_of_image(mat: Any, v: Any) -> float:
    w = mat.createVecLeft()
    try:
        mat.mult(v, w)
        return float(w.norm())
    finally:
        w.destroy()


@register("method", "petsc-ksp")
class PetscKSP(Component):
    """Any PETSc KSP/PC pair as a solverkit method: ``solve(A, b, method="petsc-ksp", ksp_type="bcgs",
    pc_type="gamg")``. Needs the extra ``petsc``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, solvers
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    >>> solvers.solve(A, np.ones(50), "petsc-ksp", ksp_type="cg", pc_type="jacobi").converged  # doctest: +SKIP
    True
    """

    name = "petsc-ksp"
    options_table = (Option("ksp_type", "str", "cg", "PETSc KSP type"),
                     Option("pc_type", "str", "none", "PETSc PC type"),
                     Option("options", "str", "", "further PETSc options, '-name value ...'"))
    backends = ("petsc",)
    requires = ("petsc4py",)
    extra = "petsc"
    accepts_pc = False
    symmetric_pc_only = False
    spd_only = False
    iterative = True

    def __init__(self, pc: Any = None, *, rtol: float = 1e-8, atol: float = 0.0, maxiter: int | None = None,
                 monitor: Any = None, **options: Any):
        if pc is not None:
            raise InvalidInputError("petsc-ksp takes pc_type=..., not pc=")
        check_tolerances(rtol, atol, maxiter)
        super().__init__(**options)
        self.kw = {"rtol": rtol, "atol": atol, "maxiter": maxiter, "monitor": monitor}
        self.A: Any = None

    def setup(self, A: Any) -> "PetscKSP":
        self.A = to_petsc_mat(A)
        return self

    def solve(self, b: Any, x0: Any = None, backend: str = "auto") -> SolveResult:
        if self.A is None:
            raise InvalidInputError("call setup(A) before solve(b)")
        opts = dict(self.options)
        return solve_petsc(self.A, b, "petsc-ksp", x0=x0, options=opts.pop("options") or None, **self.kw, **opts)
