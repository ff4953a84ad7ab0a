"""The main job: `solverkit simulate` runs, tunes, and writes its report and plots."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from pde_examples.sequences import HeatSimulation, heat_sequence, shifted_laplacian_sequence
from solvers.cli import main


def test_simulate_heat_writes_report(tmp_path, capsys):
    assert main(["simulate", "heat", "--steps", "120", "--policies", "young,tsallis-inf", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "heat_report.md").read_text()
    assert "instance-optimal" in report and "young" in report and "tsallis-inf" in report
    for name in ("heat_iterations.png", "heat_regret.png", "heat_omega.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    table = np.load(tmp_path / "heat_table.npy")
    assert table.shape == (120, 20) and table.min() >= 0
    assert not list(tmp_path.glob("*.tmp*"))


def test_simulate_sor_and_bad_policy(tmp_path, capsys):
    assert main(["simulate", "sor", "--steps", "30", "--policies", "chebcb", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "sor_report.md").exists()
    assert main(["simulate", "sor", "--policies", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown policies" in capsys.readouterr().err


def test_heat_simulation_loop_matches_exact_trajectory():
    sim = HeatSimulation.paper(T=50)
    exact = list(heat_sequence(50))
    for step in range(50):
        p = sim.system()
        # the state the iterative loop reached agrees with the exactly-solved trajectory
        assert np.linalg.norm(sim.u - exact[step].meta["x0"]) <= 1e-8 * np.linalg.norm(sim.u)
        assert np.linalg.norm(p.b - exact[step].b) <= 1e-8 * np.linalg.norm(p.b)
        res = solvers.solve(p, p.b, method="cg", pc="ssor", omega=1.3, x0=sim.u, rtol=1e-10)
        assert res.converged
        sim.advance(res.x)
    assert sim.t == pytest.approx(50 * 1e-3)


def test_shifted_laplacian_is_the_papers_setup():
    seq = list(shifted_laplacian_sequence(200, "low", seed=3))
    c = np.array([p.meta["context"] for p in seq])
    assert -0.15 <= c.min() and c.max() <= 0.45
    # Beta(2, 6) has mean 1/4: c has mean -0.15 + 0.6 / 4
    assert c.mean() == pytest.approx(0.0, abs=0.03)
    assert all(np.linalg.norm(p.b) <= np.sqrt(100) for p in seq)
