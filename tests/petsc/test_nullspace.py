"""Null spaces on the PETSc backend: a pure-Neumann Laplacian solved to the tolerance, never a false success."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from petsc4py import PETSc

import solvers
from solvers import InvalidInputError, Reason
from solvers.petsc.ksp import solve_petsc, to_petsc_mat

RTOL = 1e-8


def neumann(m: int) -> sp.csr_matrix:
    """5-point Laplacian on an m x m grid whose diagonal is the number of neighbours: rows sum to zero."""
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m)).tolil()
    T[0, 0] = T[m - 1, m - 1] = 1.0
    return (sp.kron(sp.eye(m), T) + sp.kron(T, sp.eye(m))).tocsr()


@pytest.fixture(scope="module")
def problem():
    A = neumann(32)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    return A, b - b.mean(), b  # consistent, inconsistent


def _true(A, b, x) -> float:
    return float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))


def test_matrix_is_singular_with_the_constants_as_null_space(problem):
    A, _, _ = problem
    assert np.abs(A @ np.ones(A.shape[0])).max() == 0.0
    assert A.diagonal().min() == 2.0 and A.diagonal().max() == 4.0


@pytest.mark.parametrize("pc", [None, "jacobi", "amg", "ssor"])
def test_constant_null_space_converges_to_rtol(problem, pc):
    A, b, _ = problem
    res = solve_petsc(A, b, "cg", pc, rtol=RTOL, nullspace="constant")
    assert res.reason == Reason.CONVERGED_RTOL
    assert _true(A, b, res.x) <= RTOL * 1.01
    assert abs(res.x.sum()) <= 1e-10 * np.abs(res.x).sum()  # x has no null-space component
    assert res.options["nullspace"] == "constant" and res.options["rhs_outside_range"] <= 1e-14
    basis = solve_petsc(A, b, "cg", pc, rtol=RTOL, nullspace=np.full((A.shape[0], 1), 3.0))  # same space
    assert basis.iterations == res.iterations
    np.testing.assert_allclose(basis.x, res.x, rtol=0, atol=1e-9 * np.abs(res.x).max())


def test_through_solve_and_without_null_space_no_false_success(problem):
    A, b, b_bad = problem
    res = solvers.solve(A, b, "cg", pc="amg", backend="petsc", nullspace="constant")
    assert res.converged and _true(A, b, res.x) <= RTOL * 1.01
    for rhs in (b, b_bad):  # without the null space: converged only where the true residual says so
        for pc in (None, "amg"):
            plain = solvers.solve(A, rhs, "cg", pc=pc, backend="petsc", maxiter=500)
            assert not plain.converged or _true(A, rhs, plain.x) <= RTOL * 1.01
    assert not solvers.solve(A, b_bad, "cg", pc="amg", backend="petsc", maxiter=500).converged


def test_inconsistent_rhs_is_diverged_null_with_its_size(problem):
    A, _, b_bad = problem
    res = solve_petsc(A, b_bad, "cg", "amg", rtol=RTOL, nullspace="constant")
    assert res.reason == Reason.DIVERGED_NULL and not res.converged
    outside = abs(b_bad.mean()) * np.sqrt(A.shape[0]) / np.linalg.norm(b_bad)
    assert res.options["rhs_outside_range"] == pytest.approx(outside, rel=1e-10)
    assert _true(A, b_bad, res.x) == pytest.approx(outside, rel=1e-6)  # the least-squares answer


def test_two_dimensional_null_space_from_non_orthonormal_columns():
    m = 16
    A = sp.block_diag([neumann(m), neumann(m)]).tocsr()  # two decoupled grids: two constants
    n = A.shape[0]
    half = np.r_[np.ones(n // 2), np.zeros(n // 2)]
    basis = np.column_stack([np.ones(n), half])  # spans both indicators, neither orthogonal nor unit
    b = np.cos(np.arange(n) * 0.37)
    b -= half * b[: n // 2].mean() + (1 - half) * b[n // 2:].mean()
    res = solve_petsc(A, b, "cg", "jacobi", rtol=RTOL, nullspace=basis)
    assert res.reason == Reason.CONVERGED_RTOL and _true(A, b, res.x) <= RTOL * 1.01
    assert abs(res.x[: n // 2].sum()) + abs(res.x[n // 2:].sum()) <= 1e-10 * np.abs(res.x).sum()
    one = solve_petsc(A, b, "cg", "jacobi", rtol=RTOL, nullspace="constant")  # only one of the two
    assert one.converged or one.reason == Reason.DIVERGED_NULL
    assert not one.converged or _true(A, b, one.x) <= RTOL * 1.01


def test_caller_objects_are_left_as_they_were(problem):
    A, b, _ = problem
    M = to_petsc_mat(A)
    bv = M.createVecLeft()
    bv.getArray()[:] = b + 1.0  # inconsistent on purpose: removing the constant would change it
    res = solvers.solve(M, bv, "cg", pc="jacobi", backend="petsc", nullspace="constant")
    assert res.reason == Reason.DIVERGED_NULL
    np.testing.assert_array_equal(bv.getArray(), b + 1.0)
    assert M.getNullSpace().handle == 0
    bv.destroy(), M.destroy()


def test_bad_null_spaces_are_clear_errors(problem):
    A, b, _ = problem
    n = A.shape[0]
    with pytest.raises(InvalidInputError, match="'constant'"):
        solve_petsc(A, b, nullspace="linear")
    with pytest.raises(InvalidInputError, match="shape"):
        solve_petsc(A, b, nullspace=np.ones((n - 1, 1)))
    with pytest.raises(InvalidInputError, match="linearly dependent"):
        solve_petsc(A, b, nullspace=np.column_stack([np.ones(n), 2 * np.ones(n)]))
    with pytest.raises(InvalidInputError, match="not in A's null space"):
        solve_petsc(A, b, nullspace=np.arange(n, dtype=float)[:, None])
    with pytest.raises(InvalidInputError, match="not in A's null space"):
        solve_petsc(neumann(8) + sp.eye(64), np.ones(64), nullspace="constant")
    with pytest.raises(InvalidInputError, match="NaN"):
        solve_petsc(A, b, nullspace=np.full((n, 1), np.nan))
