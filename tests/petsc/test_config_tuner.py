"""KSPTuner over a space of PETSc configurations (issue 19, "Inside PETSc, under MPI"): options do not leak
from one arm into the next, kept preconditioners are PETSc's KSPSetReusePreconditioner, every arm solves
to the tolerance, state is saved and refused for another space, ranks agree, and the example program runs
cleanly under ``mpiexec -n 2``."""
from __future__ import annotations

import json

import numpy as np

import pytest
from petsc4py import PETSc

from bandits.capping import DEFAULT_CAP
from bandits.petsc import KSPTuner
from bandits.petsc_space import PetscSpace, has_external_package, petsc_spd_space
from bandits.reuse import KEPT_SETUP_WEIGHT
from solvers import InvalidInputError

from .config_tuner_checks import (LEAK_SEQUENCE, RTOL, capped_run, cycle_run, fresh_iterations, leak_run, leak_space,
                                  make_dmda, make_ksp, reuse_run, scripted_tuner, solve_step, system, true_relres,
                                  tuned)
from .conftest import assert_clean_exit, mpirun, results

SLACK = 1.01  # the true residual against PETSc's stopping test on CG's recursive one
UNPRECONDITIONED = int(PETSc.KSP.NormType.UNPRECONDITIONED)


def _check_leak_steps(steps: list[dict]) -> None:
    assert [s["arm"] for s in steps] == list(LEAK_SEQUENCE)
    for s in steps:
        # the arm's own options in the database, nothing of the previous arm's
        assert s["db"] == s["expected_db"], s
        # the same iterations as a KSP made for this arm alone: no value survived inside the KSP or PC
        assert s["its"] == s["fresh_its"], s
        assert s["reason"] == "CONVERGED_RTOL" and s["relres"] <= RTOL * SLACK, s
        assert s["norm"] == UNPRECONDITIONED and s["rtol"] == RTOL  # the program's settings are kept


def test_options_of_an_arm_do_not_leak_into_the_next():
    _check_leak_steps(leak_run()["steps"])
    # the check can fail: on one matrix, PCSOR with omega 1.5 and with the default omega differ
    da = make_dmda()
    A, b = system(da, 4)
    space = leak_space()
    assert fresh_iterations(space, 0, A, b) != fresh_iterations(space, 2, A, b)
    for obj in (A, b, da):
        obj.destroy()


def test_kept_preconditioner_is_petscs_reuse_and_survives_another_pc_type_in_between():
    # arm 1: GAMG kept 3 steps; arm 2: SOR; arm 0: GAMG rebuilt every step; the matrix drifts every step
    steps = reuse_run((1, 1, 1, 1, 2, 1, 0, 1, 1, 2, 1))["steps"]
    assert [s["rebuilt"] for s in steps] == [True, False, False, True, True, False, True, False, False, True, True]
    assert [s["pc_age"] for s in steps] == [0, 1, 2, 0, 0, 2, 0, 1, 2, 0, 0]
    assert [s["reuse_flag"] for s in steps] == [not s["rebuilt"] for s in steps]
    for s in steps:
        assert s["relres"] <= RTOL * SLACK, s
        if s["arm"] != 2:  # the iterations of a plain KSP whose GAMG is kept on the same steps
            assert s["its"] == s["ref_its"], s
            if s["rebuilt"]:
                assert s["its"] == s["fresh_its"], s
    # a kept hierarchy is really the old one: on the drifting matrices it needs clearly more iterations than
    # one set up on the step's matrix (13-20 against 9 here); the GAMG of step 3 came back after SOR
    # (step 5, two steps old: kept, as the reference KSP that never left GAMG), and at step 10, three
    # steps old, it was set up anew
    kept = [s for s in steps if not s["rebuilt"]]
    assert len(kept) == 5 and all(s["its"] >= s["fresh_its"] + 3 for s in kept), steps
    assert steps[10]["its"] == steps[10]["fresh_its"]


def test_one_pc_per_configuration_at_most_max_cached_and_released_with_the_tuned_ksp():
    # three configurations with their own PCs (GAMG, SOR, Jacobi); at most two kept: the least recently
    # used one is destroyed, and destroying the tuned KSP destroys the one not in it
    space = PetscSpace.grid("cg", "gamg", rebuild=[10]) + PetscSpace.grid("cg", "sor") + PetscSpace.grid("cg", "jacobi")
    tuner = scripted_tuner(space, (0, 1, 0, 2, 0))
    tuner.configurator.max_cached = 2
    da = make_dmda(16)
    ksp = make_ksp(PETSc.COMM_WORLD, "cached_")
    pcs = []
    for step in range(5):
        A, b = system(da, step)
        x = b.duplicate()
        x.set(0.0)
        ksp.setOperators(A)
        tuner.solve(ksp, b, x)
        pcs.append(tuner.configurator.cache[tuner.configurator.current].pc)  # the tuner's own reference
        assert tuner.history[-1]["reason"] == "CONVERGED_RTOL" and true_relres(A, b, x) <= RTOL * SLACK
        for obj in (A, b, x):
            obj.destroy()
    # GAMG's PC came back after SOR (kept, not rebuilt: the same object) and after Jacobi
    assert [h["rebuilt"] for h in tuner.history] == [True, True, False, True, False]
    assert pcs[0] is pcs[2] is pcs[4] and pcs[4].handle == ksp.getPC().handle
    assert [p.getType() for p in (pcs[0], pcs[3])] == ["gamg", "jacobi"]
    assert pcs[1].handle == 0  # SOR's PC, least recently used when Jacobi's came: destroyed
    assert list(tuner.configurator.cache) == [space[2].pc_key, space[0].pc_key]
    jacobi = tuner.configurator.cache[space[2].pc_key].pc
    tuner.wrap(ksp).destroy()
    assert jacobi.handle == 0 and ksp.handle == 0 and list(tuner.configurator.cache) == [space[0].pc_key]
    da.destroy()


def _check_stretch_steps(steps: list[dict], updates: list[int] | None = None) -> None:
    """Scripted choices 1, 0, 1 with decide="build": arm 1 (GAMG kept 3 steps) runs a whole cycle per
    choice, on a fresh build; the policy learns once per stretch."""
    assert [s["arm"] for s in steps] == [1, 1, 1, 0, 1, 1, 1]
    assert [s["stretch_step"] for s in steps] == [0, 1, 2, 0, 0, 1, 2]
    # the stretch after arm 0 starts on a build of its own, though arm 0's (same GAMG) was one step old
    assert [s["rebuilt"] for s in steps] == [True, False, False, True, True, False, False]
    if updates is not None:  # the policy's update count after each step (rank 0's under MPI)
        assert updates == [0, 0, 1, 2, 2, 2, 3]
    for s in steps:
        assert s["relres"] <= RTOL * SLACK and s["its"] == s["ref_its"], s


def test_decide_build_runs_a_choice_for_its_whole_reuse_cycle():
    run = reuse_run((1, 0, 1), steps=7, decide="build")
    _check_stretch_steps(run["steps"], run["policy_updates"])


def _check_capped_steps(steps: list[dict], updates: int | None = None) -> None:
    """capped_run(cap=4): arm 1's solves stop at their first iteration (DIVERGED_ITS), are charged as failed
    solves, and the incumbent (arm 0) finishes the step from there, to the tolerance."""
    assert [[(e["arm"], e["capped"], e["fallback"]) for e in s["entries"]] for s in steps] == [
        [(0, False, False)]] * 3 + [[(1, True, False), (0, False, True)]] * 2 + [[(0, False, False)]]
    for k, s in enumerate(steps):
        assert s["relres"] <= RTOL * SLACK, s  # every step solved, capped or not
        assert s["max_it"] == 5000 and s["guess_nonzero"] is False, s  # the program's settings restored
        assert s["configurator_step"] == k + 1, s  # a capped step and its finish are one step of the sequence
        first = s["entries"][0]
        if first["capped"]:
            assert first["iterations"] == 1 and first["reason"] == "DIVERGED_ITS" and not first["converged"]
            assert first["budget"] == pytest.approx(4e-9)
            assert first["charged"] == pytest.approx(10 * first["cost"], rel=1e-9)  # FAILED_SOLVE_FACTOR x what it took
            assert s["entries"][1]["reason"] == "CONVERGED_RTOL" and s["entries"][1]["budget"] is None
        else:
            assert first["budget"] is None and first["reason"] == "CONVERGED_RTOL"
    if updates is not None:  # the policy learns once per step: from the capped solve, not from its finish
        assert updates == len(steps)


def test_a_capped_solve_stops_at_its_budget_and_the_incumbent_finishes_the_step():
    run = capped_run(cap=4.0)
    _check_capped_steps(run["steps"], run["policy_updates"])
    # without a cap the same scripted steps run to convergence, each by the arm chosen
    free = capped_run(cap=None)["steps"]
    assert [[(e["arm"], e["capped"]) for e in s["entries"]] for s in free] == [[(a, False)] for a in (0, 0, 0, 1, 1, 0)]
    jacobi = free[3]["entries"][0]
    assert jacobi["reason"] == "CONVERGED_RTOL" and jacobi["iterations"] > 20 and jacobi["budget"] is None
    with pytest.raises(InvalidInputError, match="cap"):
        KSPTuner(space=petsc_spd_space(), cap=1.0)


def test_under_error_if_not_converged_a_capped_trial_is_finished_not_raised():
    """With -ksp_error_if_not_converged a capped trial (DIVERGED_ITS on purpose) does not raise: the
    incumbent finishes the step under the program's setting, max_it and the flag are restored after every
    step. A step nothing is known to solve (Richardson without a PC at the first step) still raises."""
    from collections import deque

    space = PetscSpace.grid("cg", "gamg") + PetscSpace.grid("cg", "jacobi")
    tuner = scripted_tuner(space, (0, 1, 0), cap=4.0)
    da = make_dmda(24)
    ksp = make_ksp(PETSc.COMM_WORLD, "raising_")
    ksp.setErrorIfNotConverged(True)
    for step in range(3):
        if step == 1:
            tuner.recent.costs[0] = deque([1e-9])  # arm 1 passes its budget at its first iteration
        A, b = system(da, step)
        x, entries = solve_step(tuner, ksp, A, b)
        assert ksp.getTolerances()[3] == 5000 and not tuner._solve_cap.active and ksp.getErrorIfNotConverged()
        assert true_relres(A, b, x) <= RTOL * SLACK
        expect = [(1, True, False), (0, False, True)] if step == 1 else [(0, False, False)]
        assert [(h["arm"], h["capped"], h["fallback"]) for h in entries] == expect
        assert entries[-1]["reason"] == "CONVERGED_RTOL"
        for obj in (A, b, x):
            obj.destroy()
    ksp.destroy()
    # nothing known to converge: the failure is the program's to see
    space = PetscSpace.grid("richardson", "none", ksp_richardson_scale=1.0) + PetscSpace.grid("cg", "gamg")
    tuner = scripted_tuner(space, (0,))
    objects = _raising_step(tuner, da, "raising_first_")
    assert objects[0].getErrorIfNotConverged() and not tuner._solve_cap.active
    for obj in (*objects, da):
        obj.destroy()


def _raising_step(tuner, da, prefix: str) -> tuple:
    """One tuned step from zero under -ksp_error_if_not_converged that must raise PETSc.Error; returns
    ``(ksp, A, b, x)`` for the caller's checks (it destroys them)."""
    ksp = make_ksp(PETSc.COMM_WORLD, prefix)
    ksp.setErrorIfNotConverged(True)
    A, b = system(da, 0)
    x = b.duplicate()
    x.set(0.0)
    ksp.setOperators(A)
    with pytest.raises(PETSc.Error):
        tuner.solve(ksp, b, x)
    return ksp, A, b, x


def test_under_error_if_not_converged_a_finish_that_fails_raises_after_both_solves_are_booked():
    """A trial that fails, finished by a configuration that fails too (both Richardson without a PC,
    diverging; the finisher made to look converged): under -ksp_error_if_not_converged the finish's
    error reaches the program, after the trial and the finish are both in the history, the finisher is
    marked failed, and the KSP's error flag, initial-guess flag and max_it are the program's again."""
    space = (PetscSpace.grid("richardson", "none", ksp_richardson_scale=1.0)
             + PetscSpace.grid("richardson", "none", ksp_richardson_scale=0.9))
    tuner = scripted_tuner(space, (1,))
    tuner.recent.add(0, 1e-3, converged=True)  # arm 0 looks like a configuration known to converge
    da = make_dmda(16)
    objects = _raising_step(tuner, da, "finish_raises_")
    ksp = objects[0]
    assert [(h["arm"], h["fallback"], h["converged"]) for h in tuner.history] == [(1, False, False), (0, True, False)]
    assert tuner.recent.converged[0] is False and tuner.recent.incumbent() is None
    assert ksp.getErrorIfNotConverged() and not ksp.getInitialGuessNonzero()
    assert ksp.getTolerances()[3] == 5000 and not tuner._solve_cap.active
    for obj in (*objects, da):
        obj.destroy()


def test_a_failed_solve_is_finished_by_the_incumbent_when_one_is_known():
    """Richardson without a PC diverges on these matrices (DIVERGED_DTOL): after GAMG has solved steps, the
    step it fails is finished by GAMG from there; at the first step nothing is known to converge, and the
    failure stays the step's outcome (reported, not hidden)."""
    space = PetscSpace.grid("cg", "gamg") + PetscSpace.grid("richardson", "none", ksp_richardson_scale=1.0)
    da = make_dmda(16)
    for sequence, expect, nonzero in (((0, 0, 1, 0), [[(0, True)], [(0, True)], [(1, False), (0, True)], [(0, True)]], True),
                                      ((0, 1), [[(0, True)], [(1, False), (0, True)]], False),
                                      ((1, 0), [[(1, False)], [(0, True)]], False)):
        tuner = scripted_tuner(space, sequence)
        ksp = make_ksp(PETSc.COMM_WORLD, f"failed{len(sequence)}{int(nonzero)}_")
        ksp.setInitialGuessNonzero(nonzero)  # the finish restarts from the step's iterate, or from zero
        seen, relres = [], []
        for step in range(len(sequence)):
            A, b = system(da, step)
            x, entries = solve_step(tuner, ksp, A, b)
            seen.append([(h["arm"], h["converged"]) for h in entries])
            assert tuner.configurator.step == step + 1  # a failed solve and its finish: one step of the sequence
            assert ksp.getInitialGuessNonzero() is nonzero
            assert [h["fallback"] for h in entries] == [False, True][:len(seen[-1])]
            relres.append(true_relres(A, b, x))
            for obj in (A, b, x):
                obj.destroy()
        assert seen == expect, seen
        for step, r in zip(seen, relres):
            assert (r <= RTOL * SLACK) == step[-1][1], (seen, relres)  # the step's last solve decides
        assert tuner.policy.t == len(sequence)  # the policy learned the failure, not the finish
        ksp.destroy()
    da.destroy()


def test_an_incumbent_that_fails_is_finished_by_the_next_cheapest_that_converged():
    """Richardson without a PC, booked as the converged incumbent (a stand-in for an arm that served well
    until the matrix drifted), fails its step (DIVERGED_DTOL) under -ksp_error_if_not_converged: GAMG, the
    next cheapest whose last step converged, finishes it without raising, and Richardson is no finisher
    until it converges again."""
    space = PetscSpace.grid("cg", "gamg") + PetscSpace.grid("richardson", "none", ksp_richardson_scale=1.0)
    da = make_dmda(16)
    tuner = scripted_tuner(space, (0, 1, 1))
    ksp = make_ksp(PETSc.COMM_WORLD, "failing_incumbent_")
    ksp.setErrorIfNotConverged(True)
    A, b = system(da, 0)
    x, entries = solve_step(tuner, ksp, A, b)
    assert [(h["arm"], h["converged"]) for h in entries] == [(0, True)]
    for obj in (A, b, x):
        obj.destroy()
    tuner.recent.add(1, 1e-9)  # Richardson "converged" cheaply: it is the incumbent
    assert tuner.recent.incumbent()[0] == 1
    for step in (1, 2):
        A, b = system(da, step)
        x, entries = solve_step(tuner, ksp, A, b)
        assert [(h["arm"], h["converged"], h["fallback"]) for h in entries] == [(1, False, False), (0, True, True)]
        assert true_relres(A, b, x) <= RTOL * SLACK and ksp.getErrorIfNotConverged()
        assert tuner.recent.incumbent()[0] == 0 and tuner.recent.converged[1] is False
        for obj in (A, b, x):
            obj.destroy()
    ksp.destroy()
    da.destroy()


def test_every_offered_arm_reaches_the_tolerance_on_the_true_residual():
    space = petsc_spd_space()
    da = make_dmda(24)
    for arm in range(len(space)):
        ksp = make_ksp(PETSc.COMM_WORLD, f"arm{arm}_")
        tuner = KSPTuner(space=space, policy="fixed", policy_options={"arm": arm})
        for step in range(2):  # the second solve keeps the PC where the arm says so
            A, b = system(da, step)
            x = b.duplicate()
            x.set(0.0)
            ksp.setOperators(A)
            tuner.solve(ksp, b, x)
            h = tuner.history[-1]
            assert h["reason"] == "CONVERGED_RTOL" and h["iterations"] > 0, (space[arm].name, h)
            assert true_relres(A, b, x) <= RTOL * SLACK, space[arm].name
            assert h["rebuilt"] == (step == 0 or space[arm].rebuild == 1), (space[arm].name, h)
            for obj in (A, b, x):
                obj.destroy()
        ksp.destroy()
    da.destroy()


def test_hypre_is_offered_exactly_where_the_build_has_it():
    pc = PETSc.PC().create(PETSc.COMM_SELF)
    try:
        pc.setType("hypre")
        builds_hypre = True
    except PETSc.Error:
        builds_hypre = False
    pc.destroy()
    assert has_external_package("hypre") == builds_hypre
    assert any(c.pc == "hypre" for c in petsc_spd_space()) == builds_hypre
    assert not any(c.pc == "hypre" for c in petsc_spd_space(hypre=False))
    with pytest.raises(InvalidInputError, match="no PC type 'nosuchpc'"):
        KSPTuner(space=PetscSpace.grid("cg", "nosuchpc"))
    with pytest.raises(InvalidInputError, match="no KSP type 'nosuchksp'"):
        KSPTuner(space=PetscSpace.grid("nosuchksp", "jacobi"))


def test_save_load_round_trip_and_refusals(tmp_path, monkeypatch):
    space = PetscSpace.grid("cg", "gamg", rebuild=[1, 3]) + PetscSpace.grid("cg", "sor", pc_sor_omega=[1.2, 1.6])
    tuner = tuned(space, 5, problem_signature="heat", decide="step")
    path = tuner.save(tmp_path / "state.json")
    saved = json.loads(path.read_text())
    assert saved["format"] == "solverkit-ksptuner/1" and saved["space_signature"] == space.signature()
    loaded = KSPTuner.load(path, space=space)
    assert loaded.history == tuner.history and len(loaded.history) == 5
    assert loaded.policy.state_dict() == json.loads(json.dumps(tuner.policy.state_dict()))
    assert loaded.problem_signature == "heat" and loaded.matrix_size == 256
    # it makes the choices the first job would have made next
    assert [loaded.policy.select() for _ in range(5)] == [tuner.policy.select() for _ in range(5)]
    # the warm-started job goes on learning from where the first stopped
    tuned(space, 2, tuner=loaded)
    assert len(loaded.history) == 7 and loaded.policy.t == 7
    # refusals, each with what differs
    with pytest.raises(InvalidInputError, match=r"another configuration space \(1 new \(cg\+jacobi"):
        KSPTuner.load(path, space=space + PetscSpace.grid("cg", "jacobi"))
    with pytest.raises(InvalidInputError, match=r"1 gone"):
        KSPTuner.load(path, space=PetscSpace(list(space)[:-1]))
    with pytest.raises(InvalidInputError, match="learned on problem 'heat'"):
        KSPTuner.load(path, space=space, problem_signature="other")
    other_size = KSPTuner.load(path, space=space)
    with pytest.raises(InvalidInputError, match="256 rows, and this system has 400 rows"):
        tuned(space, 1, n=20, tuner=other_size)
    # a prior for another size: the costs learned scaled by the ratio of rows (400 / 256) at the first solve
    remapped = KSPTuner.load(path, space=space, remap=True)
    prior = remapped.policy.posterior_mean()
    remapped.policy.update = lambda arm, loss: None  # the shift alone, not the new step's cost
    tuned(space, 1, n=20, tuner=remapped)
    assert remapped.cost_scale == 400 / 256 and remapped.matrix_size == 400
    assert np.allclose(remapped.policy.posterior_mean() - prior, np.log(400 / 256), atol=0.02)
    (tmp_path / "bad.json").write_text('{"format": "solverkit-tuner/1"}')
    with pytest.raises(InvalidInputError, match="not a solverkit KSPTuner file"):
        KSPTuner.load(tmp_path / "bad.json")
    # atomic: a failed save leaves the previous file whole
    before = path.read_text()

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        loaded.save(path)
    assert path.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "state.json"]
    monkeypatch.undo()
    # deciding per reuse cycle: the stretch in progress (and the best one) are saved and loaded
    building = tuned(space, 4, decide="build")
    mid = KSPTuner.load(building.save(tmp_path / "mid.json"), space=space)
    assert mid.stretches.state_dict() == building.stretches.state_dict()
    assert mid.stretches.decide == "build" and mid.stretches.best < float("inf")


def _check_cycle_charges(history: list[dict]) -> None:
    """Recomputed from the history as bandits.reuse.KeptPreconditioner.cycle_cost takes it: the build's
    third of its set-up, the kept steps' own KSPSetUp (a running mean) on two of three steps, and the mean
    over ages 0..2 of the latest cost without set-up at each age (an age not yet measured at the oldest's
    cost)."""
    rest: dict[int, float] = {}
    build, own, kept = None, 0.0, 0
    for h in history:
        assert h["converged"] and not h["fallback"], h
        if h["rebuilt"]:
            build = h["setup_seconds"]
        else:
            own += (1.0 if kept == 0 else KEPT_SETUP_WEIGHT) * (h["setup_seconds"] - own)
            kept += 1
        rest[h["pc_age"]] = h["seconds"] - h["setup_seconds"]
        oldest = max(rest)
        mean_rest = float(np.mean([rest.get(a, rest[oldest]) for a in range(3)]))
        assert h["charged"] == pytest.approx(build / 3 + 2 / 3 * own + mean_rest, rel=1e-9), h["t"]
    assert [h["pc_age"] for h in history] == [0, 1, 2, 0, 1, 2, 0]


def test_cycle_charge_is_the_mean_cost_of_the_reuse_cycle():
    history = cycle_run()
    _check_cycle_charges(history)
    # not the step charge (the step's own cost with the build's third of its set-up), except at the first
    # step, when nothing else is measured yet
    step_charge = [h["seconds"] - h["setup_seconds"] + h["setup_charged"] for h in history]
    assert history[0]["charged"] == pytest.approx(step_charge[0], rel=1e-12)
    assert all(h["charged"] != pytest.approx(c, rel=1e-9) for h, c in zip(history[1:], step_charge[1:]))
    # rebuilt every step, the cycle is the step: charged its own wall time
    for h in cycle_run(steps=3, arm=0):
        assert h["rebuilt"] and h["charged"] == pytest.approx(h["seconds"], rel=1e-12)


def test_cycle_charge_leaves_capped_trials_and_their_finishes_out_of_the_cycles():
    """capped_run with charge='cycle': the capped solve (arm 1) is charged as a failed step, the finish is
    not fed to the policy and neither measures anything for a cycle; arm 0's chosen steps do."""
    steps = capped_run(cap=4.0, charge="cycle")["steps"]
    _check_capped_steps(steps)
    for k, s in enumerate(steps):
        first = s["entries"][0]
        if first["capped"]:
            assert first["charged"] == pytest.approx(10 * first["cost"], rel=1e-9)
            # nothing measured at this step for any configuration's cycle
            assert all(k not in at for at in s["measured"].values()), s["measured"]
        else:  # rebuilt every step: the cycle is the step, measured at this step
            assert first["charged"] == pytest.approx(first["cost"], rel=1e-9)
            assert any(at == [k] for at in s["measured"].values()), s["measured"]


def test_cycle_charge_refusals_and_persistence(tmp_path):
    space = PetscSpace.grid("cg", "gamg", rebuild=[1, 3])
    with pytest.raises(InvalidInputError, match="charge must be"):
        KSPTuner(space=space, charge="stretch")
    for bad in (dict(space=space, cost="iterations"), dict(space=space, decide="build"), dict()):
        with pytest.raises(InvalidInputError, match="charge='cycle'"):
            KSPTuner(charge="cycle", **bad)
    tuner = tuned(space, 2, charge="cycle")
    back = KSPTuner.load(tuner.save(tmp_path / "t.json"), space=space)
    assert back.charge == "cycle" and back.state_dict() == tuner.state_dict()
    # a file saved before the option existed loads with the step charge
    state = json.loads((tmp_path / "t.json").read_text())
    del state["charge"]
    (tmp_path / "old.json").write_text(json.dumps(state))
    assert KSPTuner.load(tmp_path / "old.json", space=space).charge == "step"


def test_ranks_agree_and_state_is_shared_on_two_ranks(tmp_path):
    proc = mpirun(2, "tests/petsc/config_tuner_checks.py", str(tmp_path))
    assert_clean_exit(proc)
    out = json.loads(proc.stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert out["size"] == 2
    rank0, rank1 = out["ranks"]
    # every rank applied the same arm, the same reuse decision and the same options at every step
    for key in ("leak", "reuse", "stretch", "tuned", "cycle"):
        assert rank0[key] == rank1[key], key
    _check_cycle_charges(rank0["cycle"])  # the cycle charge, from the max-reduced times of both ranks
    # capped solves stop at the same iterate on both ranks (the elapsed time is reduced with max)
    strip = [[[{k: v for k, v in e.items() if k not in ("charged", "cost")} for e in s["entries"]] for s in r["capped"]]
             for r in (rank0, rank1)]
    assert strip[0] == strip[1]
    _check_capped_steps(rank0["capped"], rank0["capped_updates"])
    _check_capped_steps(rank1["capped"])
    assert sum(not fallback for *_, fallback in rank0["tuned"]) == 6
    assert all(r["loaded_history"] and r["loaded_policy_state"] for r in out["ranks"])
    _check_leak_steps(out["leak"])
    # only rank 0's policy learns: rank 1's never updates
    _check_stretch_steps(rank0["stretch"], rank0["stretch_updates"])
    assert rank1["stretch_updates"] == [0] * 7
    for s in rank0["reuse"]:
        assert s["relres"] <= RTOL * SLACK and ("ref_its" not in s or s["its"] == s["ref_its"]), s
    # a file saved for another space is refused on every rank; a policy failing on rank 0 fails every rank
    assert all("another configuration space (1 new (cg+jacobi" in r["refused"] for r in out["ranks"])
    assert "thompson models log-costs" in rank0["policy_failure"]
    assert rank1["policy_failure"].startswith("policy 'thompson' failed on rank 0: InvalidInputError")


def _example(state, *extra: str) -> tuple[list[dict], dict, int]:
    proc = mpirun(2, "examples/petsc/config_tuner_loop.py", "--size", "24", "--steps", "8", "--verbose",
                  "--state", str(state), *extra)
    assert_clean_exit(proc)  # exit status 0, nothing on stderr
    lines = results(proc.stdout, "STEP")
    (summary,) = results(proc.stdout)
    # a capped or failed solve is followed by its finish (fallback=1), same t: a step's last line is its outcome
    steps = [s for s, after in zip(lines, lines[1:] + [{}]) if after.get("fallback") != "1"]
    assert [int(s["t"]) for s in steps] == list(range(8)), proc.stdout
    assert all(s["reason"] == "CONVERGED_RTOL" and float(s["relres"]) <= RTOL * SLACK for s in steps), proc.stdout
    finishes = sum(s["fallback"] == "1" for s in lines)
    assert len(lines) == 8 + finishes and int(summary["steps_run"]) == 8
    assert int(summary["capped"]) == sum(s["capped"] == "1" for s in lines)
    assert summary["ranks_agree"] == "1" and summary["converged"] == "1", proc.stdout
    assert int(summary["total_its"]) == sum(int(s["its"]) for s in lines)
    assert float(summary["total_seconds"]) > 0 and int(summary["ranks"]) == 2
    return steps, summary, len(lines)


def test_example_program_on_two_ranks_warm_starts_a_second_job(tmp_path):
    state = tmp_path / "tuner.json"
    _, first, solves = _example(state)
    assert first["prior_solves"] == "0" and state.exists()
    _, second, _ = _example(state)
    assert second["prior_solves"] == str(solves)  # the second job started from the first one's knowledge
    saved = json.loads(state.read_text())
    finishes = sum(bool(h["fallback"]) for h in saved["history"])
    assert len(saved["history"]) == 16 + finishes and saved["policy_state"]["t"] == 16


@pytest.mark.parametrize("extra, message", [
    (("--charge", "cycel"), "'step', 'cycle'"),
    (("--charge", "cycle", "--decide", "build"), "needs --decide step"),
    (("--charge", "step,cycle"), "a list with --compare"),
    (("--space", "famlies"), "'families', 'all'"),
    (("--space", "families,all"), "a list with --compare"),
    (("--cap", "1"), "a cost ratio > 1"),
    (("--cap", "four"), "a cost ratio > 1"),
])
def test_example_refuses_a_bad_charge_or_space_before_any_solve(extra, message):
    proc = mpirun(2, "examples/petsc/config_tuner_loop.py", "--size", "24", "--steps", "8", "--verbose", *extra,
                  timeout=120)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert "STEP" not in proc.stdout and "PETSC ERROR" not in proc.stderr  # refused before the loop


def test_example_refuses_a_state_saved_over_the_other_space(tmp_path):
    state = tmp_path / "tuner.json"
    _example(state)  # over the families (the default)
    proc = mpirun(2, "examples/petsc/config_tuner_loop.py", "--size", "24", "--steps", "8", "--state", str(state),
                  "--space", "all", timeout=120)
    assert proc.returncode != 0 and "another configuration space" in proc.stderr, proc.stderr
    assert "give the --space it was saved with" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "STEP" not in proc.stdout and "RESULT" not in proc.stdout


def test_example_reports_the_charge_sunk_setup_and_cap_a_loaded_tuner_keeps(tmp_path):
    state = tmp_path / "tuner.json"
    _, first, _ = _example(state, "--charge", "cycle", "--no-sunk-setup", "--cap", "3")
    _, second, _ = _example(state)  # --charge step, sunk set-up and cap by default: the file's settings stay
    assert first["charge"] == second["charge"] == "cycle"
    assert first["sunk_setup"] == second["sunk_setup"] == "0"
    assert float(first["cap"]) == float(second["cap"]) == 3.0
    saved = json.loads(state.read_text())
    assert saved["charge"] == "cycle" and saved["sunk_setup"] is False and saved["cap"] == 3.0
    # a new tuner takes the kept PCs' set-up as paid unless told not to, with KSPTuner's default cap
    _, fresh, _ = _example(tmp_path / "fresh.json")
    assert fresh["sunk_setup"] == "1" and json.loads((tmp_path / "fresh.json").read_text())["sunk_setup"] is True
    assert float(fresh["cap"]) == DEFAULT_CAP
    _, uncapped, _ = _example(tmp_path / "none.json", "--cap", "none")
    assert float(uncapped["cap"]) == 0 and json.loads((tmp_path / "none.json").read_text())["cap"] is None


def test_sunk_setup_hands_rank_zeros_policy_the_kept_pcs_share(tmp_path):
    """KSPTuner(sunk_setup=True): before each choice the policy receives, per arm, the set-up share of a PC
    kept for the next step (the build's KSPSetUp seconds over its rule's 3 steps), 0 where the rule
    rebuilds or nothing is built; refused without a space, with an iteration cost or another policy; saved."""
    space = PetscSpace.grid("cg", "gamg", rebuild=[1, 3]) + PetscSpace.grid("cg", "sor", pc_sor_omega=[1.5])
    for bad in (dict(option="pc_sor_omega", values=[1.2, 1.5], policy="thompson"),
                dict(space=space, cost="iterations", policy="thompson"), dict(space=space, policy="tsallis-inf")):
        with pytest.raises(InvalidInputError, match="sunk_setup credits"):
            KSPTuner(sunk_setup=True, **bad)
    assert KSPTuner(space=space, policy="thompson").sunk_setup is False  # the default
    # try_each: arms 0, 1, 2 at steps 0-2, so GAMG's build of step 0 is kept by arm 1 at step 1 (a credit)
    tuner = KSPTuner(space=space, policy="thompson", seed=3, cap=None, sunk_setup=True,
                     policy_options={"try_each": True})
    seen = []
    draw = tuner.policy.select

    def spy(context=None, sunk=None):
        seen.append(np.array(sunk))
        return draw(context, sunk=sunk)

    tuner.policy.select = spy
    tuned(space, 8, tuner=tuner)
    h = tuner.history
    assert len(seen) == len(h) == 8 and seen[0].tolist() == [0.0, 0.0, 0.0]
    assert all(e["converged"] for e in h) and [e["arm"] for e in h[:3]] == [0, 1, 2] and seen[1][1] > 0
    for t in range(1, 8):
        gamg = [e for e in h[:t] if e["arm"] in (0, 1)]
        built = max((e["t"] for e in gamg if e["rebuilt"]), default=None)
        want = h[built]["setup_seconds"] / 3 if built is not None and t - built < 3 else 0.0
        assert seen[t][1] == pytest.approx(want, rel=1e-12), (t, [(e["arm"], e["rebuilt"]) for e in h[:t]])
        assert seen[t][0] == 0.0 and seen[t][2] == 0.0  # both rebuilt every step (rebuild=1)
    back = KSPTuner.load(tuner.save(tmp_path / "t.json"), space=space)
    assert back.sunk_setup is True and back.state_dict() == json.loads(json.dumps(tuner.state_dict()))
