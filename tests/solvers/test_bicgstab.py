"""BiCGStab against SciPy and theory; its stopping and failure paths."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.linalg import LinearOperator

import solvers
from pde_examples import convection_diffusion
from solvers import Reason
from tests.conftest import true_relres


@pytest.fixture(scope="module")
def nonsym():
    return convection_diffusion((30, 30), nu=0.02)


def test_iteration_count_and_answer_match_scipy(nonsym):
    b = np.random.default_rng(3).standard_normal(nonsym.n)
    count = []
    x_ref, info = spla.bicgstab(nonsym.A, b, rtol=1e-10, maxiter=10_000, callback=lambda xk: count.append(1))
    assert info == 0
    res = solvers.solve(nonsym.A, b, method="bicgstab", rtol=1e-10)
    assert res.converged and true_relres(nonsym.A, res.x, b) <= 1e-10
    # the same recurrence: the same count within a couple of iterations (rounding decides the last ones)
    assert abs(res.iterations - len(count)) <= 2, (res.iterations, len(count))
    assert np.linalg.norm(res.x - x_ref) <= 1e-6 * np.linalg.norm(x_ref)


def test_history_is_the_residual_of_each_iterate(nonsym):
    b = nonsym.b
    xs = []
    s = solvers.make_solver("bicgstab", rtol=1e-9, recompute_every=0).setup(nonsym.A)
    s.callback = lambda x: xs.append(x.copy())
    res = s.solve(b)
    true = [np.linalg.norm(b - nonsym.A @ x) for x in xs]
    assert len(xs) == res.iterations
    # the recursive residual follows the true one (up to rounding far below the tolerance)
    assert np.allclose(res.residual_norms[1:], true, rtol=1e-6, atol=1e-12 * np.linalg.norm(b))
    assert res.residual_norms[-1] == pytest.approx(true[-1], rel=1e-12)


@pytest.mark.parametrize("pc", ["ilu", "sor", "ssor", "amg"])  # (jacobi: the diagonal is constant here)
def test_preconditioners_cut_iterations(pc, nonsym):
    plain = solvers.solve(nonsym, nonsym.b, method="bicgstab", rtol=1e-8)
    pre = solvers.solve(nonsym, nonsym.b, method="bicgstab", pc=pc, rtol=1e-8)
    assert pre.converged and true_relres(nonsym.A, pre.x, nonsym.b) <= 1e-8
    assert pre.iterations < plain.iterations


def test_half_step_convergence_is_counted_and_true():
    # b an eigenvector of A: alpha = 1/lambda and the half step s = r - alpha A r is zero
    A = sp.diags(np.r_[np.ones(5), 3 * np.ones(5)]).tocsr()
    b = np.r_[np.ones(5), np.zeros(5)]
    res = solvers.solve(A, b, method="bicgstab", rtol=1e-12)
    assert res.converged and res.iterations == 1
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(b - A @ res.x), abs=1e-14)


def test_skew_matrix_breaks_down():
    # r^H A r = 0 for every r when A is skew-symmetric: the first step cannot be taken
    A = sp.csr_matrix(np.array([[0.0, 1.0], [-1.0, 0.0]]))
    res = solvers.solve(A, np.array([1.0, 0.0]), method="bicgstab")
    assert res.reason == Reason.DIVERGED_BREAKDOWN
    assert len(res.residual_norms) == res.iterations + 1


class _NaNAfter:
    symmetric = False

    def __init__(self, n):
        self.n, self.calls = n, 0

    def setup(self, A):
        return self

    def apply(self, r):
        self.calls += 1
        return r * np.nan if self.calls >= self.n else r.copy()


@pytest.mark.parametrize("method", ["bicgstab", "minres"])
def test_nan_from_pc_or_operator_is_nanorinf(method):
    T = sp.diags([-1.0, 2.2, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    b = np.ones(50)
    pc = _NaNAfter(4)
    pc.symmetric = True
    res = solvers.solve(T, b, method=method, pc=pc, rtol=1e-12)
    assert res.reason == Reason.DIVERGED_NANORINF
    assert np.all(np.isfinite(res.x)) and len(res.residual_norms) == res.iterations + 1
    calls = [0]

    def matvec(v):
        calls[0] += 1
        out = T @ np.ravel(v)
        return out * np.nan if calls[0] > 5 else out

    res = solvers.solve(LinearOperator(T.shape, matvec=matvec, dtype=np.float64), b, method=method, rtol=1e-12)
    assert res.reason == Reason.DIVERGED_NANORINF
    assert np.all(np.isfinite(res.x))


def test_float32_reaches_its_tolerance(nonsym):
    A, b = nonsym.A.astype(np.float32), nonsym.b.astype(np.float32)
    res = solvers.solve(A, b, method="bicgstab", pc="ilu", rtol=1e-5)
    assert res.converged and res.x.dtype == np.float32
    assert true_relres(A, res.x, b) <= 1e-5


def test_registered_with_its_flags():
    info = {r["name"]: r for r in solvers.available("method")}
    assert "bicgstab" in info and "minres" in info
    cls = solvers.registry.get("method", "bicgstab")
    assert set(cls.backends) == {"numpy", "cupy"} and "complex128" in cls.dtypes and cls.accepts_pc
