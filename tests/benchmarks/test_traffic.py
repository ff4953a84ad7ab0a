"""The byte model of ``benchmarks.compare core``: counts checked by hand on small matrices."""
from __future__ import annotations

import doctest
import functools
import types

import numpy as np
import pytest
import scipy.sparse as sp
from pyamg.relaxation.relaxation import gauss_seidel

from benchmarks import traffic
from benchmarks.traffic import (amg_cycle_bytes, cg_iteration_bytes, residual_bytes, sparse_bytes, spmv_bytes,
                                stationary_iteration_bytes, triangle_bytes)
from pde_examples import poisson


def tridiagonal(n: int = 10, dtype=np.float64) -> sp.csr_matrix:
    return sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n), format="csr", dtype=dtype)


def with_int64_indices(A: sp.csr_matrix) -> sp.csr_matrix:
    B = A.copy()
    B.indptr = B.indptr.astype(np.int64)
    B.indices = B.indices.astype(np.int64)
    return B


def test_csr_matvec_bytes_count_real_index_and_value_sizes():
    A = tridiagonal()  # 10 rows, 28 stored entries, int32 indices
    assert (A.indices.dtype, A.nnz) == (np.int32, 28)
    assert sparse_bytes(A) == 11 * 4 + 28 * 4 + 28 * 8 == 380
    assert spmv_bytes(A) == 380 + 2 * 10 * 8 == 540
    assert residual_bytes(A) == 540 + 80
    A64 = with_int64_indices(A)
    assert sparse_bytes(A64) == 11 * 8 + 28 * 8 + 28 * 8 == 536
    assert spmv_bytes(A64) == 536 + 160
    A32 = tridiagonal(dtype=np.float32)
    assert spmv_bytes(A32) == 11 * 4 + 28 * 4 + 28 * 4 + 2 * 10 * 4 == 348


def test_cg_iteration_bytes_on_the_benchmarked_poisson_matrix():
    A = poisson((100, 100)).A  # 10,000 unknowns, 5-point stencil: 5 * 10,000 - 4 * 100 entries
    n, nnz = 10_000, 49_600
    assert A.nnz == nnz and A.indices.dtype == np.int32
    csr = (n + 1) * 4 + nnz * 4 + nnz * 8
    # mat-vec (matrix, p, Ap) + p = r + beta p (3 vectors) + fused x, r update (6 vectors)
    assert cg_iteration_bytes(A, recompute_every=0) == csr + (2 + 3 + 6) * n * 8 == 1_515_204
    # a preconditioner adds the r.z pass
    assert cg_iteration_bytes(A, preconditioned=True, recompute_every=0) == 1_515_204 + 2 * n * 8
    # every 50th iteration: NumPy's x += alpha p (5 vectors) and the true residual replace the fused update
    extra = (5 * n * 8 + csr + 3 * n * 8 - 6 * n * 8) / 50
    assert cg_iteration_bytes(A) == pytest.approx(1_515_204 + extra, rel=1e-15)
    # the formula the GPU report used before (int32 indices) is the same count
    assert cg_iteration_bytes(A, recompute_every=0) == nnz * 12 + (n + 1) * 4 + 2 * n * 8 + 9 * n * 8
    assert cg_iteration_bytes(with_int64_indices(A), recompute_every=0) == 1_515_204 + (n + 1) * 4 + nnz * 4


def test_triangles_match_the_splitting_the_sweeps_read():
    rng = np.random.default_rng(1)
    A = (sp.random(200, 200, density=0.05, random_state=rng, format="csr") + sp.eye(200)).tocsr()
    for part, k in (("lower", -1), ("upper", 1)):
        T = (sp.tril if part == "lower" else sp.triu)(A, k, format="csr")
        assert triangle_bytes(A, part) == sparse_bytes(T)
    with pytest.raises(ValueError, match="lower"):
        triangle_bytes(A, "diagonal")


def test_stationary_iteration_bytes_per_method():
    A = tridiagonal()  # residual pass 620 bytes; each triangle: 11 * 4 + 9 * 12 = 152 bytes; vectors 80 bytes
    assert triangle_bytes(A, "lower") == triangle_bytes(A, "upper") == 152
    assert stationary_iteration_bytes(A, "jacobi") == 620 + 4 * 80 == 940
    assert stationary_iteration_bytes(A, "sor") == 620 + 152 + 6 * 80 == 1252
    assert stationary_iteration_bytes(A, "gauss-seidel") == 1252
    assert stationary_iteration_bytes(A, "ssor") == 620 + 2 * 152 + 12 * 80 == 1884
    with pytest.raises(ValueError, match="jacobi"):
        stationary_iteration_bytes(A, "chebyshev")


def test_amg_cycle_bytes_on_a_two_level_hierarchy():
    A = tridiagonal(4)  # 10 entries: 5 * 4 + 10 * 4 + 10 * 8 = 140 bytes
    P = sp.csr_matrix((np.ones(4), [0, 0, 1, 1], [0, 1, 2, 3, 4]), shape=(4, 2))  # 5*4 + 4*4 + 4*8 = 68
    R = P.T.tocsr()  # 3 * 4 + 4 * 4 + 4 * 8 = 60
    smoother = functools.partial(gauss_seidel, iterations=1, sweep="symmetric")
    fine = types.SimpleNamespace(A=A, P=P, R=R, presmoother=smoother, postsmoother=smoother)
    ml = types.SimpleNamespace(levels=[fine, types.SimpleNamespace(A=(R @ A @ P).tocsr())])
    assert (sparse_bytes(A), sparse_bytes(P), sparse_bytes(R)) == (140, 68, 60)
    level0 = (32  # x = 0
              + 4 * (140 + 3 * 32)  # two symmetric Gauss-Seidel calls, two passes each
              + (140 + 3 * 32)  # residual
              + (60 + 32 + 16)  # R r
              + (68 + 16 + 32 + 3 * 32))  # P e, x += P e
    coarse = 2 * 2 * 8 + 2 * 2 * 8  # dense pseudo-inverse times the coarse right-hand side
    assert amg_cycle_bytes(ml) == level0 + coarse == 1596
    forward = functools.partial(gauss_seidel, iterations=2, sweep="forward")  # also two passes
    ml.levels[0].presmoother = ml.levels[0].postsmoother = forward
    assert amg_cycle_bytes(ml) == 1596


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="CSR or BSR"):
        sparse_bytes(np.eye(3))


def test_docstring_examples():
    assert doctest.testmod(traffic).failed == 0
