"""Our smoothed-aggregation set-up (solvers.amg): hierarchy properties, the GPU's array-namespace forms run
under NumPy, re-set-up, and bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import solvers
from pde_examples import diffusion
from solvers.amg import Cycle, smoothed_aggregation
from solvers.amg.aggregate import mis2, mis2_aggregate
from solvers.amg.ops import closed_neighbour_max, restrict
from solvers.amg.spectral import dinv_a_radius
from solvers.amg.strength import symmetric_strength
from solvers.amg.tentative import tentative_prolongator
from tests.conftest import laplacian_2d


def laplacian_3d(n: int) -> sp.csr_matrix:
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    eye = sp.eye(n)
    return (sp.kron(sp.kron(T, eye), eye) + sp.kron(sp.kron(eye, T), eye) + sp.kron(sp.kron(eye, eye), T)).tocsr()


def grid_modes(n: int) -> np.ndarray:
    """Constant, x and y on an n x n grid: three near-null-space vectors."""
    x, y = np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float), indexing="ij")
    return np.column_stack([np.ones(n * n), x.ravel(), y.ravel()])


@pytest.mark.parametrize("k", [1, 3])
def test_hierarchy_properties(k):
    n = 24
    A = laplacian_2d(n)
    B = grid_modes(n)[:, :k]
    h = smoothed_aggregation(A, B, max_coarse=50)
    assert len(h.levels) >= 3
    Bl = B
    for lvl, nxt in zip(h.levels[:-1], h.levels[1:]):
        T, P = lvl.T.toarray(), lvl.P.toarray()
        # T has orthonormal columns, reproduces this level's B exactly from the next level's, P has full rank
        assert np.allclose(T.T @ T, np.eye(T.shape[1]), atol=1e-12)
        assert np.abs(T @ nxt.B - Bl).max() <= 1e-12 * np.abs(Bl).max()
        sv = np.linalg.svd(P, compute_uv=False)
        assert sv.min() > 1e-3 * sv.max()
        # the coarse operator is P^T A P and symmetric
        Ac = nxt.A.toarray()
        ref = P.T @ lvl.A.toarray() @ P
        assert np.abs(Ac - ref).max() <= 1e-12 * np.abs(ref).max()
        assert np.abs(Ac - Ac.T).max() <= 1e-12 * np.abs(Ac).max()
        np.testing.assert_array_equal(lvl.R.toarray(), P.T)
        Bl = nxt.B


def test_dependent_near_nullspace_columns_are_dropped():
    # x and 2x are dependent on every aggregate: one coarse unknown each, and T Bc = B still
    n = 12
    B = grid_modes(n)[:, [0, 1]]
    B = np.column_stack([B, 2 * B[:, 1]])
    S = symmetric_strength(laplacian_2d(n))
    agg, n_agg = mis2_aggregate(S)
    T, Bc = tentative_prolongator(agg, n_agg, B)
    assert T.shape[1] <= 2 * n_agg
    assert np.abs(T @ Bc - B).max() <= 1e-12 * np.abs(B).max()


def test_spectral_radius_estimate_is_close():
    A = diffusion((30, 30), sigma=1.0, seed=3).A.tocsr()
    h = smoothed_aggregation(A, max_coarse=40)
    for lvl in h.levels[:-1]:
        d = lvl.A.diagonal()
        exact = spla.eigsh(sp.diags(1 / np.sqrt(d)) @ lvl.A @ sp.diags(1 / np.sqrt(d)), k=1,
                           which="LA", return_eigenvectors=False)[0]
        assert exact * 0.97 <= lvl.rho <= exact * (1 + 1e-10)
        assert abs(dinv_a_radius(lvl.A) - lvl.rho) == 0.0  # deterministic
        # the GPU's array-namespace Lanczos under NumPy against the host's compiled one: same Ritz value
        # up to rounding (the two sum in other orders)
        assert abs(dinv_a_radius(lvl.A, vectorized=True) - lvl.rho) <= 1e-12 * lvl.rho


def test_serial_and_threaded_builds_are_distinct_kernels():
    """The serial build of a set-up kernel must not be the threaded one loaded from a shared cache."""
    from solvers.amg import aggregate, ops

    for serial, threaded in [(ops._neighbour_max_serial, ops._neighbour_max_threaded),
                             (aggregate._mis2_serial, aggregate._mis2_threaded)]:
        assert not serial.targetoptions.get("parallel") and threaded.targetoptions["parallel"]
        assert serial.py_func.__qualname__ != threaded.py_func.__qualname__


def test_mis2_roots_are_three_edges_apart_and_every_node_aggregated():
    S = symmetric_strength(diffusion((20, 20), seed=1).A.tocsr())
    roots = mis2(S, seed=5)
    hop2 = ((S + sp.eye(S.shape[0])) @ (S + sp.eye(S.shape[0]))).tocsr()
    r = np.flatnonzero(roots)
    between = hop2[r][:, r]
    assert between.nnz == r.size  # within two edges of a root there is no other root
    # maximal: every node is within two edges of a root
    assert (hop2 @ roots.astype(float) > 0).all()
    agg, n_agg = mis2_aggregate(S, seed=5)
    assert (agg >= 0).all() and set(np.unique(agg)) == set(range(n_agg))
    # aggregates are connected in S (each is a root's neighbourhood grown by neighbours)
    sizes = np.bincount(agg)
    assert 3 <= sizes.mean() <= 12


def test_gpu_forms_under_numpy_give_the_same_hierarchy():
    """The array-namespace forms the GPU runs (vectorized MIS(2) rounds, scatter-max) against the host's
    compiled kernels: same aggregates, same hierarchy."""
    A = diffusion((40, 40), sigma=1.0, seed=2).A.tocsr()
    S = symmetric_strength(A)
    key = np.random.default_rng(0).permutation(A.shape[0]).astype(np.int64)
    np.testing.assert_array_equal(closed_neighbour_max(S, key), closed_neighbour_max(S, key, vectorized=True))
    S_vec = symmetric_strength(A, vectorized=True)
    assert (S != S_vec).nnz == 0 and (S_vec.indptr == S.indptr).all() and S.nnz == A.nnz - A.shape[0]
    keep = key % 3 != 0
    R, R_vec = restrict(S, keep), restrict(S, keep, vectorized=True)
    assert (R != R_vec).nnz == 0 and 0 < R.nnz < S.nnz
    kept = np.flatnonzero(keep)
    assert (abs(R[kept][:, kept] - S[kept][:, kept]).max() == 0.0) and R[~keep].nnz == 0
    host = smoothed_aggregation(A, max_coarse=30)
    gpu_form = smoothed_aggregation(A, max_coarse=30, vectorized=True)
    assert len(host.levels) == len(gpu_form.levels) >= 3
    for a, b in zip(host.levels, gpu_form.levels):
        if a.agg is not None:
            np.testing.assert_array_equal(a.agg, b.agg)
        # same aggregates; the values differ by rounding only (the spectral estimates sum in other orders)
        assert abs(a.A - b.A).max() <= 1e-10 * abs(b.A).max()


def test_deterministic_for_a_seed_and_seed_matters():
    S = symmetric_strength(laplacian_2d(30))
    a1, _ = mis2_aggregate(S, seed=1)
    a2, _ = mis2_aggregate(S, seed=1)
    a3, _ = mis2_aggregate(S, seed=2)
    np.testing.assert_array_equal(a1, a2)
    assert (a1 != a3).any()


def test_resetup_equals_fresh_setup_with_the_same_aggregates():
    p1 = diffusion((32, 32), sigma=1.0, seed=1)
    p2 = diffusion((32, 32), sigma=1.0, seed=7)  # same grid, other coefficients: same pattern
    A1, A2 = p1.A.tocsr(), p2.A.tocsr()
    assert abs(A1 - A2).max() > 0.1
    h1 = smoothed_aggregation(A1, max_coarse=20)
    again = h1.resetup(A2)
    fresh = smoothed_aggregation(A2, max_coarse=20)  # theta = 0: the aggregates depend on the pattern only
    assert len(again.levels) == len(fresh.levels)
    for a, b in zip(again.levels, fresh.levels):
        if a.agg is not None:
            np.testing.assert_array_equal(a.agg, b.agg)
            assert abs(a.P - b.P).max() <= 1e-14
        assert abs(a.A - b.A).max() <= 1e-12 * abs(b.A).max()
    # the preconditioner's resetup applies the same operator as a fresh set-up
    AMGPC = solvers.registry.get("pc", "amg")
    pc = AMGPC(implementation="solverkit").setup(A1).resetup(A2)
    r = np.random.default_rng(0).standard_normal(A2.shape[0])
    z_fresh = AMGPC(implementation="solverkit").setup(A2).apply(r)
    np.testing.assert_allclose(pc.apply(r), z_fresh, rtol=1e-10, atol=1e-12 * np.abs(z_fresh).max())


def test_resetup_with_theta_keeps_old_aggregates_and_refuses_another_pattern():
    A1 = diffusion((20, 20), seed=1).A.tocsr()
    h = smoothed_aggregation(A1, theta=0.25)
    A2 = diffusion((20, 20), seed=9).A.tocsr()
    again = h.resetup(A2)
    np.testing.assert_array_equal(again.levels[0].agg, h.levels[0].agg)
    with pytest.raises(solvers.InvalidInputError, match="sparsity pattern"):
        h.resetup(laplacian_2d(21))


def test_method_amg_resetup():
    A1 = diffusion((24, 24), seed=1).A.tocsr()
    A2 = diffusion((24, 24), seed=2).A.tocsr()
    s = solvers.make_solver("amg", implementation="solverkit").setup(A1)
    res = s.resetup(A2).solve(np.ones(A2.shape[0]))
    assert res.converged and np.linalg.norm(np.ones(576) - A2 @ res.x) <= 1e-8 * 24


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0.0, -1.0, np.nan])
def test_nonpositive_diagonal_is_refused(value):
    A = laplacian_2d(10).tolil()
    A[17, 17] = value
    with pytest.raises(solvers.InvalidInputError, match="positive diagonal.*row 17"):
        smoothed_aggregation(A.tocsr())
    match = "NaN" if np.isnan(value) else "positive diagonal"  # solve() refuses NaN before the set-up
    with pytest.raises(solvers.InvalidInputError, match=match):
        solvers.solve(A.tocsr(), np.ones(100), method="cg", pc="amg", implementation="solverkit")


@pytest.mark.parametrize("B", [np.ones(99), np.ones((100, 0)), np.ones((101, 2)), np.ones((100, 2, 1)),
                               np.full(100, np.nan)])
def test_bad_near_nullspace_is_refused(B):
    A = laplacian_2d(10)
    with pytest.raises(solvers.InvalidInputError, match="near-null-space"):
        smoothed_aggregation(A, B)
    with pytest.raises(solvers.InvalidInputError, match="near-null-space"):
        solvers.registry.get("pc", "amg")(implementation="solverkit").setup(A, B)


def test_complex_or_infinite_near_nullspace_is_refused():
    A = laplacian_2d(10)
    with pytest.raises(solvers.InvalidInputError, match="B must be real"):
        smoothed_aggregation(A, np.ones(100) * (1 + 1j))
    B = np.ones(100)
    B[5] = np.inf
    with pytest.raises(solvers.InvalidInputError, match="NaN or Inf"):
        smoothed_aggregation(A, B)


def test_negative_definite_matrix_is_refused_with_the_way_out():
    with pytest.raises(solvers.InvalidInputError, match="positive diagonal.*100 zero, negative.*solve with -A"):
        smoothed_aggregation(-laplacian_2d(10))


def test_resetup_refuses_a_nonpositive_diagonal():
    A = laplacian_2d(12)
    h = smoothed_aggregation(A)
    bad = A.copy()
    bad.data[bad.indptr[30]:bad.indptr[31]][bad.indices[bad.indptr[30]:bad.indptr[31]] == 30] = -4.0
    with pytest.raises(solvers.InvalidInputError, match="positive diagonal.*row 30"):
        h.resetup(bad)


def test_explicit_zeros_are_no_coupling():
    """A row whose only off-diagonal entries are stored zeros is isolated: no aggregate (a zero row of T),
    not a member of its neighbours' aggregates, on the host and in the GPU's form alike."""
    A = laplacian_2d(12).tolil()
    for j in list(A.rows[40]):
        if j != 40:
            A[40, j] = 0.0
            A[j, 40] = 0.0
    A = A.tocsr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
        A[40, 41] = 0.0  # a stored zero (CSR assignment keeps it as an entry)
    assert A.nnz > A.count_nonzero()
    for vectorized in (False, True):
        h = smoothed_aggregation(A, max_coarse=10, vectorized=vectorized)
        agg = h.levels[0].agg
        assert agg[40] == -1 and (np.delete(agg, 40) >= 0).all()
        assert h.levels[0].T[40].nnz == 0
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    res = solvers.solve(A, b, method="cg", pc="amg", implementation="solverkit")
    assert res.converged and np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b)


def test_disconnected_graph_and_isolated_nodes():
    """Two Laplacians side by side plus rows with no coupling: each part gets its own aggregates, the
    isolated rows none (a zero row of T, treated by the smoother), and CG converges."""
    A = sp.block_diag([laplacian_2d(20), laplacian_3d(6), sp.diags(np.linspace(1.0, 3.0, 7))]).tocsr()
    h = smoothed_aggregation(A, max_coarse=20)
    agg = h.levels[0].agg
    assert (agg[-7:] == -1).all() and (agg[:-7] >= 0).all()
    assert not set(agg[:400]) & set(agg[400:616])
    # the GPU's form of the set-up treats the components and isolated rows alike
    np.testing.assert_array_equal(smoothed_aggregation(A, max_coarse=20, vectorized=True).levels[0].agg, agg)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    res = solvers.solve(A, b, method="cg", pc="amg", implementation="solverkit")
    assert res.converged and np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b)


def test_no_strong_coupling_at_all_is_a_one_level_hierarchy():
    A = sp.diags(np.linspace(1.0, 2.0, 50)).tocsr()
    h = smoothed_aggregation(A, max_coarse=10)
    assert len(h.levels) == 1
    b = np.ones(50)
    np.testing.assert_allclose(A @ Cycle(h).apply(b), b, rtol=1e-12)
