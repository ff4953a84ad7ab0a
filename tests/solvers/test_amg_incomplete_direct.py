"""AMG (both types, solver and preconditioner), IC(0), ILU and the direct reference."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from pde_examples import diffusion
from tests.conftest import laplacian_2d, true_relres


@pytest.mark.parametrize("amg_type", ["sa", "rs"])
def test_amg_iterations_do_not_grow_with_size(amg_type):
    its = []
    for n in (32, 64, 128):
        A = laplacian_2d(n)
        res = solvers.solve(A, np.ones(n * n), method="cg", pc="amg", amg_type=amg_type)
        assert res.converged
        its.append(res.iterations)
    assert max(its) <= 20 and its[-1] <= its[0] + 4


def test_amg_solver_reuses_hierarchy():
    A = laplacian_2d(64)
    s = solvers.make_solver("amg").setup(A)
    r1 = s.solve(np.ones(4096))
    r2 = s.solve(np.arange(4096.0))
    assert r1.converged and r2.converged and r2.setup_time == r1.setup_time
    assert r1.iterations < 25


def test_amg_bad_type():
    with pytest.raises(solvers.InvalidInputError, match="amg_type"):
        solvers.make_solver("cg", pc="amg", amg_type="xyz")


def test_ic0_is_exact_for_tridiagonal():
    A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(30, 30), format="csr")
    res = solvers.solve(A, np.ones(30), method="cg", pc="ic", rtol=1e-12)
    assert res.iterations == 1


def test_ic0_factor_matches_pattern_identity():
    # IC(0): (L D L^T)_ij == A_ij on the pattern of A
    A = laplacian_2d(6)
    pc = solvers.registry.get("pc", "ic")().setup(A)
    n = A.shape[0]
    L = (pc.L + sp.eye(n)).toarray()
    U = (pc.U + sp.diags(1.0 / pc.uinv)).toarray()
    P = L @ U
    pattern = A.toarray() != 0
    assert np.allclose(P[pattern], A.toarray()[pattern])


def test_ic_shift_rescues_a_non_m_matrix(rng):
    M = rng.standard_normal((60, 60))
    A = sp.csr_matrix(M @ M.T + 0.5 * np.eye(60))  # SPD and dense: IC(0) = Cholesky, fine; sparsify it
    A = sp.csr_matrix(np.where(np.abs(A.toarray()) > 2.0, A.toarray(), 0.0) + 40 * np.eye(60))
    A = (A + A.T) / 2
    res = solvers.solve(A, rng.standard_normal(60), method="cg", pc="ic")
    assert res.converged


def test_ilu_on_diffusion_is_spd_safe_with_gmres():
    p = diffusion((24, 24), sigma=1.0, seed=2)
    res = solvers.solve(p, p.b, method="gmres", pc="ilu", rtol=1e-10)
    assert res.converged and res.iterations < 10
    assert true_relres(p.A, res.x, p.b) <= 1e-10


def test_direct_reference_and_singular_error():
    p = diffusion((10, 10), seed=1)
    res = solvers.solve(p, p.b, method="direct")
    assert res.iterations == 1 and true_relres(p.A, res.x, p.b) < 1e-13
    singular = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(solvers.SolverError, match="singular"):
        solvers.solve(singular, np.ones(2), method="direct")
