"""Jacobi, Gauss-Seidel, SOR, SSOR against their textbook convergence factors (model problem)."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from tests.conftest import laplacian_2d

N = 24
H = 1.0 / (N + 1)
MU = np.cos(np.pi * H)  # spectral radius of Jacobi's iteration matrix on the model problem
OMEGA_OPT = 2.0 / (1.0 + np.sqrt(1.0 - MU ** 2))


def observed_factor(res, tail=50):
    r = res.residual_norms
    return (r[-1] / r[-1 - tail]) ** (1.0 / tail)


@pytest.fixture(scope="module")
def system():
    rng = np.random.default_rng(3)
    return laplacian_2d(N), rng.standard_normal(N * N)


def test_jacobi_factor(system):
    A, b = system
    res = solvers.solve(A, b, method="jacobi", maxiter=400, rtol=0)
    assert observed_factor(res, 100) == pytest.approx(MU, abs=2e-3)


def test_gauss_seidel_factor_is_jacobi_squared(system):
    A, b = system
    res = solvers.solve(A, b, method="gauss-seidel", maxiter=300, rtol=0)
    assert observed_factor(res, 100) == pytest.approx(MU ** 2, abs=3e-3)


def test_sor_at_young_optimum(system):
    A, b = system
    res = solvers.solve(A, b, method="sor", omega=OMEGA_OPT, rtol=1e-10)
    # Young: rho = omega_opt - 1 (a Jordan block slows the observed rate a little)
    assert OMEGA_OPT - 1 - 0.01 < observed_factor(res, 20) < OMEGA_OPT - 1 + 0.08
    others = [solvers.solve(A, b, method="sor", omega=w, rtol=1e-10).iterations for w in (1.0, 1.5, 1.95)]
    assert res.iterations < min(others)


def test_sor_omega_one_is_gauss_seidel(system):
    A, b = system
    a = solvers.solve(A, b, method="sor", omega=1.0, maxiter=50, rtol=0)
    g = solvers.solve(A, b, method="gauss-seidel", maxiter=50, rtol=0)
    assert np.allclose(a.x, g.x, rtol=1e-13)


def test_sor_matches_classical_sweep():
    rng = np.random.default_rng(0)
    A = laplacian_2d(6).toarray()
    b = rng.standard_normal(36)
    x = np.zeros(36)
    w = 1.4
    for _ in range(3):
        for i in range(36):
            sigma = A[i] @ x - A[i, i] * x[i]
            x[i] = (1 - w) * x[i] + w * (b[i] - sigma) / A[i, i]
    res = solvers.solve(A, b, method="sor", omega=w, maxiter=3, rtol=0)
    assert np.allclose(res.x, x, rtol=1e-12)


def test_ssor_is_symmetric_and_converges(system):
    A, b = system
    res = solvers.solve(A, b, method="ssor", omega=1.7)
    assert res.converged
    gs = solvers.solve(A, b, method="gauss-seidel")
    assert res.iterations < gs.iterations


def test_set_omega_reuses_setup(system):
    A, b = system
    s = solvers.make_solver("sor", omega=1.0).setup(A)
    slow = s.solve(b).iterations
    s.set_omega(OMEGA_OPT)
    fast = s.solve(b)
    assert fast.iterations < slow / 4 and fast.options["omega"] == OMEGA_OPT


def test_adaptive_sor_climbs_to_the_optimum(system):
    A, b = system
    res = solvers.solve(A, b, method="sor", omega=1.0, adapt_every=5, rtol=1e-10)
    plain = solvers.solve(A, b, method="sor", omega=1.0, rtol=1e-10)
    assert res.converged and res.iterations < plain.iterations / 3
    assert OMEGA_OPT - 0.08 < res.options["omega_final"] <= OMEGA_OPT + 0.05
