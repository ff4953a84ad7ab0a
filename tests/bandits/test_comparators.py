"""The authors' comparators (bandits.comparators): Young's omega from the exact Jacobi radius, the
golden-section search, and the 96-point best-fixed grid."""
import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from bandits.comparators import (FINE_OMEGAS, GOLDEN_EVALUATIONS, GOLDEN_SEEDS, golden_section_omega,
                                 instance_optimal, jacobi_spectral_radius, young_omega)
from bandits.evaluation import full_information_table
from bandits.tuner import DEFAULT_OMEGAS
from pde_examples.sequences import heat_sequence, laplacian_delsq, shifted_laplacian_sequence
from solvers import InvalidInputError


def _dense_jacobi_radius(A):
    A = A.toarray()
    return float(np.max(np.abs(np.linalg.eigvals(np.eye(len(A)) - A / np.diag(A)[:, None]))))


def test_fine_grid_is_the_authors_96_points_and_holds_the_20_arms():
    grid = np.asarray(FINE_OMEGAS)
    assert len(grid) == 96
    np.testing.assert_allclose(grid, np.linspace(1.0, 1.95, 96), rtol=0, atol=1e-15)
    assert list(grid[::5]) == list(DEFAULT_OMEGAS)


@pytest.mark.parametrize("c", [-0.15, 0.0, 0.3])
def test_jacobi_radius_and_young_omega_against_dense_eigenvalues(c):
    A = (laplacian_delsq(10) + c * sp.eye(100)).tocsr()
    mu = _dense_jacobi_radius(A)
    # closed form for the shifted 5-point Laplacian: 4 cos(pi / 11) / (4 + c)
    assert mu == pytest.approx(4 * np.cos(np.pi / 11) / (4 + c), abs=1e-12)
    assert jacobi_spectral_radius(A) == pytest.approx(mu, abs=1e-12)
    assert young_omega(A) == pytest.approx(2 / (1 + np.sqrt(1 - mu**2)), abs=1e-12)


def test_jacobi_radius_of_a_nonsymmetric_matrix():
    # convection-diffusion-like: the general (non-symmetric) eigenvalue path
    n = 30
    A = sp.diags([-1.3 * np.ones(n - 1), 4 * np.ones(n), -0.7 * np.ones(n - 1)], [-1, 0, 1]).tocsr()
    mu = _dense_jacobi_radius(A)
    assert jacobi_spectral_radius(A) == pytest.approx(mu, abs=1e-12)
    assert mu == pytest.approx(2 * np.sqrt(1.3 * 0.7) / 4 * np.cos(np.pi / (n + 1)), abs=1e-12)


def test_jacobi_radius_refuses_a_zero_diagonal():
    with pytest.raises(InvalidInputError, match="zero on its diagonal"):
        jacobi_spectral_radius(sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 2.0]])))


@pytest.mark.parametrize("m, rtol", [(10, 1e-8), (16, 1e-10)])
def test_young_count_against_a_fine_grid(m, rtol):
    # Young's omega is the asymptotic optimum; at a finite tolerance the count-optimal omega may sit a
    # little above it (10x10 at 1e-8: 39 at Young's 1.5604, 38 at 1.565-1.575), so the continuous
    # comparator is within one iteration of the best of a 0.01-step grid, and no worse than the 20 arms.
    A = laplacian_delsq(m)
    b = np.random.default_rng(0).standard_normal(m * m)
    young = solvers.solve(A, b, method="sor", omega=young_omega(A), rtol=rtol)
    assert young.converged
    fine = np.arange(1.0, 1.995, 0.01)
    counts = np.array([solvers.solve(A, b, method="sor", omega=w, rtol=rtol).iterations for w in fine])
    arms = np.array([solvers.solve(A, b, method="sor", omega=w, rtol=rtol).iterations for w in DEFAULT_OMEGAS])
    assert young.iterations <= counts.min() + 1
    assert young.iterations <= arms.min()
    assert young.iterations < 0.5 * counts[0]   # far from Gauss-Seidel


def test_instance_optimal_sor_solves_at_young_omega():
    problems = list(shifted_laplacian_sequence(6, "high", seed=0))
    omegas, its = instance_optimal(problems)
    for p, w, k in zip(problems, omegas, its):
        assert w == pytest.approx(young_omega(p.A), abs=1e-14)
        assert k == solvers.solve(p.A, p.b, method="sor", omega=w).iterations
    table = full_information_table(problems, values=FINE_OMEGAS)
    assert np.all(its <= table.min(axis=1) + 4)   # near the per-instance best of the 96-point grid
    assert its.sum() <= table[:, ::5].min(axis=1).sum() * 1.05


def test_golden_section_on_a_smooth_function():
    calls = []

    def f(w):
        calls.append(w)
        return int(round(1e4 * (w - 1.62) ** 2))

    gs = golden_section_omega(f)
    assert len(calls) == GOLDEN_EVALUATIONS and len(gs.omegas) == GOLDEN_EVALUATIONS
    assert list(gs.omegas[:5]) == list(GOLDEN_SEEDS)
    # bracket [1.5, 1.75] after the seeds; 7 golden steps shrink it to about 0.25 * 0.618^6 = 0.014
    assert abs(gs.omega - 1.62) < 0.015
    assert f(gs.omega) <= 2
    # seeded counts are used as given (no evaluation at the seeds)
    calls.clear()
    gs2 = golden_section_omega(f, seed_counts=[f(w) for w in GOLDEN_SEEDS])
    assert len(calls) == 5 + GOLDEN_EVALUATIONS - 5 and gs2.omega == gs.omega


def test_golden_section_bad_input():
    with pytest.raises(InvalidInputError):
        golden_section_omega(lambda w: 1, seeds=[1.5, 1.2])
    with pytest.raises(InvalidInputError):
        golden_section_omega(lambda w: 1, evaluations=3)


def test_golden_section_against_brute_force_on_heat_instances():
    # a small heat sequence (16 x 16 unknowns, large time step so the coefficient sweeps 0 .. 10)
    problems = list(heat_sequence(12, nx=17, dt=0.07))
    picked = [problems[i] for i in (1, 2, 8, 10)]
    omegas, its = instance_optimal(picked, method="cg", pc="ssor")
    table = full_information_table(picked, method="cg", pc="ssor", values=FINE_OMEGAS)
    best = table.min(axis=1)
    assert np.all(its <= best + 1), (its, best)        # the 12-evaluation search loses at most one iteration
    assert its.sum() <= table.sum(axis=0).min()         # and beats any fixed omega on the 96-point grid
    for w, row, k in zip(omegas, table, its):           # its omega lies among the near-best grid omegas
        near = np.asarray(FINE_OMEGAS)[row <= k]
        assert near.min() - 0.01 <= w <= near.max() + 0.01
    assert its[2:].min() >= 10 and np.all(its[2:] == best[2:])   # the large-coefficient steps: exact
