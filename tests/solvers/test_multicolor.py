"""Multicolour relaxation and the Jacobi-smoothed AMG cycle: the GPU algorithms, checked under numpy."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from pde_examples import diffusion, poisson
from solvers.kernels import greedy_coloring
from solvers.multicolor import MulticolorSplitting
from tests.conftest import laplacian_2d, true_relres


def test_coloring_is_proper_and_red_black_on_stencils():
    for A in (laplacian_2d(9), poisson((5, 6, 7)).A):
        colours = greedy_coloring(A.indptr, A.indices)
        rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
        off = rows != A.indices
        assert np.all(colours[rows[off]] != colours[A.indices[off]])
        assert colours.max() == 1  # two colours: red-black
    B = sp.random(50, 50, density=0.2, random_state=0, format="csr")
    B = (B + B.T).tocsr()
    colours = greedy_coloring(B.indptr, B.indices)
    rows = np.repeat(np.arange(50), np.diff(B.indptr))
    off = rows != B.indices
    assert np.all(colours[rows[off]] != colours[B.indices[off]])


@pytest.mark.parametrize("method", ["jacobi", "gauss-seidel", "sor"])
def test_multicolor_order_converges_like_lexicographic(method):
    A = laplacian_2d(24)
    b = np.random.default_rng(0).standard_normal(576)
    opts = {"omega": 1.7} if method in ("sor", "ssor") else {}
    lex = solvers.solve(A, b, method=method, rtol=1e-8, maxiter=20_000, **opts)
    mc = solvers.solve(A, b, method=method, rtol=1e-8, maxiter=20_000, ordering="multicolor", **opts)
    assert mc.converged and true_relres(A, mc.x, b) <= 1e-8
    assert len(mc.residual_norms) == mc.iterations + 1
    # red-black keeps Young's theory on the model problem (same asymptotic rate): counts within 20%
    assert abs(mc.iterations - lex.iterations) <= 0.2 * lex.iterations + 2


def test_red_black_ssor_iteration_is_slow_but_its_preconditioner_is_good():
    """Documented behaviour: in red-black order the backward sweep repeats the last colour, so SSOR as an
    iteration loses omega's acceleration; as a CG preconditioner it stays effective."""
    A = laplacian_2d(24)
    b = np.random.default_rng(0).standard_normal(576)
    lex = solvers.solve(A, b, method="ssor", omega=1.7, maxiter=50_000)
    mc = solvers.solve(A, b, method="ssor", omega=1.7, ordering="multicolor", maxiter=50_000)
    assert mc.converged and mc.iterations > 5 * lex.iterations
    plain = solvers.solve(A, b, method="cg")
    from solvers.multicolor import MulticolorSplitting

    class RedBlackSSOR:
        symmetric = True

        def setup(self, A):
            self.mc = MulticolorSplitting(A)

        def apply(self, r):
            return self.mc.apply(r, 1.0, symmetric=True)

    pcg = solvers.solve(A, b, method="cg", pc=RedBlackSSOR())
    assert pcg.converged and pcg.iterations < 0.75 * plain.iterations


def test_multicolor_stops_at_the_first_iterate_that_meets_the_tolerance():
    A = laplacian_2d(12)
    b = np.ones(144)
    res = solvers.solve(A, b, method="sor", omega=1.5, ordering="multicolor", rtol=1e-6)
    assert res.residual_norms[-1] <= 1e-6 * np.linalg.norm(b) < res.residual_norms[-2]
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(b - A @ res.x), rel=1e-10)


def test_multicolor_ssor_preconditioner_is_symmetric():
    A = poisson((6, 6)).A
    mc = MulticolorSplitting(A)
    M = np.column_stack([mc.apply(e, 1.4, symmetric=True) for e in np.eye(36)])
    assert np.allclose(M, M.T, atol=1e-12)


def test_jacobi_smoothed_amg_cycle_as_preconditioner():
    p = diffusion((96, 96), sigma=1.0, seed=1)
    res = solvers.solve(p, p.b, method="cg", pc="amg", smoother="jacobi", rtol=1e-10)
    assert res.converged and res.iterations <= 30
    alone = solvers.solve(p, p.b, method="amg", smoother="jacobi", rtol=1e-8, maxiter=200)
    assert alone.converged


def test_jacobi_cycle_iterations_do_not_grow_with_size():
    its = [solvers.solve(laplacian_2d(n), np.ones(n * n), method="cg", pc="amg", smoother="jacobi").iterations
           for n in (32, 64, 128)]
    assert its[-1] <= its[0] + 5


def test_gpu_only_combinations_are_explained():
    with pytest.raises(solvers.InvalidInputError, match="ordering"):
        solvers.solve(laplacian_2d(4), np.ones(16), method="sor", ordering="diagonal")
    with pytest.raises(solvers.InvalidInputError, match="adapt_every"):
        solvers.solve(laplacian_2d(4), np.ones(16), method="sor", ordering="multicolor", adapt_every=5)
