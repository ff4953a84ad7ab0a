"""The Tuner: arms checked up front, save/resume, the paper's SOR experiment at small T, the Young policy."""
from __future__ import annotations

import json

import numpy as np
import pytest

import solvers
from bandits import Tuner
from bandits.policies.young import gershgorin_ratio, jacobi_radius_from_history, optimal_omega
from pde_examples.sequences import heat_sequence, laplacian_delsq, shifted_laplacian_sequence


@pytest.fixture(scope="module")
def sor_sequence():
    return list(shifted_laplacian_sequence(300, "high", seed=0))


@pytest.fixture(scope="module")
def full_table(sor_sequence):
    """Iterations of every arm on every instance (full information)."""
    grid = np.linspace(1.0, 1.95, 20)
    table = np.zeros((len(sor_sequence), len(grid)), int)
    for i, p in enumerate(sor_sequence):
        s = solvers.make_solver("sor").setup(p.A)
        for j, w in enumerate(grid):
            s.set_omega(w)
            table[i, j] = s.solve(p.b).iterations
    return table


def run(tuner, seq):
    for p in seq:
        tuner.solve(p.A, p.b, context=p.meta["context"])
    return tuner.total_cost


def test_bad_values_refused_up_front():
    with pytest.raises(solvers.InvalidInputError, match="omega"):
        Tuner("sor", "omega", values=[1.0, 1.5, 2.5])
    with pytest.raises(solvers.InvalidInputError, match="give the values"):
        Tuner("gmres", "restart")
    with pytest.raises(solvers.UnknownComponentError):
        Tuner("sor", "omega", policy="tsalis-inf")
    with pytest.raises(solvers.InvalidInputError, match="cost"):
        Tuner("sor", cost="joules")
    with pytest.raises(solvers.InvalidInputError, match="context_range"):
        Tuner("sor", policy="chebcb")


def test_sor_experiment_small_T_lands_near_expected_totals(sor_sequence, full_table):
    """The paper's per-instance averages (5000 instances, 'high'): omega = 1: 616, best fixed (1.80): 104,
    instance-optimal: 59, Tsallis-INF: ~119, ChebCB: 67 (its learning costs more at small T)."""
    T = len(sor_sequence)
    assert full_table[:, 0].mean() == pytest.approx(616, rel=0.15)
    assert full_table[:, 16].mean() == pytest.approx(104, rel=0.15)
    assert full_table.min(axis=1).mean() == pytest.approx(59, rel=0.15)
    tsallis = run(Tuner("sor", policy="tsallis-inf", seed=0), sor_sequence) / T
    cheb = run(Tuner("sor", policy="chebcb", seed=0, context_range=(-0.15, 0.65)), sor_sequence) / T
    young = run(Tuner("sor", policy="young", seed=0), sor_sequence) / T
    # at T = 300 the learners are still paying for exploration, but already far below omega = 1
    assert full_table[:, 16].mean() < tsallis < 0.5 * full_table[:, 0].mean()
    assert full_table.min(axis=1).mean() < cheb < tsallis
    # beyond the paper: within 5% of instance-optimal (it even plays between the grid points)
    assert young < 1.05 * full_table.min(axis=1).mean() + 1600 / T  # + the three Gauss-Seidel warm-up solves


def test_save_resume_matches_uninterrupted(tmp_path, sor_sequence):
    seq = sor_sequence[:80]
    whole = Tuner("sor", policy="tsallis-inf", seed=5)
    run(whole, seq)
    first = Tuner("sor", policy="tsallis-inf", seed=5)
    run(first, seq[:40])
    path = first.save(tmp_path / "tuner.json")
    resumed = Tuner.load(path)
    run(resumed, seq[40:])
    assert [h["arm"] for h in resumed.history] == [h["arm"] for h in whole.history]
    assert resumed.total_cost == whole.total_cost


def test_save_is_atomic(tmp_path, sor_sequence, monkeypatch):
    tuner = Tuner("sor", policy="exp3", seed=1)
    run(tuner, sor_sequence[:5])
    path = tuner.save(tmp_path / "t.json")
    before = path.read_text()
    run(tuner, sor_sequence[5:10])

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(RuntimeError):
        tuner.save(path)
    assert path.read_text() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # no temporary left behind


def test_load_bad_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(solvers.InvalidInputError, match="not a readable tuner file"):
        Tuner.load(bad)


def test_tune_the_method_itself():
    from pde_examples import diffusion

    tuner = Tuner(param="method", values=["jacobi", "cg"], policy="ucb", seed=0, maxiter=20_000)
    p = diffusion((16, 16), seed=0)
    for _ in range(30):
        tuner.solve(p, p.b)
    counts = np.bincount([h["arm"] for h in tuner.history], minlength=2)
    assert counts[1] > counts[0]  # CG needs far fewer iterations


def test_tune_amg_strength_and_gmres_restart():
    from pde_examples import convection_diffusion

    amg = Tuner("cg", "strength", values=[0.0, 0.25, 0.5], pc="amg", policy="epsilon-greedy", seed=0)
    gm = Tuner("gmres", "restart", values=[5, 30], policy="ucb", seed=0, pc="ilu", maxiter=5000)
    p = convection_diffusion((24, 24))
    for _ in range(6):
        assert amg.solve(p.A + p.A.T, p.b).converged
        assert gm.solve(p, p.b).converged


def test_young_pieces():
    A = laplacian_delsq(10)
    assert gershgorin_ratio(A) == 1.0
    res = solvers.solve(A, np.ones(100), method="gauss-seidel", rtol=1e-12)
    mu = jacobi_radius_from_history(res.residual_norms, 1.0)
    assert mu == pytest.approx(np.cos(np.pi / 11), abs=1e-5)
    # over the optimum the history says nothing about mu
    for omega in (1.7, 1.9):
        res = solvers.solve(A, np.ones(100), method="sor", omega=omega, rtol=1e-12)
        assert jacobi_radius_from_history(res.residual_norms, omega) is None
    res = solvers.solve(A, np.ones(100), method="sor", omega=1.4, rtol=1e-12)
    assert jacobi_radius_from_history(res.residual_norms, 1.4) == pytest.approx(np.cos(np.pi / 11), abs=1e-5)
    assert optimal_omega(0.0, "sor") == 1.0 and optimal_omega(0.0, "ssor") == pytest.approx(2 / (1 + np.sqrt(2)))


def test_young_on_heat_beats_omega_one():
    seq = list(heat_sequence(700))
    young = Tuner("cg", pc="ssor", policy="young", seed=0)
    fixed = Tuner("cg", pc="ssor", policy="fixed", seed=0)
    for p in seq:
        young.solve(p.A, p.b, x0=p.meta["x0"])
        fixed.solve(p.A, p.b, x0=p.meta["x0"])
    assert young.policy.learned
    assert young.total_cost < 0.95 * fixed.total_cost
    # once learned, each omega is the SSOR-PCG optimum 2 / (1 + sqrt(2 (1 - kappa g))), clipped to the grid
    kappa = float(np.median(young.policy.kappas))
    learned_at = max(i for i, h in enumerate(young.history) if h["probe_iterations"] > 0) + 1
    assert learned_at < 600
    for p, h in zip(seq[learned_at:], young.history[learned_at:]):
        mu = min(kappa * gershgorin_ratio(p.A), 1.0 - 1e-12)
        assert h["value"] == pytest.approx(float(np.clip(2 / (1 + np.sqrt(2 * (1 - mu))), 1.0, 1.95)), rel=1e-12)


def test_young_refuses_what_it_cannot_tune():
    with pytest.raises(solvers.InvalidInputError, match="young"):
        Tuner("gmres", "omega", pc="sor", policy="young")
