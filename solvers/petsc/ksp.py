"""``solve(..., backend="petsc")``: one KSP solve, returned as a :class:`solvers.SolveResult`."""
from __future__ import annotations

import itertools
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
                options: str | None = None, **method_options: Any) -> SolveResult:
    """Solve ``A x = b`` with a PETSc KSP chosen by our names.

    ``method`` maps to a KSP type (cg, fcg, gmres; jacobi/gauss-seidel/sor/ssor as Richardson around
    PCJACOBI/PCSOR; direct as preonly+LU), ``pc`` to a PC type (jacobi, sor, ssor, ilu, ic -> icc,
    amg -> gamg, hypre where the build has it); any other registered preconditioner runs inside PETSc
    through :class:`solvers.petsc.RegistryPC`. ``options`` is a PETSc string passed to the options
    database as is (under a private prefix), and wins over the keywords. The convergence test is
    PETSc's, set to our rule: unpreconditioned residual norm, ``||r|| <= max(rtol ||b||, atol)``.

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
    return _run_ksp(A, b, x0, rtol, atol, maxiter, monitor, settings, method)


def _run_ksp(A: Any, b: Any, x0: Any, rtol: float, atol: float, maxiter: int | None,
             monitor: Callable[[int, float], Any] | None, settings: dict[str, Any], method: str) -> SolveResult:
    PETSc = petsc()
    mat = to_petsc_mat(A)
    n_rows, n_cols = mat.getSize()
    if n_rows != n_cols:
        raise InvalidInputError(f"A must be square, got shape {(n_rows, n_cols)}")
    bvec, b_host = _rhs_vec(PETSc, mat, b)
    xvec = bvec.duplicate()
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
    try:
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
        x = xvec.getArray().copy()
    finally:
        ksp.destroy()
        for key in settings:
            db.delValue(prefix + key)
    if history.size == 0:  # preonly: no history; report the true residual of the one application
        history = np.array([float(np.linalg.norm(b_host)), _true_residual(mat, bvec, xvec)])
        its = 1
    x = x.astype(b_host.dtype, copy=False)
    return SolveResult(x=x, reason=reason, iterations=its, residual_norms=history, setup_time=t1 - t0,
                       solve_time=t2 - t1, method=f"petsc:{method}", options=used, b_norm=float(bvec.norm()))


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
    mat.mult(xvec, r)
    r.aypx(-1.0, bvec)
    return float(r.norm())


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
