"""``Tuner(charge="cycle")``: a reuse rule charged its mean cost per step over the cycle it expects, from
the latest cost measured at each age of the kept preconditioner (bandits.reuse.KeptPreconditioner.cycle_cost)."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from bandits import Tuner
from bandits.reuse import KEPT_SETUP_WEIGHT, KeptPreconditioner
from bandits.space import ConfigSpace
from pde_examples.drifting import DriftingDiffusion


def _expected_cycle(rest_by_age: dict[int, float], life: int) -> float:
    """The mean over ages 0..life-1 as KeptPreconditioner.cycle_cost takes it, for the ages this test
    meets (age 0 measured, the ages measured contiguous from 0, at most three): measured ages as
    measured, older ones at the oldest's cost (no slope before three ages are measured)."""
    oldest = max(rest_by_age)
    return float(np.mean([rest_by_age.get(a, rest_by_age[oldest]) for a in range(life)]))


def test_cycle_cost_fills_unmeasured_ages_and_drops_old_measurements():
    kept = KeptPreconditioner(build_seconds=0.4, lifetimes=[4], served=1)
    assert kept.expected_life("amortized") == 4.0
    # ages 0 and 2 measured: age 1 takes age 0's cost (the nearest younger), age 3 the oldest's (no slope
    # from two ages)
    kept.cycle_cost("amortized", age=0, rest=0.20, step=10)
    got = kept.cycle_cost("amortized", age=2, rest=0.30, step=12, own_setup=0.02)
    assert got == pytest.approx(0.1 + 0.75 * 0.02 + (0.20 + 0.20 + 0.30 + 0.30) / 4, rel=1e-12)
    # a third age: least-squares slope over ages 0, 2, 3 (0.2, 0.3, 0.45) carried beyond the oldest
    slope = np.polyfit([0, 2, 3], [0.20, 0.30, 0.45], 1)[0]
    got = kept.cycle_cost(6, age=3, rest=0.45, step=13, own_setup=0.02)
    rest = [0.20, 0.20, 0.30, 0.45, 0.45 + slope, 0.45 + 2 * slope]
    assert got == pytest.approx(0.4 / 6 + 5 / 6 * 0.02 + np.mean(rest), rel=1e-12)
    # a cost falling with age is not extrapolated downwards
    falling = KeptPreconditioner(build_seconds=0.0)
    for age, r in enumerate([0.3, 0.25, 0.2]):
        got = falling.cycle_cost(5, age=age, rest=r, step=age)
    assert got == pytest.approx((0.3 + 0.25 + 0.2 * 3) / 5, rel=1e-12)
    # measurements more than two lives old are dropped: the matrix has drifted since
    falling.cycle_cost(1, age=0, rest=0.5, step=40)
    assert set(falling.rest_by_age) == {0} and falling.rest_by_age[0] == (0.5, 40)
    # a step older than the expected life counts: the mean covers its age
    young = KeptPreconditioner(build_seconds=0.0)
    assert young.cycle_cost(2, age=0, rest=0.1, step=0) == pytest.approx(0.1)
    assert young.cycle_cost(2, age=3, rest=0.5, step=3) == pytest.approx((0.1 + 0.1 + 0.1 + 0.5) / 4)


def test_a_kept_step_set_up_is_charged_as_a_running_mean():
    """Under refresh="amortized" only some kept steps refresh: the cycle is charged the mean of the kept
    steps' own set-up, not the latest one's (a refresh, or none), which swung the charge by the whole
    refresh cost from one step to the next."""
    kept = KeptPreconditioner(build_seconds=0.3)
    kept.cycle_cost(4, age=0, rest=0.2, step=0)
    charges = []
    for step in range(1, 41):  # a refresh of 0.08 s on every fourth kept step
        own = 0.08 if step % 4 == 0 else 0.0
        charges.append(kept.cycle_cost(4, age=1 + (step - 1) % 3, rest=0.2, step=step, own_setup=own))
    late = np.array(charges[20:])
    assert abs(kept.kept_setup - 0.02) < 0.02  # about the mean (0.08 / 4), never 0 or 0.08
    assert np.ptp(late) < 0.5 * 0.75 * 0.08, np.ptp(late)  # with the latest alone: 0.75 * 0.08 = 0.06
    assert kept.kept_measured == 40


def _run(tuner: Tuner, n: int, steps: int, drift: str = "fast") -> None:
    sim = DriftingDiffusion(n, drift, seed=0)
    for _ in range(steps):
        p = sim.system()
        res = tuner.solve(p.A, p.b, x0=sim.u)
        assert res.converged
        sim.advance(res.x)


def test_tuner_charges_each_step_the_cycle_mean_of_its_rule():
    """Recomputed from the history: the build's share of its set-up, the kept steps' own set-up (a running
    mean) on two of three steps, and the mean over ages 0..2 of the latest step cost without set-up at each age."""
    space = ConfigSpace.grid("cg", "amg", rebuild=[1, 3])
    tuner = Tuner(space=space, policy="fixed", policy_options={"arm": 1}, rtol=1e-9, charge="cycle")
    _run(tuner, 32, 9)
    rest: dict[int, float] = {}
    build, own, kept = None, 0.0, 0
    for h in tuner.history:
        assert not h["fallback"] and h["converged"]
        if h["rebuilt"]:
            build = h["setup_seconds"]
        else:  # the running mean of the kept steps' own set-up
            own += (1.0 if kept == 0 else KEPT_SETUP_WEIGHT) * (h["setup_seconds"] - own)
            kept += 1
        rest[h["pc_age"]] = h["cost"] - h["setup_seconds"]
        expected = build / 3 + 2 / 3 * own + _expected_cycle(rest, 3)
        assert h["charged"] == pytest.approx(expected, rel=1e-9), h["t"]
    assert [h["pc_age"] for h in tuner.history] == [0, 1, 2] * 3


def test_amortized_rules_and_a_capped_trial_under_the_cycle_charge():
    """An amortized rule over a drifting loop with a capped trial of another configuration: the trial is
    charged as a failed step and leaves no measurement in its build's cycle, nor does the finish in
    the incumbent's; every step the amortized rule chose does."""
    from collections import deque

    space = ConfigSpace.grid("cg", "amg", rebuild=["amortized"]) + ConfigSpace.grid("cg", "ic", rebuild=[1])
    tuner = Tuner(space=space, policy="thompson", seed=0, rtol=1e-9, charge="cycle", cap=4.0)
    choices = iter([0] * 6 + [1] + [0] * 2)
    tuner.policy.select = lambda context=None: next(choices)
    sim = DriftingDiffusion(32, "fast", seed=0)
    for t in range(9):
        if t == 6:  # a stand-in for a trial many times slower than the incumbent: capped at its first iterate
            tuner.recent.costs[0] = deque([1e-9])
        p = sim.system()
        res = tuner.solve(p.A, p.b, x0=sim.u)
        assert res.converged
        sim.advance(res.x)
    chosen = [h for h in tuner.history if not h["fallback"]]
    trial = chosen[6]
    assert trial["arm"] == 1 and trial["capped"] and not trial["converged"]
    plain = trial["cost"] - trial["setup_seconds"] + trial["setup_charged"]
    assert trial["charged"] == pytest.approx(10 * plain, rel=1e-12)  # FAILED_SOLVE_FACTOR, as with "step"
    ic = tuner.runner.cache[space[1].pc_key]
    assert ic.rest_by_age == {}  # the capped solve measured nothing for IC's cycle
    # nor did the finish (from the capped iterate, not a whole step) for AMG's: no measurement of step 6
    amg = tuner.runner.cache[space[0].pc_key]
    steps = sorted(at for _, at in amg.rest_by_age.values())
    assert 6 not in steps and set(steps) <= {0, 1, 2, 3, 4, 5, 7, 8} and 8 in steps


def test_rebuilt_every_step_the_cycle_is_the_step():
    space = ConfigSpace.grid("cg", "amg", rebuild=[1])
    tuner = Tuner(space=space, policy="fixed", policy_options={"arm": 0}, rtol=1e-9, charge="cycle")
    sim = DriftingDiffusion(24, "fast", seed=0)
    for _ in range(3):
        p = sim.system()
        sim.advance(tuner.solve(p.A, p.b, x0=sim.u).x)
    for h in tuner.history:
        assert h["charged"] == pytest.approx(h["cost"], rel=1e-9)


def test_cycle_charge_refusals_and_persistence(tmp_path):
    space = ConfigSpace.grid("cg", "amg", rebuild=[1, 3])
    with pytest.raises(solvers.InvalidInputError, match="charge must be"):
        Tuner(space=space, charge="stretch")
    for bad in (dict(space=space, cost="iterations"), dict(space=space, decide="build"), dict()):
        with pytest.raises(solvers.InvalidInputError, match="charge='cycle'"):
            Tuner(charge="cycle", **bad)
    tuner = Tuner(space=space, policy="thompson", seed=0, rtol=1e-8, charge="cycle")
    p = DriftingDiffusion(16, "slow", seed=0).system()
    tuner.solve(p.A, p.b)
    back = Tuner.load(tuner.save(tmp_path / "t.json"), space=space)
    assert back.charge == "cycle" and back.state_dict() == tuner.state_dict()


def test_petsc_configurator_measures_each_age_at_the_step_it_was_solved():
    """KSPConfigurator.cycle_cost (no PETSc call): each measurement is booked at the step of the solve just
    recorded (not the next one), so measurements more than two lives old are dropped on time."""
    from bandits.petsc_config import KSPConfigurator
    from bandits.petsc_space import PetscSpace

    run = KSPConfigurator(PetscSpace.grid("cg", "gamg", rebuild=[3]))
    kept, _, _ = run.make_current(run.space[0].pc_key)
    charges = []
    for step in range(8):
        rebuilt = step % 3 == 0
        info = run.record(rebuilt, 0.3 if rebuilt else 0.01, 0.2 + 0.01 * (step % 3), 10, rule=3)
        cost = (0.3 if rebuilt else 0.01) + 0.2 + 0.01 * (step % 3)
        charges.append(run.cycle_cost(3, info, 0.3 if rebuilt else 0.01, cost))
        assert kept.rest_by_age[info["pc_age"]][1] == step
    # at step 7 (age 1 of the build at step 6): each age holds its latest measurement
    assert {a: at for a, (_, at) in kept.rest_by_age.items()} == {0: 6, 1: 7, 2: 5}
    # the cycle's mean: 0.3 / 3 + 2/3 * 0.01 + (0.20 + 0.21 + 0.22) / 3 once every age is measured
    assert charges[-1] == pytest.approx(0.1 + 2 / 3 * 0.01 + 0.21, rel=1e-12)
