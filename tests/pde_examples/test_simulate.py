"""The main job: `solverkit simulate` runs, tunes, and writes its report and plots."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

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


def test_drift_rates_are_defined_by_their_effect():
    """At drift "fast" the step-0 AMG hierarchy needs about 2x its first iterations by step 5, at "slow"
    by step 20 (measured at 64^2: 7 -> 14 and 7 -> 13-14), and a rebuilt hierarchy does not drift."""
    from pde_examples.drifting import drift_effect

    fast = drift_effect(64, "fast", 6)
    slow = drift_effect(64, "slow", 21)
    assert 1.6 <= fast[5] / fast[0] <= 2.6, fast
    assert 1.6 <= slow[20] / slow[0] <= 2.6, slow
    assert slow[5] / slow[0] <= 1.35, slow  # slow really is slower
    from pde_examples.drifting import DriftingDiffusion

    sim = DriftingDiffusion(64, "fast")
    its = []
    for _ in range(6):
        p = sim.system()
        res = solvers.solve(p, p.b, method="cg", pc="amg", x0=sim.u, rtol=1e-8)
        its.append(res.iterations)
        sim.advance(res.x)
    assert max(its) <= 1.3 * its[0], its


def test_drifting_diffusion_is_implicit_euler():
    """One step solved exactly satisfies (I + dt K) u1 = u0 + dt f, K the conductivity's stiffness,
    and the conductivity keeps its log-normal spread while it turns."""
    from pde_examples.drifting import DriftingDiffusion

    sim = DriftingDiffusion(20, 0.3, dt=1e-2, seed=2)
    p = sim.system()
    u1 = solvers.solve(p, p.b, method="direct").x
    K = (p.A - sp.eye(400)) / 1e-2
    assert np.linalg.norm(u1 + 1e-2 * (K @ u1) - p.b) <= 1e-10 * np.linalg.norm(p.b)
    assert np.allclose(K @ np.ones(400) >= -1e-9, True)  # diffusion: row sums >= 0 (Dirichlet)
    logk = [np.log(sim.conductivity(s)) for s in (0, 5, 10)]
    assert all(abs(g.std() - 1.0) < 0.2 for g in logk)
    assert np.corrcoef(logk[0].ravel(), logk[2].ravel())[0, 1] < 0.7  # 3 rad apart: another field


def test_simulate_diffusion_writes_report_and_warm_starts(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "solvers", "simulate", "diffusion", "--size", "24", "--steps", "12", "--drift",
           "fast", "--out", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr
    report = (tmp_path / "diffusion_report.md").read_text()
    assert "tuner (thompson)" in report and "default" in report
    for name in ("diffusion_wall.png", "diffusion_configs.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    saved = tmp_path / "diffusion_tuner.json"
    import json

    assert len(json.loads(saved.read_text())["history"]) == 12
    # a second job starts from the first one's state; another size is refused with a clear message
    done = subprocess.run(cmd + ["--warm-start", str(saved), "--no-baseline"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(saved.read_text())["history"]) == 24
    bad = subprocess.run([c if c != "24" else "20" for c in cmd] + ["--warm-start", str(saved)], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "learned on problem" in bad.stderr and "--remap" in bad.stderr, bad.stderr
    # --remap takes it as a prior for the other size: its time costs scaled by the ratio of entries
    other = tmp_path / "other"
    remapped = subprocess.run([c if c != "24" else "20" for c in cmd[:-1]] + [str(other), "--warm-start", str(saved),
                                                                             "--remap", "--no-baseline"],
                              capture_output=True, text=True, timeout=300)
    assert remapped.returncode == 0 and "Traceback" not in remapped.stderr, remapped.stderr
    scale = float(remapped.stderr.split("scaled by ")[1].split()[0])
    assert scale == pytest.approx((5 * 20 ** 2 - 4 * 20) / (5 * 24 ** 2 - 4 * 24), rel=1e-3)
    assert len(json.loads((other / "diffusion_tuner.json").read_text())["history"]) == 24 + 12


def test_simulate_diffusion_charge_cycle(tmp_path):
    """--charge cycle reaches the tuner (saved with it); with --decide build it is refused with a message."""
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "solvers", "simulate", "diffusion", "--size", "16", "--steps", "6", "--drift",
           "fast", "--no-baseline", "--charge", "cycle", "--space", "all", "--out", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    saved = json.loads((tmp_path / "diffusion_tuner.json").read_text())
    assert saved["charge"] == "cycle" and len(saved["history"]) == 6
    assert len(saved["space"]) == 27 and sum(bool(c.get("refresh")) for c in saved["space"]) == 4  # SSOR left out
    # by default the tuner's arms are the families (SSOR left out), each rebuilt when amortized
    families = tmp_path / "families"
    done = subprocess.run([c for c in cmd if c not in ("--space", "all")][:-1] + [str(families)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    from bandits.space import ConfigSpace, family_space

    state = json.loads((families / "diffusion_tuner.json").read_text())
    arms = ConfigSpace.from_list(state["space"])
    assert arms.names == family_space(ssor=False).names and {c.rebuild for c in arms} == {"amortized"}
    # Thompson sampling over the families tries each once, in order, before replaying any
    assert state["policy_options"] == {"try_each": True} and [h["arm"] for h in state["history"][:5]] == [0, 1, 2, 3, 4]
    # a file saved over the families is refused for --space all, with what to give
    refused = subprocess.run(cmd + ["--warm-start", str(families / "diffusion_tuner.json")], capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode == 2 and "give the --space" in refused.stderr, refused.stderr
    # --no-refresh: the space of earlier versions (23 arms here), whose saved tuners it warm-starts from
    old = tmp_path / "old"
    done = subprocess.run(cmd[:-1] + [str(old), "--no-refresh"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert len(json.loads((old / "diffusion_tuner.json").read_text())["space"]) == 23
    bad = subprocess.run(cmd + ["--decide", "build"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "charge='cycle'" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
