"""`solve()` and `make_solver()`: the front door."""
from __future__ import annotations

import difflib
from typing import Any

import numpy as np

from . import registry
from .errors import InvalidInputError
from .grid import GridOperator
from .inputs import float_dtype, unwrap_problem, working_dtype
from .options import parse_options
from .preconditioners.base import as_preconditioner
from .result import SolveResult

__all__ = ["solve", "make_solver"]

_GENERIC = ("rtol", "atol", "maxiter", "monitor", "nullspace", "pc_reuse")


def make_solver(method: str = "cg", *, pc: Any = None, **options: Any) -> Any:
    """Build a method (and its preconditioner) from registered names, without a matrix yet.

    Options are routed by name: the method's own hyper-parameters and ``rtol``/``atol``/``maxiter``/
    ``monitor``/``nullspace`` go to the method, the preconditioner's (``omega``, ``its``, ``amg_type`` ...) to the
    preconditioner. ``options=`` (or ``method``) may be a PETSc-style string.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(100, 100), format="csr")
    >>> s = solvers.make_solver("cg", pc="ssor", omega=1.6).setup(A)
    >>> first = s.solve(np.ones(100))
    >>> again = s.solve(np.ones(100), x0=first.x)   # reuses the set-up; starts converged
    >>> first.converged, again.iterations
    (True, 0)
    """
    method, pc, options = _merge_option_string(method, pc, options)
    factory = registry.get("method", method)
    pc_obj = None
    pc_options: dict[str, Any] = {}
    method_options: dict[str, Any] = {}
    pc_factory = None
    if isinstance(pc, str):
        pc_factory = registry.get("pc", pc)
    for key, value in options.items():
        if key in _GENERIC or key in factory.defaults:
            method_options[key] = value
        elif pc_factory is not None and key in pc_factory.defaults:
            pc_options[key] = value
        else:
            known = set(_GENERIC) | set(factory.defaults) | set(pc_factory.defaults if pc_factory else ())
            close = difflib.get_close_matches(key, sorted(known), n=2)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            owner = f"method {method!r}" + (f" with pc {pc!r}" if pc_factory else "")
            raise InvalidInputError(f"unknown option {key!r} for {owner}.{hint} Known: {', '.join(sorted(known))}")
    if pc_factory is not None:
        pc_obj = pc_factory(**pc_options)
    elif pc is not None:
        pc_obj = as_preconditioner(pc)
    return factory(pc=pc_obj, **method_options)


def _merge_option_string(method: str, pc: Any, options: dict[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    text = options.pop("options", None)
    if isinstance(method, str) and method.lstrip().startswith("-"):
        text, method = method if text is None else f"{method} {text}", "cg"
    if text is not None:
        if not isinstance(text, str):
            raise InvalidInputError("options= must be a PETSc-style string such as '-ksp_type cg -pc_type amg'")
        parsed = parse_options(text)
        method = parsed.pop("method", method)
        pc = parsed.pop("pc", pc)
        options = {**options, **parsed}  # as in PETSc, the options database wins over code
    if not isinstance(method, str):
        raise InvalidInputError(f"method must be a registered name, got {method!r}")
    return method, pc, options


def solve(A: Any, b: Any, method: str = "cg", *, pc: Any = None, x0: Any = None, rtol: float = 1e-8,
          atol: float = 0.0, maxiter: int | None = None, backend: str = "auto", monitor: Any = None,
          nullspace: Any = "auto", **options: Any) -> SolveResult:
    """Solve ``A x = b`` with a registered method.

    Parameters
    ----------
    A : sparse matrix, ndarray, LinearOperator, GridOperator or pde_examples.Problem
    b : array of shape (n,), float64, float32, complex128 or complex64 (``x`` has ``b``'s dtype, complex
        when ``A`` is)
    method : str
        Registered method name (``solvers.available("method")``), or a PETSc-style option string.
    pc : str or object, optional
        Registered preconditioner name, or an object with ``setup(A)`` and ``apply(r)``.
    x0 : array, optional
        Initial guess (default zero).
    rtol, atol : float
        Stop when ``||b - A x||_2 <= max(rtol ||b||_2, atol)`` (true residual).
    maxiter : int, optional
        Iteration limit; reaching it gives ``Reason.DIVERGED_ITS`` with the last iterate.
    backend : {"auto", "numpy", "cupy", "petsc"}
        ``auto`` follows where ``b`` lives; ``petsc`` runs the solve as a PETSc KSP (extra ``petsc``,
        see :func:`solvers.petsc.ksp.solve_petsc`).
    monitor : callable ``monitor(iteration, residual_norm)``, optional
    nullspace : "auto", None, "constant", or array of shape (n,) or (n, k)
        ``A``'s null space (see :mod:`solvers.nullspace`). ``"auto"`` (default): a ``Problem``'s own
        ``nullspace``, else the constants when ``A``'s rows and columns sum to zero, and isolated
        unknowns (zero row and column); ``None``: none. With one, ``b`` and the iterates are
        projected, ``x`` is the minimum-norm solution, and a ``b`` with a component above the
        tolerance in the null space stops at once with ``Reason.DIVERGED_NULL`` and a
        ``result.message`` that gives its size (``result.nullspace`` says which null space was used).
    **options
        Hyper-parameters of the method or preconditioner (``omega=1.5``, ``restart=50``, ...), or
        ``options="-ksp_type cg -pc_type sor -pc_sor_omega 1.5"``.

    Returns
    -------
    SolveResult

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> import solvers
    >>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(20, 20))
    >>> A = (sp.kron(sp.eye(20), T) + sp.kron(T, sp.eye(20))).tocsr()
    >>> res = solvers.solve(A, np.ones(400), method="cg", pc="amg", rtol=1e-10)
    >>> res.converged, res.relative_residual <= 1e-10
    (True, True)
    >>> solvers.solve(A, np.ones(400), "-ksp_type gmres -pc_type ilu").converged
    True

    A singular system: the pure-Neumann Laplacian (rows and columns sum to zero) has the constants as
    null space, detected; a ``b`` with a nonzero sum is inconsistent:

    >>> N = (T - sp.diags([1.0] + [0.0] * 18 + [1.0])).tocsr()     # 1-D, zero-flux ends
    >>> bad = solvers.solve(N, np.ones(20), method="cg")
    >>> bad.reason.name, bad.nullspace, bad.message.split(":")[0]
    ('DIVERGED_NULL', 'detected constant', 'b has a component 1 * ||b|| in the null space of A (detected constant)')
    >>> good = solvers.solve(N, np.arange(20.0) - 9.5, method="cg")
    >>> good.converged, bool(abs(good.x.sum()) < 1e-10)               # the minimum-norm solution
    (True, True)
    """
    if backend == "petsc":
        from .petsc.ksp import solve_petsc

        method, pc, options = _merge_option_string_for_petsc(method, pc, options)
        ns = _petsc_nullspace(A, nullspace)
        if ns is not None:  # solve_petsc(nullspace=None) is its default: leave it out for nonsingular A
            options["nullspace"] = ns
        return solve_petsc(A, b, method, pc, x0=x0, rtol=rtol, atol=atol, maxiter=maxiter, monitor=monitor,
                           **options)
    matrix, _grid = unwrap_problem(A)
    nullspace = _problem_nullspace(A, nullspace)
    if not (isinstance(nullspace, str) and nullspace == "auto"):  # "auto" is every Method's default already
        options["nullspace"] = nullspace
    solver = make_solver(method, pc=pc, rtol=rtol, atol=atol, maxiter=maxiter, monitor=monitor, **options)
    b_dtype, a_dtype = float_dtype(b), float_dtype(matrix)
    if b_dtype is not None and a_dtype is not None and a_dtype != b_dtype and hasattr(matrix, "astype"):
        # x takes b's dtype (complex when A is): work in b's precision, promoted as SciPy promotes
        matrix = matrix.astype(working_dtype(b_dtype, a_dtype))
    if _grid is not None and (solver.wants_grid or (solver.pc is not None and solver.pc.wants_grid)):
        matrix = _grid
    matrix = _place(matrix, b, backend, solver)
    solver.setup(matrix)
    return solver.solve(b, x0=x0, backend=backend)


def _problem_nullspace(A: Any, nullspace: Any) -> Any:
    """With ``"auto"``, a ``Problem`` that knows its null space gives it."""
    if isinstance(nullspace, str) and nullspace == "auto":
        own = getattr(A, "nullspace", None) if unwrap_problem(A)[0] is not A else None
        if own is not None:
            return own
    return nullspace


def _petsc_nullspace(A: Any, nullspace: Any) -> Any:
    """What ``solve_petsc`` takes: ``None``, ``"constant"`` or an (n, k) basis; ``"auto"`` resolved here."""
    from .inputs import as_matrix
    from .nullspace import resolve

    nullspace = _problem_nullspace(A, nullspace)
    if isinstance(nullspace, str) and nullspace == "auto":
        if type(A).__module__.split(".")[0] == "petsc4py":  # a PETSc Mat keeps its own (MatSetNullSpace)
            return None
        ns = resolve("auto", as_matrix(A))
        return None if ns is None else ns.basis
    return nullspace


def _merge_option_string_for_petsc(method: str, pc: Any, options: dict[str, Any]) -> tuple[str, Any, dict]:
    """With backend='petsc' an option string goes to PETSc's database as is; only -ksp_type/-pc_type are
    read here (mapped back to our names) so that the rest of the string reaches PETSc untouched."""
    if isinstance(method, str) and method.lstrip().startswith("-"):
        text = method if options.get("options") is None else f"{method} {options['options']}"
        options = {**options, "options": text}
        method = "cg"
    return method, pc, options


def _place(matrix: Any, b: Any, backend: str, solver: Any) -> Any:
    """With ``b`` on the GPU (or ``backend="cupy"``) and a host matrix, copy the matrix to the GPU once,
    before the set-up; never inside an iteration."""
    from .backends import backend_of
    from .inputs import as_matrix, is_gpu_matrix

    wants_gpu = backend == "cupy" or (backend == "auto" and backend_of(b) == "cupy")
    if not wants_gpu or is_gpu_matrix(matrix):
        return matrix
    if "cupy" not in solver.backends:
        raise InvalidInputError(f"{solver.name!r} does not run on the GPU; its backends are "
                                f"{', '.join(solver.backends)}")
    if isinstance(matrix, GridOperator):  # the grid travels beside the device matrix, for the learned pcs
        from .gpu.grid import DeviceGrid

        return DeviceGrid(matrix)
    import cupyx.scipy.sparse as csp

    return csp.csr_matrix(as_matrix(matrix))
