"""Geometric multigrid on tensor grids (solvers.preconditioners.geometric): grid detection from the sparsity
pattern, linear interpolation, Galerkin hierarchy, and the cycle against PyAMG's own."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from solvers.preconditioners.geometric import cycle, detect_grid, geometric_solver, linear_interpolation
from tests.conftest import laplacian_2d


def laplacian_3d(n: int) -> sp.csr_matrix:
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    eye = sp.eye(n)
    return (sp.kron(sp.kron(T, eye), eye) + sp.kron(sp.kron(eye, T), eye) + sp.kron(sp.kron(eye, eye), T)).tocsr()


def test_detect_grid_2d_3d_nine_point_and_refusals():
    assert detect_grid(laplacian_2d(20)) == (20, 20)
    assert detect_grid(laplacian_3d(6)) == (6, 6, 6)
    nine = laplacian_2d(9) + sp.kron(sp.diags([1.0, 1.0], [-1, 1], shape=(9, 9)),
                                     sp.diags([1.0, 1.0], [-1, 1], shape=(9, 9)))
    assert detect_grid(nine) == (9, 9)  # diagonal neighbours are grid neighbours
    perm = np.random.default_rng(0).permutation(400)
    assert detect_grid(laplacian_2d(20)[perm][:, perm]) is None  # not in C order on a grid any more
    assert detect_grid(laplacian_2d(20)[:399, :399]) is None  # not a square number of unknowns
    wide = sp.diags([1.0, 4.0, 1.0], [-2, 0, 2], shape=(400, 400))
    assert detect_grid(wide) is None  # couples vertices two apart


@pytest.mark.parametrize("n", [5, 8, 9, 64])
def test_linear_interpolation_reproduces_linear_functions(n):
    P = linear_interpolation(n)
    x = np.linspace(0.0, 1.0, n)
    coarse = np.unique(np.append(np.arange(0, n, 2), n - 1))
    assert P.shape == (n, coarse.size) == (n, (n + 2) // 2)
    assert np.allclose(P @ (3 * x[coarse] - 1), 3 * x - 1)  # exact on linear functions, also for even n
    assert np.allclose(P.sum(axis=1), 1.0)


def test_galerkin_hierarchy_and_v_cycle_on_poisson():
    A = laplacian_2d(65)
    ml = geometric_solver(A, (65, 65), max_coarse=100)
    assert [lv.A.shape[0] for lv in ml.levels] == [65 ** 2, 33 ** 2, 17 ** 2, 9 ** 2]
    for fine, coarse in zip(ml.levels[:-1], ml.levels[1:]):
        assert abs(coarse.A - fine.R @ fine.A @ fine.P).max() < 1e-12
    rng = np.random.default_rng(1)
    b = rng.standard_normal(A.shape[0])
    x = np.zeros_like(b)
    norms = [np.linalg.norm(b)]
    for _ in range(6):  # stationary multigrid: x += cycle(b - A x)
        x += cycle(ml, b - A @ x, "V")
        norms.append(np.linalg.norm(b - A @ x))
    factor = (norms[-1] / norms[1]) ** (1 / 5)
    assert factor < 0.15  # textbook multigrid: about 0.05-0.1 per V(1,1)-cycle with Gauss-Seidel


@pytest.mark.parametrize("kind", ["V", "W", "F"])
def test_cycle_matches_pyamg(kind):
    A = (laplacian_2d(33) + 0.3j * sp.eye(33 * 33)).tocsr()
    ml = geometric_solver(A, (33, 33), max_coarse=50, smoother=("jacobi", {"omega": 0.5, "withrho": False}))
    b = np.random.default_rng(2).standard_normal(A.shape[0]) + 0j
    assert np.allclose(cycle(ml, b, kind), ml.aspreconditioner(cycle=kind) @ b, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="cycle must be"):
        cycle(ml, b, "X")
