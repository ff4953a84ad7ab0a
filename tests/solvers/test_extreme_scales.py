"""Right-hand sides and matrices at extreme scales, b = 0 with an initial guess, and tolerances out of
reach: never a false convergence, and a solve where the numbers allow one (an audit found every method
reporting convergence at b * 1e-170 with x = 0, and at b * 1e160 with an infinite tolerance)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import solvers
from solvers.scipy_api import cg as sk_cg
from solvers.stopping import Status, check
from pde_examples.sequences import laplacian_delsq

METHODS = ["cg", "fcg", "gmres", "bicgstab", "minres", "jacobi", "sor", "direct"]


@pytest.fixture(scope="module")
def system():
    A = laplacian_delsq(10).tocsr()
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    return A, b


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scale", [1e-170, 1e-160, 1e160, 1e200])
def test_b_at_extreme_scales_is_solved_not_waved_through(system, method, scale):
    A, b = system
    plain = solvers.solve(A, b, method=method, rtol=1e-8, maxiter=5000)
    res = solvers.solve(A, b * scale, method=method, rtol=1e-8, maxiter=5000)
    assert plain.converged and res.converged, (res.reason, res.message)
    true = np.linalg.norm(b - A @ (res.x / scale)) / np.linalg.norm(b)  # in b's units: no under/overflow
    assert true <= 1e-8 * 1.001, true
    assert res.iterations == plain.iterations
    # the same iterates up to rounding (direct's answer sits at the rounding level, 5e-16, where the
    # scaled and the plain solve differ by their last bits)
    assert res.relative_residual == pytest.approx(plain.relative_residual, rel=1e-6, abs=2e-15)
    assert res.b_norm == pytest.approx(np.linalg.norm(b) * scale, rel=1e-12)
    np.testing.assert_allclose(res.x / scale, plain.x, rtol=1e-9, atol=1e-12)


def test_an_infinite_tolerance_never_passes_an_infinite_residual():
    assert check(np.inf, 0, np.inf, np.inf, 100) == Status.NANORINF
    assert check(1.0, 0, np.inf, np.inf, 100) == Status.CONVERGED


def test_monitor_and_callback_see_the_users_units(system):
    A, b = system
    seen, xs = [], []
    res = solvers.solve(A, b * 1e-170, method="cg", rtol=1e-8, monitor=lambda k, rn: seen.append(rn))
    np.testing.assert_allclose(seen, res.residual_norms, rtol=0)
    assert seen[0] == pytest.approx(np.linalg.norm(b) * 1e-170, rel=1e-12)
    x, info = sk_cg(A, b * 1e-170, rtol=1e-8, callback=xs.append)
    assert info == 0 and np.allclose(xs[-1], x, rtol=0, atol=0)
    ref, _ = spla.cg(A, b, rtol=1e-8)  # SciPy on the unscaled system: the same solution, scaled
    np.testing.assert_allclose(x / 1e-170, ref, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_b_zero_returns_x_zero_whatever_the_guess(system, method):
    """SciPy's cg, gmres, bicgstab and minres return x = 0, info 0 at once; so does solve()."""
    A, b = system
    res = solvers.solve(A, np.zeros_like(b), method=method, x0=np.ones_like(b))
    assert res.reason == solvers.Reason.CONVERGED_ATOL and res.iterations == 0
    assert not res.x.any()
    x, info = spla.cg(A, np.zeros_like(b), x0=np.ones_like(b))
    assert info == 0 and not x.any()


def test_direct_says_when_the_tolerance_is_below_rounding_not_singular(system):
    A, b = system
    res = solvers.solve(A, b, method="direct", rtol=0.0)
    assert res.reason == solvers.Reason.DIVERGED_ITS and not res.converged
    assert res.relative_residual < 1e-14 and "rounding level" in res.message
    # a singular matrix with an inconsistent b is still called singular
    N = laplacian_delsq(10).tolil()
    N.setdiag(0)
    N.setdiag(-np.asarray(N.sum(axis=1)).ravel())  # pure Neumann: rows sum to zero
    bad = solvers.solve(N.tocsr(), b, method="direct", nullspace=None)
    assert bad.reason == solvers.Reason.DIVERGED_NULL and bad.relative_residual > 1e-3


@pytest.mark.parametrize("scale", [1e-20, 1e-200])
def test_tiny_spd_matrices_are_recognized_and_solved(system, scale):
    A, b = system
    plain = solvers.solve(A, b, method="cg", rtol=1e-8)
    res = solvers.solve((A * scale).tocsr(), b, method="cg", rtol=1e-8)  # was a ZeroDivisionError at 1e-200
    assert res.converged and res.iterations == plain.iterations
    np.testing.assert_allclose(res.x * scale, plain.x, rtol=1e-9, atol=1e-12)
    skew = (A * scale).tolil()
    skew[0, 1] = 3 * skew[0, 1]
    with pytest.raises(solvers.InvalidInputError, match="not symmetric"):
        solvers.solve(skew.tocsr(), b, method="cg")


def test_minres_floor_is_relative_to_the_matrix(system):
    A, b = system
    plain = solvers.solve(A, b, method="minres", rtol=1e-8)
    res = solvers.solve((A * 1e-20).tocsr(), b, method="minres", rtol=1e-8)  # stalled at relres 1.0 before
    assert res.converged and res.iterations == plain.iterations


@pytest.mark.parametrize("kw", [dict(rtol="1e-6"), dict(atol="0"), dict(maxiter="10"), dict(maxiter=2.5),
                                dict(options="-ksp_type cg -ksp_rtol abc")])
def test_tolerances_of_the_wrong_type_are_refused_clearly(system, kw):
    A, b = system
    with pytest.raises(solvers.InvalidInputError, match="rtol|atol|maxiter"):
        solvers.solve(A, b, **kw)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself, built here on purpose
def test_column_matrix_b_and_float16_a_are_handled_clearly(system):
    A, b = system
    res = solvers.solve(A, np.asmatrix(b).T, method="cg")  # an (n, 1) np.matrix, as an (n, 1) array is
    assert res.converged and res.x.shape == b.shape
    with pytest.raises(solvers.InvalidInputError, match="float16"):
        solvers.solve(A.toarray().astype(np.float16), b, method="cg")


def test_scaling_keeps_atol_x0_and_the_null_space_in_the_users_units(system):
    A, b = system
    s = 1e-170
    exact = solvers.solve(A, b, method="direct").x
    # atol alone, in the user's units: met, and said to be met by atol
    plain = solvers.solve(A, b, method="cg", rtol=0.0, atol=1e-6 * np.linalg.norm(b))
    res = solvers.solve(A, b * s, method="cg", rtol=0.0, atol=1e-6 * np.linalg.norm(b) * s)
    assert res.reason == solvers.Reason.CONVERGED_ATOL and res.iterations == plain.iterations
    assert np.linalg.norm(b - A @ (res.x / s)) <= 1e-6 * np.linalg.norm(b)
    # a guess that already solves the system: no iteration
    res = solvers.solve(A, b * s, method="cg", x0=exact * s, rtol=1e-8)
    assert res.converged and res.iterations == 0
    # a singular system with its null space: the minimum-norm solution, scaled
    N = laplacian_delsq(10).tolil()
    N.setdiag(0)
    N.setdiag(-np.asarray(N.sum(axis=1)).ravel())
    N = N.tocsr()
    c = b - b.mean()
    ref = solvers.solve(N, c, method="cg", nullspace="constant", rtol=1e-9)
    res = solvers.solve(N, c * s, method="cg", nullspace="constant", rtol=1e-9)
    assert ref.converged and res.converged and res.iterations == ref.iterations
    np.testing.assert_allclose(res.x / s, ref.x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e12), (np.float32, 1e-12), (np.complex128, 1e-170),
                                          (np.complex64, 1e12)])
def test_extreme_scales_in_single_precision_and_complex(system, dtype, scale):
    A, b = system
    bb = (b * (1 + 1j) if np.issubdtype(dtype, np.complexfloating) else b).astype(dtype)
    rtol = 1e-5 if np.finfo(dtype).eps > 1e-10 else 1e-8
    plain = solvers.solve(A.astype(dtype), bb, method="gmres", rtol=rtol)
    res = solvers.solve(A.astype(dtype), (bb * scale).astype(dtype), method="gmres", rtol=rtol)
    assert plain.converged and res.converged and res.x.dtype == dtype
    true = np.linalg.norm(bb.astype(np.complex128) - A @ (res.x.astype(np.complex128) / scale))
    assert true <= 1.01 * rtol * np.linalg.norm(bb.astype(np.complex128)) * (1 + 50 * np.finfo(dtype).eps / rtol)
    assert abs(res.iterations - plain.iterations) <= 1


def test_callbacks_are_restored_when_one_raises(system):
    A, b = system
    solver = solvers.make_solver("cg", rtol=1e-8).setup(A)

    def boom(x):
        raise RuntimeError("stop here")

    solver.callback = boom
    with pytest.raises(RuntimeError, match="stop here"):
        solver.solve(b * 1e-170)  # scaled: the callback ran wrapped
    assert solver.callback is boom
    seen = []
    solver.callback = seen.append
    res = solver.solve(b * 1e-170)
    assert res.converged and np.array_equal(seen[-1], res.x)  # the last callback saw the returned x
