"""Singular systems: null spaces given or detected, inconsistent right-hand sides, minimum-norm answers."""
from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import solvers
from solvers.errors import InvalidInputError, SolverError
from solvers.nullspace import NullSpace, detect, resolve
from tests.conftest import laplacian_2d, true_relres

RTOL = 1e-8


def neumann_2d(m: int) -> sp.csr_matrix:
    """The 5-point pure-Neumann Laplacian on an m x m grid: symmetric, rows sum to zero."""
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m)).tolil()
    T[0, 0] = T[m - 1, m - 1] = 1.0
    return (sp.kron(sp.eye(m), T) + sp.kron(T, sp.eye(m))).tocsr()


def unit_square() -> sp.csr_matrix:
    """PyAMG's unstructured P1 finite-element Neumann Laplacian (the matrix of issue 16)."""
    from pyamg.gallery import load_example

    return sp.csr_matrix(load_example("unit_square")["A"])


MATRICES = {"neumann": lambda: neumann_2d(12), "unit_square": unit_square}
#: the pairs the issue names, and one of every other kind
CASES = [("direct", None), ("cg", None), ("cg", "amg"), ("cg", "ic"), ("cg", "ssor"), ("fcg", "sor"),
         ("gmres", None), ("gmres", "ilu"), ("amg", None), ("gauss-seidel", None), ("ssor", None)]


def min_norm_solution(A: sp.csr_matrix, b: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(A.toarray(), b, rcond=None)[0]


@pytest.mark.parametrize("matrix", sorted(MATRICES))
def test_detects_the_constants(matrix):
    A = MATRICES[matrix]()
    ns = detect(A)
    assert ns.source == "detected constant" and ns.dim == 1
    assert np.allclose(np.abs(ns.basis[:, 0]), 1 / np.sqrt(A.shape[0]), rtol=1e-14)
    assert np.linalg.norm(A @ ns.basis) < 1e-12 * abs(A).sum(axis=1).max()


def test_detection_leaves_nonsingular_and_one_sided_matrices_alone():
    assert detect(laplacian_2d(8)) is None
    # rows sum to zero but columns do not: the constants are a right null vector only, range != ones^perp
    A = sp.csr_matrix(np.array([[1.0, -1.0, 0.0], [-2.0, 3.0, -1.0], [0.0, -2.0, 2.0]]))
    assert detect(A) is None


def test_detects_isolated_unknowns_with_the_constants():
    """A Neumann Laplacian plus one unknown with an empty row and column: a 2-D null space."""
    A = sp.block_diag([neumann_2d(4), sp.csr_matrix((1, 1))]).tocsr()
    ns = detect(A)
    assert ns.dim == 2 and "constant" in ns.source and "isolated" in ns.source
    assert np.allclose(ns.basis.T @ ns.basis, np.eye(2), atol=1e-14)
    assert np.linalg.norm(A @ ns.basis) < 1e-13
    b = np.r_[np.arange(16.0) - 7.5, 0.0]  # consistent: sums to zero on the grid, zero at the isolated unknown
    res = solvers.solve(A, b, method="cg")
    assert res.converged and true_relres(A, res.x, b) <= RTOL and abs(res.x[-1]) < 1e-14 * np.linalg.norm(res.x)
    bad = solvers.solve(A, b + np.eye(17)[-1], method="gmres")  # b_16 = 1
    assert bad.reason == solvers.Reason.DIVERGED_NULL and not bad.converged


def test_resolve_orthonormalizes_and_checks():
    A = neumann_2d(5)
    ns = resolve(3.0 * np.ones(25), A)  # any scaling, shape (n,)
    assert ns.source == "given" and ns.basis.shape == (25, 1)
    assert np.isclose(np.linalg.norm(ns.basis), 1.0, rtol=1e-14)
    assert resolve(None, A) is None and resolve(np.ones((25, 0)), A) is None
    with pytest.raises(InvalidInputError, match="not a null space of A"):
        resolve(np.arange(25.0), A)
    with pytest.raises(InvalidInputError, match=r"shape \(25,\) or \(25, k\)"):
        resolve(np.ones(24), A)
    with pytest.raises(InvalidInputError, match="linearly dependent"):
        resolve(np.ones((25, 2)), A)
    with pytest.raises(InvalidInputError, match="NaN"):
        resolve(np.full(25, np.nan), A)
    with pytest.raises(InvalidInputError, match="'auto', 'constant'"):
        resolve("constants", A)
    with pytest.raises(InvalidInputError, match="not a null space"):
        solvers.solve(laplacian_2d(5), np.ones(25), nullspace="constant")


@pytest.mark.parametrize("matrix", sorted(MATRICES))
@pytest.mark.parametrize("method,pc", CASES)
def test_inconsistent_b_stops_with_its_component(matrix, method, pc):
    """Issue 16: a random b on a pure-Neumann matrix is inconsistent; never converged, never DTOL."""
    A = MATRICES[matrix]()
    b = np.random.default_rng(7).standard_normal(A.shape[0]) + 0.5
    expected = abs(b.sum()) / np.sqrt(A.shape[0]) / np.linalg.norm(b)  # ||N^T b|| / ||b||, N = ones / sqrt(n)
    res = solvers.solve(A, b, method=method, pc=pc, rtol=RTOL)
    assert res.reason == solvers.Reason.DIVERGED_NULL and not res.converged
    assert res.nullspace == "detected constant" and res.iterations == 0
    size = float(re.search(r"component (\S+) \* \|\|b\|\|", res.message).group(1))
    assert size == pytest.approx(expected, rel=2e-3)  # printed with 3 digits
    assert "inconsistent" in res.message
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(b - A @ res.x), rel=1e-12)


@pytest.mark.parametrize("matrix", sorted(MATRICES))
@pytest.mark.parametrize("method,pc", CASES)
@pytest.mark.parametrize("given", ["auto", "constant"])
def test_consistent_b_converges_to_the_minimum_norm_solution(matrix, method, pc, given):
    A = MATRICES[matrix]()
    b = np.random.default_rng(8).standard_normal(A.shape[0])
    b -= b.mean()
    res = solvers.solve(A, b, method=method, pc=pc, rtol=RTOL, nullspace=given, maxiter=5000)
    assert res.converged, res
    assert true_relres(A, res.x, b) <= RTOL
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(b - A @ res.x), rel=1e-10)
    assert len(res.residual_norms) == res.iterations + 1
    assert abs(res.x.sum()) <= 1e-10 * np.linalg.norm(res.x) * np.sqrt(A.shape[0])  # no constant part
    exact = min_norm_solution(A, b)
    # the error is bounded by the condition number of A on its range times rtol (cond ~ 1e2 to 1e3 here)
    assert np.linalg.norm(res.x - exact) <= 1e-4 * np.linalg.norm(exact)


# (not plain Jacobi: on a bipartite grid graph D^-1 A has the eigenvalue 2, so Jacobi does not converge)
@pytest.mark.parametrize("method,pc", [("cg", "amg"), ("direct", None), ("gauss-seidel", None)])
def test_component_below_the_tolerance_is_solved_and_reported_honestly(method, pc):
    """c = ||N^T b|| a tenth of the tolerance: solvable; the norms are those of the original system."""
    A = neumann_2d(10)
    b = np.random.default_rng(3).standard_normal(100)
    b -= b.mean()
    b += 0.1 * RTOL * np.linalg.norm(b) / 10.0  # adds 0.1 rtol ||b|| along ones / sqrt(100)
    res = solvers.solve(A, b, method=method, pc=pc, rtol=RTOL, maxiter=5000)
    assert res.converged and true_relres(A, res.x, b) <= RTOL
    floor = abs(b.sum()) / 10.0  # ||N N^T b||: no residual can go below it (in exact arithmetic)
    # a computed residual b - A x carries rounding of about eps (||b|| + ||A|| ||x||), here ~1e-15 against a
    # floor of 1e-8: an exact coarse solve (one CG iteration) lands within that of the floor
    rounding = 100 * np.finfo(float).eps * (np.linalg.norm(b) + 8.0 * np.linalg.norm(res.x))
    assert np.all(res.residual_norms >= floor - rounding)
    assert rounding < 1e-3 * floor
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(b - A @ res.x), rel=1e-10)


def test_without_a_null_space_a_singular_system_is_never_converged():
    A = unit_square()
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    for method, pc in [("cg", "amg"), ("gmres", None), ("amg", None)]:
        res = solvers.solve(A, b, method=method, pc=pc, nullspace=None, maxiter=300)
        assert not res.converged and res.nullspace is None
        assert res.residual_norms[-1] >= abs(b.sum()) / np.sqrt(A.shape[0]) * (1 - 1e-9)
    # rounding leaves SuperLU a tiny pivot instead of a zero one: the residual check reports it
    res = solvers.solve(A, b, method="direct", nullspace=None)
    assert res.reason == solvers.Reason.DIVERGED_NULL and res.relative_residual > 0.1
    with pytest.raises(SolverError, match="singular.*give its null space"):  # an exactly zero pivot
        solvers.solve(sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]])), np.ones(2), method="direct")


def test_problem_carries_its_null_space_and_make_solver_reuses_it():
    from pde_examples.poisson import poisson

    p = poisson((16, 16), bc="neumann")
    res = solvers.solve(p, p.b, method="cg", pc="amg", rtol=1e-10)
    assert res.converged and res.nullspace == "given" and true_relres(p.A, res.x, p.b) <= 1e-10
    assert abs(p.nullspace @ res.x) < 1e-10 * np.linalg.norm(res.x)
    s = solvers.make_solver("cg", pc="ic", nullspace="constant").setup(p.A)
    assert s.nullspace.source == "constant"
    again = s.solve(p.b)
    assert again.converged and np.allclose(again.x, res.x, atol=1e-6 * np.abs(res.x).max())
    s.setup(laplacian_2d(16), nullspace=None)  # a new, nonsingular matrix: no null space from here on
    assert s.nullspace is None and s.solve(np.ones(256)).converged


def test_bordered_direct_solve_matches_the_pseudo_inverse_for_a_two_dimensional_null_space():
    """Two disconnected Neumann blocks: null space = piecewise constants, given as basis vectors."""
    A = sp.block_diag([neumann_2d(4), neumann_2d(3)]).tocsr()
    N = np.zeros((25, 2))
    N[:16, 0], N[16:, 1] = 1.0, 1.0
    assert detect(A).dim == 1  # the constants only: a subspace of the true null space
    b = np.random.default_rng(5).standard_normal(25)
    b[:16] -= b[:16].mean()
    b[16:] -= b[16:].mean()
    res = solvers.solve(A, b, method="direct", nullspace=N)
    assert res.converged and res.nullspace == "given, dimension 2"
    assert np.allclose(res.x, np.linalg.pinv(A.toarray()) @ b, atol=1e-12)
    bad = solvers.solve(A, b + N[:, 0], method="cg", nullspace=N)
    size = float(re.search(r"component (\S+) \*", bad.message).group(1))
    assert bad.reason == solvers.Reason.DIVERGED_NULL and size == pytest.approx(4 / np.linalg.norm(b + N[:, 0]),
                                                                                rel=2e-3)


def test_operator_null_space_is_checked_by_products():
    A = neumann_2d(6)
    op = LinearOperator(A.shape, matvec=lambda v: A @ v, dtype=np.float64)
    b = np.random.default_rng(2).standard_normal(36)
    b -= b.mean()
    res = solvers.solve(op, b, method="cg", nullspace="constant")
    assert res.converged and true_relres(A, res.x, b) <= RTOL
    with pytest.raises(InvalidInputError, match="not a null space"):
        solvers.solve(op, b, method="cg", nullspace=np.arange(36.0))


@pytest.mark.parametrize("method,pc", [("cg", "ssor"), ("gmres", None), ("direct", None)])
def test_float32_null_space(method, pc):
    A = neumann_2d(8).astype(np.float32)
    b = np.random.default_rng(4).standard_normal(64).astype(np.float32)
    b -= b.mean()
    res = solvers.solve(A, b, method=method, pc=pc, rtol=1e-5)
    assert res.x.dtype == np.float32 and res.converged and res.nullspace == "detected constant"
    assert true_relres(A, res.x, b) <= 1e-5


def test_nullspace_object_round_trip():
    ns = NullSpace(np.full((4, 1), 0.5), "constant")
    assert ns.dim == 1 and ns.describe() == "constant"
    v = np.array([1.0, 2.0, 3.0, 4.0])
    assert np.allclose(ns.project(v), v - 2.5) and ns.component(v) == pytest.approx(5.0)


def _solverkit(*args: str) -> tuple[int, str, str]:
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "solvers", *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def _field(out: str, name: str) -> str:
    return re.search(rf"^{name}\s*: (.*)$", out, re.M).group(1)


@pytest.fixture
def unit_square_mtx(tmp_path):
    import scipy.io

    path = tmp_path / "unit_square.mtx"
    scipy.io.mmwrite(str(path), unit_square())
    return path


def test_cli_solves_a_singular_matrix_market_file(unit_square_mtx):
    """Issue 16: the default b of a singular matrix is never zero; the null space used is printed."""
    rc, out, err = _solverkit("solve", str(unit_square_mtx), "--method", "cg", "--pc", "amg")
    assert rc == 0 and err == "", err
    assert _field(out, "singular") == "yes, null space detected constant (b projected, x of minimum norm)"
    assert _field(out, "reason").startswith("CONVERGED_RTOL")
    assert float(_field(out, "rel. resid.")) <= 1e-8
    error = _field(out, "rel. error")
    assert "orthogonal to the null space" in error and float(error.split()[0]) < 1e-4  # cond(A) ~ 1e3 on range


def test_cli_given_null_space_and_inconsistent_rhs(unit_square_mtx, tmp_path):
    ones, rhs = tmp_path / "ones.txt", tmp_path / "b.txt"
    np.savetxt(ones, np.ones(191))
    np.savetxt(rhs, np.ones(191))
    rc, out, err = _solverkit("solve", str(unit_square_mtx), "--method", "direct", "--nullspace", str(ones),
                              "--rhs", str(rhs))
    assert rc == 1 and err == "", err
    assert _field(out, "singular") == "yes, null space given (b projected, x of minimum norm)"
    assert _field(out, "reason").startswith("DIVERGED_NULL (b has a component 1 * ||b|| in the null space")
    assert float(_field(out, "rel. resid.")) == pytest.approx(1.0, rel=1e-12)  # x = 0: nothing can do better
