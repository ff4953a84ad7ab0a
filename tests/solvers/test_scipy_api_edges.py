"""Differential tests of the SciPy drop-ins on the inputs an audit found them to differ on: a negative
definite or indefinite matrix in cg, a singular system with a warm start, gmres' ``pr_norm`` where b
is rescaled, b at extreme scales, matrices symmetric to 8 digits. Each runs SciPy on the same input."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from solvers import InvalidInputError, scipy_api

L = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(100, 100), format="csr")


def _relres(A, x, b):
    return np.linalg.norm(b - A @ x) / np.linalg.norm(b)


@pytest.mark.parametrize("case", ["negative definite", "indefinite", "negative M"])
def test_cg_iterates_on_through_negative_curvature_as_scipy_does(case):
    A, M = {"negative definite": (-L, None), "indefinite": (sp.diags(np.linspace(-1, 2, 30)).tocsr(), None),
            "negative M": (L, -sp.eye(100, format="csr"))}[case]
    b = np.ones(A.shape[0])
    x, info = scipy_api.cg(A, b, rtol=1e-8, M=M)
    ref, ref_info = spla.cg(A, b, rtol=1e-8, M=M)
    assert info == ref_info == 0
    assert _relres(A, x, b) <= 1e-8 and _relres(A, ref, b) <= 1e-8
    np.testing.assert_allclose(x, ref, rtol=1e-6, atol=1e-8 * np.abs(ref).max())


def test_solve_still_stops_at_negative_curvature():
    import solvers

    res = solvers.solve(-L, np.ones(100), method="cg")
    assert res.reason == solvers.Reason.DIVERGED_INDEFINITE_MAT and res.iterations == 0


@pytest.mark.parametrize("name", ["cg", "gmres", "minres", "bicgstab"])
def test_a_warm_start_keeps_its_null_space_component_as_in_scipy(name):
    """Neumann 1-D Laplacian, consistent b: SciPy keeps x0's constant; so do the drop-ins."""
    T = L.tolil()
    T[0, 0] = T[-1, -1] = 1.0
    T = T.tocsr()
    b = np.sin(np.arange(100.0))
    b -= b.mean()
    x0 = np.full(100, 3.0)
    x, info = getattr(scipy_api, name)(T, b, x0=x0, rtol=1e-10)
    ref, ref_info = getattr(spla, name)(T, b, x0=x0, rtol=1e-10)
    assert info == 0 and ref_info == 0
    assert x.mean() == pytest.approx(ref.mean(), abs=1e-6) and x.mean() == pytest.approx(3.0, abs=1e-6)
    assert _relres(T, x, b) <= 1e-10


def test_gmres_pr_norm_where_b_is_rescaled_matches_scipy():
    """float32 b of entries near 1e10: solve() rescales b (beyond max^(1/4) = 1.4e9 of float32, where a
    residual's squares would near overflow); the callback still gets ||r|| / ||b|| in the user's units."""
    N = L.astype(np.float32)
    b = (1e10 * np.random.default_rng(0).standard_normal(100)).astype(np.float32)
    ours, ref = [], []
    scipy_api.gmres(N, b, callback=ours.append, callback_type="pr_norm", maxiter=2)
    spla.gmres(N, b, callback=ref.append, callback_type="pr_norm", maxiter=2)
    assert len(ours) == len(ref) == 40
    np.testing.assert_allclose(ours[:20], ref[:20], rtol=1e-4)


@pytest.mark.parametrize("scale", [1e-170, 1e170])
@pytest.mark.parametrize("name", ["cg", "gmres", "minres", "bicgstab"])
def test_b_at_extreme_scales_is_solved(name, scale):
    """SciPy's norms under- or overflow here (its cg returns info 0 with x = b at 1e-170); ours solve."""
    b = np.random.default_rng(1).standard_normal(100)
    x, info = getattr(scipy_api, name)(L, b * scale, rtol=1e-8)
    assert info == 0 and _relres(L, x / scale, b) <= 1e-8


def test_symmetry_check_refuses_clear_asymmetry_only():
    rng = np.random.default_rng(2)
    b = np.ones(100)
    eight_digits = L.copy()
    eight_digits.data = eight_digits.data * (1 + 1e-8 * rng.standard_normal(eight_digits.nnz))
    x, info = scipy_api.cg(eight_digits, b, rtol=1e-8)
    ref, ref_info = spla.cg(eight_digits, b, rtol=1e-8)
    assert info == ref_info == 0 and _relres(eight_digits, x, b) <= 1e-8
    skewed = L.tolil()
    skewed[0, 1] = -1.01  # relative asymmetry 6e-4, far above the 2e-6 refused
    with pytest.raises(InvalidInputError, match="not symmetric"):
        scipy_api.cg(skewed.tocsr(), b)


def test_a_psolve_on_a_preconditions_as_in_scipy():
    """SciPy's make_system takes ``A.psolve`` as M when M is None; so do the drop-ins (same iterations)."""
    rng = np.random.default_rng(3)
    d = rng.uniform(1.0, 100.0, 100)
    K = (sp.diags(d) @ L @ sp.diags(d)).tocsr() + sp.eye(100)  # badly scaled: Jacobi helps a lot

    class WithPsolve(spla.LinearOperator):
        def __init__(self):
            super().__init__(np.float64, K.shape)

        def _matvec(self, v):
            return K @ np.ravel(v)

        def psolve(self, r):
            return np.ravel(r) / K.diagonal()

    b = np.ones(100)
    counts = {}
    for name, f in (("ours", scipy_api.cg), ("scipy", spla.cg)):
        its = []
        x, info = f(WithPsolve(), b, rtol=1e-8, maxiter=2000, callback=lambda xk: its.append(1))
        assert info == 0 and _relres(K, x, b) <= 1e-8
        counts[name] = len(its)
    plain = []
    scipy_api.cg(K, b, rtol=1e-8, maxiter=2000, callback=lambda xk: plain.append(1))
    assert abs(counts["ours"] - counts["scipy"]) <= 1 and counts["ours"] < len(plain) / 2, (counts, len(plain))
