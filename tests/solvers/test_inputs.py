"""Bad input gets a clear error before any work; edge cases get the documented answer."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from solvers import InvalidInputError, Reason, UnknownComponentError


def test_non_square(lap2d):
    with pytest.raises(InvalidInputError, match="square"):
        solvers.solve(sp.random(5, 4, density=0.5, format="csr"), np.ones(5))


def test_mismatched_b(lap2d):
    with pytest.raises(InvalidInputError, match="length 10 but A is 256 x 256"):
        solvers.solve(lap2d, np.ones(10))


def test_mismatched_x0(lap2d):
    with pytest.raises(InvalidInputError, match="x0 has shape"):
        solvers.solve(lap2d, np.ones(256), x0=np.ones(3))


def test_empty_system():
    with pytest.raises(InvalidInputError, match="empty"):
        solvers.solve(sp.csr_matrix((0, 0)), np.ones(0))


@pytest.mark.parametrize("where", ["A", "b", "x0"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf(lap2d, where, bad):
    A, b, x0 = lap2d.copy(), np.ones(256), np.zeros(256)
    {"A": A.data, "b": b, "x0": x0}[where][3] = bad
    with pytest.raises(InvalidInputError, match="NaN or Inf"):
        solvers.solve(A, b, x0=x0)


def test_integer_b_refused_integer_A_accepted(lap2d):
    with pytest.raises(InvalidInputError, match="integer dtype"):
        solvers.solve(lap2d, np.ones(256, dtype=np.int64))
    res = solvers.solve(lap2d.astype(np.int64), np.ones(256))
    assert res.converged and res.x.dtype == np.float64


def test_float16_refused_complex_accepted(lap2d):
    # complex systems are solved (tests/solvers/test_complex.py); float16 is not a working precision
    res = solvers.solve(lap2d.astype(np.complex128), np.ones(256))
    assert res.converged and res.x.dtype == np.complex128
    with pytest.raises(InvalidInputError, match="float16"):
        solvers.solve(lap2d, np.ones(256, dtype=np.float16))


def test_b_of_wrong_rank(lap2d):
    with pytest.raises(InvalidInputError, match="vector"):
        solvers.solve(lap2d, np.ones((256, 2)))
    # a column vector is accepted and flattened
    assert solvers.solve(lap2d, np.ones((256, 1))).x.shape == (256,)


def test_cg_refuses_nonsymmetric():
    A = sp.diags([-1.3, 2.0, -0.7], [-1, 0, 1], shape=(30, 30), format="csr")
    with pytest.raises(InvalidInputError, match="not symmetric.*gmres"):
        solvers.solve(A, np.ones(30), method="cg")


def test_cg_reports_indefinite_matrix():
    A = sp.diags(np.r_[np.ones(10), -np.ones(10)]).tocsr()  # symmetric, indefinite
    res = solvers.solve(A, np.ones(20), method="cg")
    assert res.reason == Reason.DIVERGED_INDEFINITE_MAT
    assert not res.converged and "positive definite" in res.reason.message


@pytest.mark.parametrize("omega", [0.0, 2.0, 2.5, -1.0])
def test_omega_outside_open_interval(lap2d, omega):
    with pytest.raises(InvalidInputError, match=r"omega must lie in \(0, 2\)"):
        solvers.solve(lap2d, np.ones(256), method="sor", omega=omega)
    with pytest.raises(InvalidInputError, match="omega"):
        solvers.solve(lap2d, np.ones(256), method="cg", pc="ssor", omega=omega)


@pytest.mark.parametrize("kw", [{"rtol": -1.0}, {"atol": -1e-3}, {"rtol": np.nan}, {"maxiter": -5}])
def test_bad_tolerances(lap2d, kw):
    with pytest.raises(InvalidInputError):
        solvers.solve(lap2d, np.ones(256), **kw)


def test_unknown_method_suggests_the_closest(lap2d):
    with pytest.raises(UnknownComponentError, match="Did you mean 'gmres'"):
        solvers.solve(lap2d, np.ones(256), method="gmers")
    with pytest.raises(UnknownComponentError, match="Did you mean 'ssor'"):
        solvers.solve(lap2d, np.ones(256), pc="sssor")
    with pytest.raises(KeyError):  # it is a KeyError too, as a registry lookup should be
        solvers.make_solver("nope")


def test_unknown_option_suggests_the_closest(lap2d):
    with pytest.raises(InvalidInputError, match="Did you mean 'omega'"):
        solvers.solve(lap2d, np.ones(256), method="sor", omgea=1.5)


def test_zero_rhs_returns_zero_at_once(lap2d):
    res = solvers.solve(lap2d, np.zeros(256), method="cg")
    assert res.converged and res.iterations == 0
    assert not np.any(res.x)


def test_zero_diagonal_refused_by_relaxation():
    A = sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 2.0]]))
    with pytest.raises(InvalidInputError, match="zero"):
        solvers.solve(A, np.ones(2), method="sor")


def test_linear_operator_works_for_krylov_and_is_refused_where_entries_are_needed(lap2d):
    op = sp.linalg.aslinearoperator(lap2d)
    res = solvers.solve(op, np.ones(256), method="cg")
    ref = solvers.solve(lap2d, np.ones(256), method="cg")
    assert res.converged and res.iterations == ref.iterations
    with pytest.raises(InvalidInputError, match="LinearOperator"):
        solvers.solve(op, np.ones(256), method="sor")


def test_solve_before_setup_is_an_error():
    with pytest.raises(solvers.SolverError, match="setup"):
        solvers.make_solver("cg").solve(np.ones(3))


def test_divergent_iteration_reports_dtol():
    # Jacobi with omega close to 2 diverges on the 2D Laplacian (eigenvalues of D^-1 A reach ~2)
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(20, 20))
    A = (sp.kron(sp.eye(20), T) + sp.kron(T, sp.eye(20))).tocsr()
    res = solvers.solve(A, np.ones(400), method="jacobi", omega=1.9, maxiter=100_000)
    assert res.reason == Reason.DIVERGED_DTOL
    assert res.residual_norms[-1] > 1e5 * res.residual_norms[0] * 0.99
