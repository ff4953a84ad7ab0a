"""``bandits.Tuner`` over a space: a trial configuration capped at ``cap`` times the incumbent's cost, and a
trial that fails, are finished by the incumbent (as ``bandits.petsc.KSPTuner`` does inside PETSc)."""
from __future__ import annotations

from collections import deque

import numpy as np
import pytest

import solvers
from bandits import Tuner
from bandits.space import ConfigSpace
from pde_examples import poisson

RTOL = 1e-8


def _system(t: int, side: int = 32):
    A = poisson((side, side)).A.tocsr() * (1.0 + 0.01 * t)
    return A, np.random.default_rng(t).standard_normal(A.shape[0])


def _scripted(tuner: Tuner, arms: list[int]) -> list[tuple[int, float]]:
    choices, updates = iter(arms), []
    tuner.policy.select = lambda context=None: next(choices)
    update = tuner.policy.update
    tuner.policy.update = lambda arm, loss: (updates.append((arm, loss)), update(arm, loss))
    return updates


def _step(tuner: Tuner, t: int):
    A, b = _system(t)
    before = len(tuner.history)
    res = tuner.solve(A, b)
    relres = np.linalg.norm(b - A @ res.x) / np.linalg.norm(b)
    return res, tuner.history[before:], relres


def test_a_capped_trial_is_finished_by_the_incumbent_from_the_iterate_reached():
    space = ConfigSpace.grid("cg", "ic") + ConfigSpace.grid("cg", None)
    tuner = Tuner(space=space, policy="thompson", seed=0, rtol=RTOL, cap=4.0)
    updates = _scripted(tuner, [0, 0, 1, 0])
    for t in range(4):
        if t == 2:  # a stand-in for an arm many times slower: its budget (4 ns) passes at its first iterate
            tuner.recent.costs[0] = deque([1e-9])
        res, entries, relres = _step(tuner, t)
        assert res.converged and relres <= RTOL * 1.01
        if t == 2:
            trial, finish = entries
            assert (trial["arm"], trial["capped"], trial["converged"], trial["fallback"]) == (1, True, False, False)
            assert trial["iterations"] == 1 and trial["budget"] == pytest.approx(4e-9)
            assert (finish["arm"], finish["capped"], finish["fallback"], finish["budget"]) == (0, False, True, None)
            # charged as a failed step (10x what it took); the policy learns that, not the finish
            assert trial["charged"] >= 10 * trial["solve_seconds"] and updates[-1] == (1, trial["charged"])
            # the finish went on from the capped iterate: its initial residual is the trial's last one
            assert res.residual_norms[0] == pytest.approx(trial["residual_norm"], rel=1e-12)
            assert trial["residual_norm"] > 10 * RTOL * np.linalg.norm(_system(t)[1])
            assert "time limit" not in res.message
        else:
            assert [(h["arm"], h["capped"], h["fallback"]) for h in entries] == [(0, False, False)]
    assert len(updates) == 4  # one update per step, none for the finish
    assert tuner.runner.step == 4  # a trial and its finish are one step of the sequence
    assert tuner.total_cost == pytest.approx(sum(h["cost"] for h in tuner.history))


def test_without_a_cap_the_trial_runs_whole():
    space = ConfigSpace.grid("cg", "ic") + ConfigSpace.grid("cg", None)
    tuner = Tuner(space=space, policy="thompson", seed=0, rtol=RTOL)  # cap=None, the default
    _scripted(tuner, [0, 1])
    _step(tuner, 0)
    tuner.recent.costs[0] = deque([1e-9])
    res, entries, relres = _step(tuner, 1)
    assert [(h["arm"], h["capped"], h["budget"]) for h in entries] == [(1, False, None)]
    assert res.converged and relres <= RTOL * 1.01 and res.iterations > 20
    with pytest.raises(solvers.InvalidInputError, match="cap"):
        Tuner(space=space, cap=1.0)


def test_a_failed_trial_is_finished_from_the_initial_guess_and_a_first_failure_is_reported():
    """Jacobi stops at maxiter=60 far from the tolerance on 32^2 Poisson, CG+IC converges well within it.
    After CG+IC has solved a step, the step Jacobi fails is finished by CG+IC from the step's initial
    guess (zero); when Jacobi comes first nothing is known to converge and its failure is the result."""
    space = ConfigSpace.grid("cg", "ic") + ConfigSpace.grid("jacobi")
    tuner = Tuner(space=space, policy="thompson", cost="iterations", seed=0, rtol=RTOL, maxiter=60)
    _scripted(tuner, [0, 1, 0])
    for t in range(3):
        res, entries, relres = _step(tuner, t)
        assert res.converged and relres <= RTOL * 1.01
        if t == 1:
            assert [(h["arm"], h["converged"], h["fallback"], h["capped"]) for h in entries] == \
                [(1, False, False, False), (0, True, True, False)]
            assert entries[0]["charged"] == 10 * 60  # iterations cost, charged as a failed step
            b = _system(t)[1]
            assert res.residual_norms[0] == pytest.approx(np.linalg.norm(b), rel=1e-12)  # from zero
    assert tuner.runner.step == 3
    first = Tuner(space=space, policy="thompson", cost="iterations", seed=0, rtol=RTOL, maxiter=60)
    _scripted(first, [1])
    res, entries, relres = _step(first, 0)
    assert not res.converged and relres > 1e-3 and [h["arm"] for h in entries] == [1]


def test_an_incumbent_that_fails_is_finished_by_the_next_cheapest_that_converged():
    """Jacobi (maxiter 60: it cannot converge here), booked as the converged incumbent, fails its own
    step: CG+IC, the next cheapest whose last step converged, finishes it from the initial guess; Jacobi
    is then no finisher (nor incumbent) until it converges again."""
    space = ConfigSpace.grid("cg", "ic") + ConfigSpace.grid("jacobi")
    tuner = Tuner(space=space, policy="thompson", cost="iterations", seed=0, rtol=RTOL, maxiter=60)
    _scripted(tuner, [0, 1, 1])
    _step(tuner, 0)
    tuner.recent.add(1, 1.0)  # Jacobi "converged" in one iteration: it is the incumbent
    assert tuner.recent.incumbent()[0] == 1
    for t in (1, 2):
        res, entries, relres = _step(tuner, t)
        assert [(h["arm"], h["converged"], h["fallback"]) for h in entries] == [(1, False, False), (0, True, True)]
        assert res.converged and relres <= RTOL * 1.01
        assert tuner.recent.incumbent() == (0, pytest.approx(tuner.history[0]["charged"]))
        assert tuner.recent.converged[1] is False
    assert tuner.runner.step == 3


def test_a_finisher_that_fails_is_passed_over_next_time_also_after_a_load(tmp_path):
    """CG without a preconditioner (maxiter 60: it cannot converge here), booked as the converged
    incumbent, is chosen to finish Jacobi's failed step and fails too: the step stays unconverged (nothing
    hidden), CG is marked, and the next failed step goes to CG+IC; a loaded tuner has the same marks."""
    space = ConfigSpace.grid("cg", "ic") + ConfigSpace.grid("jacobi") + ConfigSpace.grid("cg", None)
    tuner = Tuner(space=space, policy="thompson", cost="iterations", seed=0, rtol=RTOL, maxiter=60)
    _scripted(tuner, [0, 1, 1])
    _step(tuner, 0)
    tuner.recent.add(2, 1.0)
    res, entries, relres = _step(tuner, 1)
    assert [(h["arm"], h["converged"], h["fallback"]) for h in entries] == [(1, False, False), (2, False, True)]
    assert not res.converged and relres > 1e-6
    assert tuner.recent.converged == {0: True, 1: False, 2: False}
    resumed = Tuner.load(tuner.save(tmp_path / "tuner.json"), space=space)
    assert resumed.recent.converged == tuner.recent.converged
    res, entries, relres = _step(tuner, 2)
    assert [(h["arm"], h["fallback"]) for h in entries] == [(1, False), (0, True)] and res.converged


def test_cap_and_recent_costs_survive_save_and_load_and_a_remap_forgets_the_costs(tmp_path):
    space = ConfigSpace.grid("cg", "ic") + ConfigSpace.grid("jacobi")
    tuner = Tuner(space=space, policy="thompson", cost="iterations", seed=0, rtol=RTOL, maxiter=60, cap=3.0)
    _scripted(tuner, [0, 1, 0, 0])
    for t in range(4):
        _step(tuner, t)
    assert tuner.history[2]["fallback"]  # Jacobi's step 1, finished by CG+IC
    path = tuner.save(tmp_path / "tuner.json")
    resumed = Tuner.load(path, space=space)
    # the incumbent is CG+IC at its mean over its own steps (the finish left out)
    own = [h["charged"] for h in tuner.history if h["arm"] == 0 and not h["fallback"]]
    assert resumed.cap == 3.0 and resumed.recent.incumbent() == (0, pytest.approx(np.mean(own)))
    assert resumed.recent.costs[1] == deque([600.0])  # Jacobi: 60 iterations charged as a failed step
    remapped = Tuner.load(path, space=space, problem_signature="another", remap=True)
    assert remapped.recent.incumbent() is None
    with pytest.raises(solvers.InvalidInputError, match="space"):
        Tuner(cap=4.0)


def test_run_loop_keeps_one_record_per_step_with_the_finish_folded_in():
    from pde_examples.simulate_diffusion import run_loop

    space = ConfigSpace.grid("cg", "ic") + ConfigSpace.grid("jacobi")
    tuner = Tuner(space=space, policy="thompson", cost="iterations", seed=0, rtol=RTOL, maxiter=60)
    _scripted(tuner, [0, 1, 0])
    steps = run_loop(24, 3, "fast", tuner)
    assert len(steps) == 3 and len(tuner.history) == 4
    assert [s["config"] for s in steps] == [space[0].name, space[1].name, space[0].name]
    assert [s["finished_by"] for s in steps] == [None, space[0].name, None]
    assert all(s["converged"] for s in steps) and all(s["relres"] <= RTOL * 1.01 for s in steps)
    assert steps[1]["iterations"] == 60 + tuner.history[2]["iterations"]
