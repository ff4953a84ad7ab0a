"""Awkward matrices: empty, 1 x 1, zero rows, singular, indefinite, badly scaled (issue 16)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from solvers.errors import InvalidInputError
from tests.conftest import laplacian_2d
from tests.solvers.test_nullspace import neumann_2d

from .conftest import CASES, ids, is_refusal, run

Reason = solvers.Reason


@pytest.mark.parametrize("case", CASES, ids=ids)
@pytest.mark.parametrize("A", [sp.csr_matrix((0, 0)), np.zeros((0, 0))], ids=["sparse", "dense"])
def test_empty_matrix_is_refused(case, A):
    with pytest.raises(InvalidInputError, match="empty"):
        solvers.solve(A, np.zeros(0), method=case[0], pc=case[1])


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_one_by_one(case):
    res = run(sp.csr_matrix([[4.0]]), np.array([2.0]), *case)
    assert not is_refusal(res) and res.converged and res.x[0] == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_one_by_one_zero(case):
    """[[0]]: every x solves b = 0; b = 1 is inconsistent (the isolated unknown's null space)."""
    zero = sp.csr_matrix((1, 1))
    ok = run(zero, np.array([0.0]), *case, x0=np.array([3.0]))
    assert is_refusal(ok) or ok.converged
    bad = run(zero, np.array([1.0]), *case)
    assert is_refusal(bad) or (bad.reason == Reason.DIVERGED_NULL and "component 1 * ||b||" in bad.message)


def _zero_row_and_column(m: int = 8, i: int = 13) -> sp.csr_matrix:
    A = laplacian_2d(m).tolil()
    A[i, :] = 0.0
    A[:, i] = 0.0
    return A.tocsr()  # explicit zeros kept: the zeros are stored entries, as a user's assembly leaves them


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_zero_row_and_column(case):
    A = _zero_row_and_column()
    b = np.ones(64)
    b[13] = 0.0  # consistent: the isolated unknown's equation is 0 = 0
    res = run(A, b, *case)
    assert is_refusal(res) or res.converged
    if not is_refusal(res):
        assert res.nullspace == "detected isolated unknown" and res.x[13] == pytest.approx(0.0, abs=1e-14)
    b[13] = 1.0  # inconsistent
    bad = run(A, b, *case)
    assert is_refusal(bad) or bad.reason == Reason.DIVERGED_NULL


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_zero_row_only(case):
    """Row 5 empty, column 5 not: no null space detected; whatever happens is honest."""
    A = laplacian_2d(6).tolil()
    A[5, :] = 0.0
    A = A.tocsr()
    A.eliminate_zeros()
    b = np.ones(36)
    b[5] = 0.0
    res = run(A, b, *case)
    b[5] = 1.0
    bad = run(A, b, *case, maxiter=500)
    assert is_refusal(bad) or not bad.converged


@pytest.mark.parametrize("case", CASES, ids=ids)
@pytest.mark.parametrize("consistent", [True, False])
@pytest.mark.parametrize("nullspace", ["auto", None])
def test_singular_neumann(case, consistent, nullspace):
    A = neumann_2d(8)
    b = np.random.default_rng(11).standard_normal(64)
    if consistent:
        b -= b.mean()
    res = run(A, b, *case, nullspace=nullspace, maxiter=2000)
    if is_refusal(res):
        assert nullspace is None and case[0] == "direct"
        return
    if not consistent:
        assert not res.converged
        if nullspace == "auto":
            assert res.reason == Reason.DIVERGED_NULL and res.iterations == 0
    elif nullspace == "auto" and case != ("jacobi", None):  # Jacobi has the eigenvalue -1 on a bipartite grid
        assert res.converged, res


def _indefinite(m: int = 8) -> sp.csr_matrix:
    A = laplacian_2d(m)
    lam = np.linalg.eigvalsh(A.toarray())
    return (A - sp.eye(m * m) * 0.5 * (lam[20] + lam[21])).tocsr()  # 21 negative eigenvalues, none tiny


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_indefinite(case):
    A = _indefinite()
    b = np.random.default_rng(2).standard_normal(64)
    res = run(A, b, *case, maxiter=500)
    if case[0] in ("cg", "fcg") and not is_refusal(res):
        assert res.reason in (Reason.DIVERGED_INDEFINITE_MAT, Reason.DIVERGED_INDEFINITE_PC,
                              Reason.DIVERGED_BREAKDOWN, Reason.DIVERGED_ITS) or res.converged
    if case == ("direct", None) or case == ("gmres", None):
        assert res.converged


SOLVABLE = (("direct", None), ("cg", "jacobi"), ("cg", "ic"), ("gmres", "ilu"))


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_badly_scaled_coupled(case):
    """S L S with S = diag(10^-6 .. 10^6): diagonal 4e-12 to 4e12, SPD. The residual's rounding level
    eps || |A| |x| || is 2.7e-7 ||b||, so rtol = 1e-8 is out of reach of any method (an honest failure:
    the direct solve says the matrix is too ill-conditioned), and rtol = 1e-5 is reached by a direct
    solve and ILU-preconditioned GMRES. (Jacobi- or IC-preconditioned CG stop with DIVERGED_DTOL: the
    2-norm of CG's residual, which CG does not minimize, rises 1e5-fold on the way; an honest stop.)"""
    L = laplacian_2d(8)
    S = sp.diags(np.logspace(-6, 6, 64))
    A = (S @ L @ S).tocsr()
    b = np.random.default_rng(5).standard_normal(64)
    tight = run(A, b, *case, maxiter=2000)
    assert is_refusal(tight) or not tight.converged
    loose = run(A, b, *case, rtol=1e-5, maxiter=2000)
    if case in (("direct", None), ("gmres", "ilu")):
        assert not is_refusal(loose) and loose.converged, loose


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_badly_scaled_diagonal(case):
    """diag(10^-12 .. 10^12) + 1e-13 L: diagonally dominant, rounding level eps ||b||: rtol 1e-8 is
    reachable, and every method that sees the diagonal reaches it."""
    A = (sp.diags(np.logspace(-12, 12, 64)) + 1e-13 * laplacian_2d(8)).tocsr()
    b = np.random.default_rng(5).standard_normal(64)
    res = run(A, b, *case, maxiter=2000)
    if case in SOLVABLE + (("jacobi", None), ("gauss-seidel", None), ("ssor", None), ("gmres", "jacobi")):
        assert not is_refusal(res) and res.converged, res


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_float32_matrix_float64_rhs_and_back(case):
    A = laplacian_2d(8)
    b = np.random.default_rng(6).standard_normal(64)
    r32 = run(A.astype(np.float32), b, *case, rtol=1e-5)
    r64 = run(A, b.astype(np.float32), *case, rtol=1e-5)
    for res in (r32, r64):
        assert is_refusal(res) or res.x.dtype == (np.float64 if res is r32 else np.float32)
