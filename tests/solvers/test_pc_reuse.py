"""Solving with a preconditioner set up on an earlier matrix (``pc_reuse``), and the result saying which
matrix it came from (``pc_built_at``, ``pc_age``)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from pde_examples import diffusion
from tests.conftest import true_relres


def _pair():
    """Two log-normal diffusion matrices on one grid whose coefficients differ by a factor up to ~e^1.5."""
    A0 = diffusion((40, 40), sigma=1.0, seed=1).A.tocsr()
    A1 = diffusion((40, 40), sigma=1.0, seed=2).A.tocsr()
    return A0, A1


@pytest.mark.parametrize("pc", ["amg", "ic", "ssor"])
def test_kept_pc_solves_to_tolerance_and_reports_its_matrix(pc):
    A0, A1 = _pair()
    b = np.random.default_rng(0).standard_normal(A0.shape[0])
    s = solvers.make_solver("cg", pc=pc, rtol=1e-9, maxiter=2000)
    r0 = s.setup(A0).solve(b)
    kept = s.setup(A1, pc_reuse="keep").solve(b)
    fresh = solvers.solve(A1, b, method="cg", pc=pc, rtol=1e-9, maxiter=2000)
    assert (r0.pc_built_at, r0.pc_age) == (0, 0)
    assert (kept.pc_built_at, kept.pc_age) == (0, 1)
    assert (fresh.pc_built_at, fresh.pc_age) == (0, 0)
    assert kept.converged and true_relres(A1, kept.x, b) <= 1e-9
    # the same solution as a fresh set-up, to the tolerance (both within 1e-9 relative residual)
    assert np.linalg.norm(kept.x - fresh.x) <= 1e-6 * np.linalg.norm(fresh.x)
    # an AMG hierarchy of another coefficient field is a worse preconditioner: more iterations
    if pc == "amg":
        assert kept.iterations > fresh.iterations
    # and a second keep ages the preconditioner again; a rebuild resets it
    assert s.setup(A0, pc_reuse="keep").solve(b).pc_age == 2
    assert s.setup(A1).solve(b).pc_age == 0 and s.pc_built_at == 3


def test_keep_with_a_kept_pc_is_exactly_the_old_operator():
    A0, A1 = _pair()
    r = np.random.default_rng(1).standard_normal(A0.shape[0])
    s = solvers.make_solver("cg", pc="ic").setup(A0)
    z0 = s.pc.apply(r).copy()
    s.setup(A1, pc_reuse="keep")
    assert np.array_equal(s.pc.apply(r), z0)
    s.setup(A1)
    assert not np.allclose(s.pc.apply(r), z0)


def test_refresh_uses_the_pcs_resetup():
    A0, A1 = _pair()
    b = np.ones(A0.shape[0])
    s = solvers.make_solver("cg", pc="amg", implementation="solverkit", pc_reuse="refresh", rtol=1e-9)
    s.setup(A0).solve(b)
    levels = [lvl.A.shape for lvl in s.pc.hierarchy.levels]
    res = s.setup(A1).solve(b)
    assert res.pc_age == 0 and res.converged
    assert [lvl.A.shape for lvl in s.pc.hierarchy.levels] == levels  # aggregates kept


def test_keep_on_a_new_size_builds_and_bad_modes_are_refused():
    s = solvers.make_solver("cg", pc="jacobi", pc_reuse="keep")
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(30, 30), format="csr")
    assert s.setup(T).solve(np.ones(30)).pc_age == 0
    T2 = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(31, 31), format="csr")
    assert s.setup(T2).solve(np.ones(31)).pc_age == 0  # another size: built again
    assert solvers.solve(T, np.ones(30), method="cg").pc_built_at is None
    with pytest.raises(solvers.InvalidInputError, match="pc_reuse"):
        solvers.make_solver("cg", pc="ssor", pc_reuse="sometimes")
    with pytest.raises(solvers.InvalidInputError, match="pc_reuse"):
        s.setup(T, pc_reuse="always")


@pytest.mark.parametrize("amg_type", ["rs", "sa"])
def test_pyamg_refresh_keeps_the_interpolation_and_forms_the_galerkin_operators_of_the_new_matrix(amg_type):
    """PETSc GAMG's reuse_interpolation for PyAMG's hierarchies: P and R stay, every coarse operator is
    R A P of the new matrix (checked against the product formed here), the coarse solve and the
    smoothers are those of the new operators, and CG needs about a fresh set-up's iterations where the
    hierarchy kept as it is needs many more."""
    from pde_examples.drifting import DriftingDiffusion

    sim = DriftingDiffusion(48, drift="fast", seed=3)
    A0, A1 = sim.matrix(1), sim.matrix(21)  # 4 doubling angles apart (kept: 6 -> ~120 iterations)
    b = np.random.default_rng(2).standard_normal(A0.shape[0])
    opts = dict(amg_type=amg_type, implementation="pyamg", rtol=1e-9, maxiter=3000)
    s = solvers.make_solver("cg", pc="amg", pc_reuse="refresh", **opts)
    s.setup(A0).solve(b)
    old = [(lvl.P.copy(), lvl.R.copy()) for lvl in s.pc.ml.levels[:-1]]
    refreshed = s.setup(A1).solve(b)
    levels = s.pc.ml.levels
    assert len(levels) >= 3
    Ac = A1
    for lvl, (P, R), coarse in zip(levels[:-1], old, levels[1:]):
        assert (lvl.P != P).nnz == 0 and (lvl.R != R).nnz == 0  # the interpolation is the old one
        Ac = (R @ Ac @ P).tocsr()
        assert abs(coarse.A.tocsr() - Ac).max() <= 1e-12 * abs(Ac).max()
    rc = np.random.default_rng(3).standard_normal(levels[-1].A.shape[0])
    xc = s.pc.ml.coarse_solver(levels[-1].A, rc)  # the pseudo-inverse of the new coarsest operator
    assert np.linalg.norm(levels[-1].A @ xc - rc) <= 1e-8 * np.linalg.norm(rc)
    fresh = solvers.solve(A1, b, method="cg", pc="amg", **opts)
    kept = solvers.make_solver("cg", pc="amg", pc_reuse="keep", **opts)
    kept.setup(A0).solve(b)
    stale = kept.setup(A1).solve(b)
    assert refreshed.converged and true_relres(A1, refreshed.x, b) <= 1e-9
    assert refreshed.iterations <= 1.5 * fresh.iterations + 1  # measured 8 (rs) / 8 (sa) against 6 / 7
    assert stale.iterations >= 5 * refreshed.iterations  # measured ~120
    # a matrix of another pattern has nothing to keep: it gets a full set-up (a new hierarchy)
    other = (A1 + sp.diags([1e-3, 1e-3], [-5, 5], shape=A1.shape)).tocsr()
    ml = s.pc.ml
    res = s.setup(other).solve(b)
    assert s.pc.ml is not ml and res.converged and true_relres(other, res.x, b) <= 1e-9
    assert res.iterations <= 1.5 * solvers.solve(other, b, method="cg", pc="amg", **opts).iterations + 1


def test_pyamg_refresh_on_the_jacobi_v_cycle():
    from pde_examples.drifting import DriftingDiffusion

    sim = DriftingDiffusion(40, drift="fast", seed=4)
    A0, A1 = sim.matrix(1), sim.matrix(30)
    b = np.ones(A0.shape[0])
    s = solvers.make_solver("cg", pc="amg", amg_type="rs", smoother="jacobi", pc_reuse="refresh", rtol=1e-9)
    s.setup(A0).solve(b)
    P = s.pc.ml.levels[0].P
    res = s.setup(A1).solve(b)
    assert s.pc.ml.levels[0].P is P  # the interpolation kept
    fresh = solvers.solve(A1, b, method="cg", pc="amg", amg_type="rs", smoother="jacobi", rtol=1e-9)
    assert res.converged and true_relres(A1, res.x, b) <= 1e-9
    assert res.iterations <= fresh.iterations + 4
