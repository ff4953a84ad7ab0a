"""The one stopping rule (solvers.stopping), and its contract over every registered method.

Every method stops through ``solvers.stopping``: when converged the last residual is the first true residual
at or below the tolerance (``residual_norms[-1] <= tol < residual_norms[-2]``), the history has one entry per
iteration plus the initial one, and the same situation (maxiter, divergence, NaN) gives the same Reason
whichever method met it.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import solvers
from pde_examples import convection_diffusion, diffusion
from solvers import Reason, kernels
from solvers.combinations import combinations
from solvers.stopping import DTOL, Status, StoppingRule, check, cuda_defines, first_stop, to_reason

SPD_COMBOS = combinations(symmetric=True)
NONSYM_COMBOS = combinations(symmetric=False)
STATIONARY = ["jacobi", "gauss-seidel", "sor", "ssor"]
KRYLOV = ["cg", "fcg", "gmres"]


def _label(combo):
    m, p = combo
    return m + ("+" + p if p else "")


@pytest.fixture(scope="module")
def spd():
    return diffusion((10, 10), sigma=0.5, seed=3)


@pytest.fixture(scope="module")
def nonsym():
    return convection_diffusion((10, 10), nu=0.05)


def _contract(res, b, rtol):
    tol = rtol * np.linalg.norm(b)
    h = res.residual_norms
    assert len(h) == res.iterations + 1
    assert res.converged, res
    assert h[-1] <= tol < h[-2], (h[-2:], tol)


@pytest.mark.parametrize("combo", SPD_COMBOS, ids=_label)
def test_first_true_residual_below_tol_spd(combo, spd):
    method, pc = combo
    opts = {"omega": 1.5} if method in ("sor", "ssor") else {}
    res = solvers.solve(spd, spd.b, method=method, pc=pc, rtol=1e-8, maxiter=50_000, **opts)
    _contract(res, spd.b, 1e-8)
    # the last entry is the true residual of the returned x
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(spd.b - spd.A @ res.x), rel=1e-6)


@pytest.mark.parametrize("combo", NONSYM_COMBOS, ids=_label)
def test_first_true_residual_below_tol_nonsymmetric(combo, nonsym):
    method, pc = combo
    res = solvers.solve(nonsym, nonsym.b, method=method, pc=pc, rtol=1e-8, maxiter=50_000)
    _contract(res, nonsym.b, 1e-8)


@pytest.mark.parametrize("ordering", ["lexicographic", "multicolor"])
@pytest.mark.parametrize("method", STATIONARY)
def test_stationary_orderings_stop_alike(method, ordering, spd):
    opts = {"jacobi": {"omega": 0.8}, "gauss-seidel": {}}.get(method, {"omega": 1.5})
    res = solvers.solve(spd, spd.b, method=method, rtol=1e-8, maxiter=50_000, ordering=ordering, **opts)
    _contract(res, spd.b, 1e-8)


ITERATIVE = [c for c in SPD_COMBOS + [c for c in NONSYM_COMBOS if c not in SPD_COMBOS] if c[0] != "direct"]


@pytest.mark.parametrize("combo", ITERATIVE, ids=_label)
def test_maxiter_is_diverged_its_everywhere(combo, spd, nonsym):
    method, pc = combo
    p = spd if combo in SPD_COMBOS else nonsym
    res = solvers.solve(p, p.b, method=method, pc=pc, rtol=1e-15, maxiter=3)
    assert res.reason == Reason.DIVERGED_ITS
    assert res.iterations == 3 and len(res.residual_norms) == 4
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(p.b - p.A @ res.x), rel=1e-8)


# Jacobi, Gauss-Seidel, SOR and SSOR all diverge on [[1, 2], [-2, 1]] (iteration matrices of radius 2 to 4)
DIVERGING = sp.csr_matrix(np.array([[1.0, 2.0], [-2.0, 1.0]]))


@pytest.mark.parametrize("ordering", ["lexicographic", "multicolor"])
@pytest.mark.parametrize("method", STATIONARY)
def test_divergence_is_diverged_dtol_everywhere(method, ordering):
    b = np.array([1.0, 1.0])
    res = solvers.solve(DIVERGING, b, method=method, rtol=1e-8, maxiter=10_000, ordering=ordering)
    assert res.reason == Reason.DIVERGED_DTOL
    h = res.residual_norms
    assert len(h) == res.iterations + 1
    assert h[-1] > DTOL * h[0] >= h[-2]  # stopped at the first iterate past the limit
    assert np.linalg.norm(b - DIVERGING @ res.x) == pytest.approx(h[-1], rel=1e-10)


class _NaNAfter:
    """A preconditioner (foreign object) that returns NaN from its ``n``-th application on."""

    symmetric = True

    def __init__(self, n):
        self.n, self.calls = n, 0

    def setup(self, A):
        return self

    def apply(self, r):
        self.calls += 1
        return r * np.nan if self.calls >= self.n else r.copy()


@pytest.mark.parametrize("method", KRYLOV)
def test_nan_from_the_preconditioner_is_nanorinf_everywhere(method, spd):
    res = solvers.solve(spd.A, spd.b, method=method, pc=_NaNAfter(3), rtol=1e-12)
    assert res.reason == Reason.DIVERGED_NANORINF
    assert len(res.residual_norms) == res.iterations + 1
    assert np.all(np.isfinite(res.x))  # the last good iterate comes back


@pytest.mark.parametrize("method", KRYLOV)
def test_nan_from_the_operator_is_nanorinf_everywhere(method, spd):
    calls = [0]

    def matvec(v):
        calls[0] += 1
        out = spd.A @ np.ravel(v)
        return out * np.nan if calls[0] > 4 else out

    A = LinearOperator(spd.A.shape, matvec=matvec, dtype=np.float64)
    res = solvers.solve(A, spd.b, method=method, rtol=1e-12)
    assert res.reason == Reason.DIVERGED_NANORINF
    assert len(res.residual_norms) == res.iterations + 1


def test_check_order_and_codes():
    tol, limit = 1e-8, 10.0
    assert check(1e-9, 3, tol, limit, 3) == Status.CONVERGED  # convergence wins over maxiter
    assert check(np.inf, 0, tol, limit, 5) == Status.NANORINF
    assert check(np.nan, 0, tol, limit, 5) == Status.NANORINF
    assert check(11.0, 1, tol, limit, 5) == Status.DTOL
    assert check(1.0, 5, tol, limit, 5) == Status.MAXITER
    assert check(1.0, 4, tol, limit, 5) == Status.ITERATING
    assert to_reason(Status.DTOL) == Reason.DIVERGED_DTOL
    # the CUDA sources get the same numbers
    assert f"#define STATUS_MAXITER {int(Status.MAXITER)}" in cuda_defines()


def test_first_stop_matches_check_iterate_by_iterate():
    rng = np.random.default_rng(0)
    for _ in range(200):
        h = np.exp(rng.normal(0, 3, size=rng.integers(1, 30)))
        if rng.random() < 0.2:
            h[rng.integers(h.size)] = np.nan
        k, status = first_stop(h, 1e-2, 1e3, 20)
        codes = [check(v, i, 1e-2, 1e3, 20) for i, v in enumerate(h)]
        stops = [i for i, c in enumerate(codes) if c != Status.ITERATING]
        if stops:
            assert (k, status) == (stops[0], codes[stops[0]])
        else:
            assert (k, status) == (h.size - 1, Status.ITERATING)
    # resuming from an index skips what was already tested
    assert first_stop(np.array([1e-9, 1.0, 1e-9]), 1e-8, 10.0, 5, 1) == (2, Status.CONVERGED)


def test_stopping_rule_confirms_on_the_true_residual():
    A = np.diag([1.0, 3.0])
    b = np.array([1.0, 1.0])

    def true_residual(x, r):
        r[:] = b - A @ x
        return float(np.linalg.norm(r))

    rule = StoppingRule(1e-8, 10, true_residual)
    x, r = np.zeros(2), np.empty(2)
    hist = [rule.start(x, r)]
    assert rule.limit == DTOL * hist[0]
    hist.append(1e-12)  # a recursive residual that drifted below tol; x is not the answer
    status, rn = rule.test(hist, x, r, 1)
    assert status == Status.ITERATING and rn == hist[-1] == pytest.approx(np.sqrt(2))
    x[:] = [1.0, 1.0 / 3.0]
    hist.append(1e-12)
    status, rn = rule.test(hist, x, r, 2)
    assert status == Status.CONVERGED and hist[-1] <= 1e-8
    # at maxiter the true residual decides too: a converged iterate is reported as converged
    hist.append(0.5)
    assert rule.test(hist, x, r, 10)[0] == Status.CONVERGED


def test_compiled_loop_uses_the_shared_codes():
    """The numba stationary loop returns Status numbers directly (no private code table)."""
    A = sp.csr_matrix(np.array([[4.0, -1.0], [-1.0, 4.0]]))
    L, U = sp.tril(A, -1, format="csr"), sp.triu(A, 1, format="csr")
    b, x = np.ones(2), np.zeros(2)
    r, z, hist = np.empty(2), np.empty(2), np.empty(4)
    dinv = 1.0 / A.diagonal()
    its, status, _ = kernels.SERIAL.stationary((A.indptr, A.indices, A.data), (L.indptr, L.indices, L.data),
                                               (U.indptr, U.indices, U.data), dinv, A.diagonal().copy(), b, x, r,
                                               z, kernels.KIND_SOR, 1e-14, 3, hist, (0, 1.0, A.diagonal()))
    assert (its, status) == (3, Status.MAXITER)
    assert hist[3] == pytest.approx(np.linalg.norm(b - A @ x), rel=1e-12)
