"""The threaded SpGEMM of the AMG set-up against SciPy's product: same entries, same values to the bit."""
from __future__ import annotations

import numba as nb
import numpy as np
import pytest
import scipy.sparse as sp

from solvers.amg import spgemm as spgemm_module
from solvers.amg.spgemm import spgemm


def _canonical(M):
    M = M.tocsr().copy()
    M.sort_indices()
    return M


def _same(C, ref):
    C, ref = _canonical(C), _canonical(ref)
    assert C.shape == ref.shape
    assert np.array_equal(C.indptr, ref.indptr) and np.array_equal(C.indices, ref.indices)
    assert np.array_equal(C.data, ref.data)  # the same summation order: bitwise equal


@pytest.mark.parametrize("dtypes", [(np.float64, np.float64), (np.float32, np.float32), (np.float32, np.float64),
                                    (np.complex128, np.float64), (np.complex64, np.complex64)],
                         ids=lambda d: f"{np.dtype(d[0]).name}x{np.dtype(d[1]).name}")
def test_matches_scipy_on_random_rectangular(dtypes):
    rng = np.random.default_rng(0)
    A = sp.random(300, 200, density=0.03, format="csr", random_state=1, dtype=np.float64)
    B = sp.random(200, 150, density=0.05, format="csr", random_state=2, dtype=np.float64)
    A = A.astype(dtypes[0])
    B = B.astype(dtypes[1])
    if np.dtype(dtypes[0]).kind == "c":
        A.data = A.data + 1j * rng.standard_normal(A.nnz).astype(A.dtype)
    C = spgemm(A, B)
    ref = (A @ B).tocsr()
    assert C.dtype == ref.dtype
    _same(C, ref)


def test_empty_rows_columns_and_cancellation():
    A = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 3.0]]))
    B = sp.csr_matrix(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 5.0]]))
    C = spgemm(A, B)  # row 0 cancels to an exact zero, which SciPy drops too
    _same(C, A @ B)
    assert C.nnz == (A @ B).nnz == 2
    assert spgemm(sp.csr_matrix((4, 3)), sp.csr_matrix((3, 2))).nnz == 0


def test_galerkin_product_of_a_hierarchy_matches_scipy():
    from pde_examples.sequences import laplacian_delsq
    from solvers.amg.hierarchy import smoothed_aggregation

    A = laplacian_delsq(60)
    lvl = smoothed_aggregation(A).levels[0]
    _same(spgemm(A, lvl.P), A @ lvl.P)
    _same(spgemm(lvl.R, spgemm(A, lvl.P)), lvl.R @ (A @ lvl.P))


def test_blocks_and_threads_do_not_change_the_product(monkeypatch):
    A = sp.random(500, 400, density=0.02, format="csr", random_state=3)
    B = sp.random(400, 300, density=0.02, format="csr", random_state=4)
    ref = spgemm(A, B)
    monkeypatch.setattr(spgemm_module, "MARKER_BYTES", 1)  # one block per thread
    one = spgemm(A, B)
    nb.set_num_threads(1)
    try:
        serial = spgemm(A, B)
    finally:
        nb.set_num_threads(nb.config.NUMBA_NUM_THREADS)
    for C in (one, serial):
        assert np.array_equal(C.indptr, ref.indptr) and np.array_equal(C.indices, ref.indices)
        assert np.array_equal(C.data, ref.data)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="do not match"):
        spgemm(sp.eye(3, format="csr"), sp.eye(4, format="csr"))
