"""Discretizations: second-order accuracy against exact solutions, symmetry, consistency."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from pde_examples import anisotropic, convection_diffusion, diffusion, poisson


def _error(p, pc="amg"):
    x = solvers.solve(p, p.b, method="cg", pc=pc, rtol=1e-12).x
    if p.nullspace is not None:
        x = x - p.nullspace * (p.nullspace @ x)
    return np.linalg.norm(x - p.exact) / np.linalg.norm(p.exact)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("bc", ["dirichlet", "neumann"])
def test_poisson_is_second_order(dims, bc):
    coarse, fine = (12, 24) if dims == 3 else (32, 64)
    e1 = _error(poisson((coarse,) * dims, bc=bc))
    e2 = _error(poisson((fine,) * dims, bc=bc))
    order = np.log(e1 / e2) / np.log(fine / coarse)
    assert 1.8 < order < 2.3, (e1, e2)


def test_neumann_system_is_consistent():
    p = poisson((20, 20), bc="neumann")
    assert abs(p.nullspace @ p.b) < 1e-12 * np.linalg.norm(p.b)
    assert np.linalg.norm(p.A @ p.nullspace) < 1e-10


@pytest.mark.parametrize("make", [lambda: diffusion((16, 16)), lambda: diffusion((6, 6, 6)), lambda: anisotropic((16, 16)),
                                  lambda: poisson((10, 10))])
def test_symmetric_positive_definite(make):
    p = make()
    A = p.A.toarray()
    assert np.allclose(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0
    assert np.allclose(p.grid.matvec(p.b), p.A @ p.b)


def test_diffusion_is_seeded_and_constant_k_is_poisson():
    a, b = diffusion((16, 16), seed=4), diffusion((16, 16), seed=4)
    assert (a.A != b.A).nnz == 0
    assert (a.A != diffusion((16, 16), seed=5).A).nnz > 0
    flat = diffusion((16, 16), coefficient=np.ones((16, 16)))
    assert abs(flat.A - poisson((16, 16)).A).max() < 1e-9


def test_contrast_grows_with_sigma():
    k1 = diffusion((32, 32), sigma=0.5, seed=1).meta["coefficient"]
    k2 = diffusion((32, 32), sigma=2.0, seed=1).meta["coefficient"]
    assert k2.max() / k2.min() > 10 * k1.max() / k1.min()


def test_convection_is_nonsymmetric_m_matrix():
    p = convection_diffusion((16, 16), nu=0.01)
    A = p.A.toarray()
    assert not np.allclose(A, A.T)
    off = A - np.diag(np.diag(A))
    assert np.all(off <= 0) and np.all(np.diag(A) >= -off.sum(axis=1) - 1e-12)


@pytest.mark.parametrize("bad", [dict(shape=(1, 4)), dict(shape=(4, 4, 4, 4)), dict(shape=(4, 4), bc="robin")])
def test_bad_arguments(bad):
    with pytest.raises(solvers.InvalidInputError):
        poisson(**bad)
