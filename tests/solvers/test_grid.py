"""GridOperator: stencil products, assembly, masks."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from solvers import GridOperator, InvalidInputError
from tests.conftest import laplacian_2d

FIVE_POINT = {(0, 0): 4.0, (1, 0): -1.0, (-1, 0): -1.0, (0, 1): -1.0, (0, -1): -1.0}


def test_matches_assembled_laplacian(rng):
    op = GridOperator((9, 9), FIVE_POINT)
    A = laplacian_2d(9)
    assert abs(op.to_csr() - A).max() == 0
    x = rng.standard_normal(81)
    assert np.allclose(op.matvec(x), A @ x)
    assert op.shape == (81, 81)


def test_variable_coefficients_3d(rng):
    k = rng.random((4, 5, 6)) + 0.5
    stencil = {(0, 0, 0): 6 * k, (1, 0, 0): -k, (-1, 0, 0): -k, (0, 1, 0): -k, (0, -1, 0): -k,
               (0, 0, 1): -k, (0, 0, -1): -k}
    op = GridOperator((4, 5, 6), stencil)
    x = rng.standard_normal(120)
    assert np.allclose(op.to_csr() @ x, op.matvec(x))


def test_mask_makes_solid_cells_inert(rng):
    mask = np.ones((8, 8), bool)
    mask[3:5, 3:5] = False
    op = GridOperator((8, 8), FIVE_POINT, mask=mask)
    A = op.to_csr()
    solid = np.flatnonzero(~mask.ravel())
    assert np.all(A[solid][:, solid].toarray() == np.eye(4))
    assert A[solid].nnz == 4 and A[:, solid].nnz == 4  # no coupling either way
    x = rng.standard_normal(64)
    assert np.allclose(A @ x, op.matvec(x))
    b = np.where(mask.ravel(), 1.0, 0.0)
    res = solvers.solve(op, b, method="cg", pc="amg")
    assert res.converged and np.all(res.x[solid] == 0)


def test_bad_grids():
    with pytest.raises(InvalidInputError, match="offset"):
        GridOperator((4, 4), {(0, 0, 0): 1.0})
    with pytest.raises(InvalidInputError, match="mask"):
        GridOperator((4, 4), FIVE_POINT, mask=np.ones((3, 3), bool))
    with pytest.raises(InvalidInputError, match="NaN"):
        GridOperator((4, 4), {(0, 0): np.nan})
