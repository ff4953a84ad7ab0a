"""The robustness suite's one invariant and the methods it runs (issue 16).

Every input is either solved or refused with a :class:`~solvers.errors.SolverError` (most often its
subclass ``InvalidInputError``) that says why; anything else raised is a crash. A solve's result obeys

* ``len(residual_norms) == iterations + 1`` and ``residual_norms[-1]`` is the true ``||b - A x||``;
* if ``converged``: ``||b - A x|| <= max(rtol ||b||, atol)`` (1e-6 slack for the rounding of the check).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from solvers import registry
from solvers.combinations import combinations
from solvers.errors import SolverError

#: the preconditioners run with every Krylov method (the rest run in tests/solvers/test_conformance.py)
MAIN_PCS = ("amg", "ic", "ilu", "ssor", "jacobi")


def cases() -> list[tuple[str, str | None]]:
    """Every registered method that runs on a plain matrix with its installed extras (alone), and the
    Krylov methods with the main preconditioners. Run on every matrix, symmetric or not: a method that
    needs symmetry must refuse the others."""
    out = [(m, p) for m, p in combinations(symmetric=True) if p is None or p in MAIN_PCS]
    assert {m for m, _ in out} >= {"cg", "fcg", "gmres", "direct", "amg", "jacobi", "sor"}, out
    return out


def ids(case: tuple[str, str | None]) -> str:
    return case[0] + (f"+{case[1]}" if case[1] else "")


CASES = cases()


def run(A, b, method: str, pc: str | None, *, rtol: float = 1e-8, atol: float = 0.0, A_ref=None, **kw):
    """Solve and check the invariant; returns the result, or the SolverError a refusal raised."""
    try:
        res = solvers.solve(A, b, method=method, pc=pc, rtol=rtol, atol=atol, **kw)
    except SolverError as exc:  # a refusal: it must say something
        assert len(str(exc)) > 20, repr(exc)
        return exc
    A_ref = A if A_ref is None else A_ref
    assert len(res.residual_norms) == res.iterations + 1
    assert np.all(np.isfinite(res.residual_norms)) or res.reason == solvers.Reason.DIVERGED_NANORINF
    b64, x64 = np.asarray(b, np.float64).reshape(-1), np.asarray(res.x, np.float64)
    A64 = sp.csr_matrix(A_ref, dtype=np.float64)
    true = float(np.linalg.norm(b64 - A64 @ x64))
    # the rounding of any residual computed in the solve's precision: eps * || |A| |x| + |b| ||
    eps = float(np.finfo(np.asarray(res.x).dtype).eps)
    slack = 10 * eps * float(np.linalg.norm(abs(A64) @ np.abs(x64) + np.abs(b64)))
    if np.isfinite(true):
        assert abs(res.residual_norms[-1] - true) <= 1e-6 * true + slack, (res, true)
    if res.converged:
        assert true <= max(rtol * float(np.linalg.norm(b64)), atol) * (1 + 1e-6) + slack, \
            f"false convergence: {res} has a true residual {true:.3g}"
    return res


def is_refusal(out) -> bool:
    return isinstance(out, SolverError)


def names() -> list[str]:
    return registry.names("method")
