"""``Tuner(charge="cycle")``: a reuse rule charged its mean cost per step over the cycle it expects, from
the latest cost measured at each age of the kept preconditioner (bandits.reuse.KeptPreconditioner.cycle_cost)."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from bandits import Tuner
from bandits.reuse import KeptPreconditioner
from bandits.space import ConfigSpace
from pde_examples.drifting import DriftingDiffusion


def _expected_cycle(rest_by_age: dict[int, float], life: int) -> float:
    """The rule of KeptPreconditioner.cycle_cost written out for the ages this test meets (age 0 always
    measured, the ages measured contiguous from 0): measured ages as measured, older ones on the line from
    age 0 to the oldest measured, never downwards."""
    oldest = max(rest_by_age)
    slope = max((rest_by_age[oldest] - rest_by_age[0]) / oldest, 0.0) if oldest else 0.0
    return float(np.mean([rest_by_age[a] if a in rest_by_age else rest_by_age[oldest] + slope * (a - oldest)
                          for a in range(life)]))


def test_cycle_cost_fills_unmeasured_ages_and_follows_the_amortized_life():
    kept = KeptPreconditioner()
    for step, (rebuilt, its) in enumerate([(True, 10), (False, 12), (False, 14), (False, 16), (True, 10)]):
        kept.record(rebuilt, step, setup_seconds=0.5 if rebuilt else 0.0, solve_seconds=0.01 * its, iterations=its)
    assert kept.lifetimes == [4] and kept.expected_life("amortized") == 4.0
    kept.rest_by_age.clear()
    assert kept.cycle_cost("amortized", age=0, rest=0.20) == pytest.approx(0.20)
    # ages 0 and 2 measured: age 1 takes age 0's cost (the nearest younger), age 3 lies on the line 0 -> 2
    got = kept.cycle_cost("amortized", age=2, rest=0.30)
    assert got == pytest.approx((0.20 + 0.20 + 0.30 + 0.35) / 4, rel=1e-12)
    # a cost that fell with age is not extrapolated downwards
    kept.rest_by_age.clear()
    kept.cycle_cost(4, age=0, rest=0.30)
    assert kept.cycle_cost(4, age=1, rest=0.20) == pytest.approx((0.30 + 0.20 + 0.20 + 0.20) / 4, rel=1e-12)


def test_tuner_charges_each_step_the_cycle_mean_of_its_rule():
    """Recomputed from the history: the build's share of its set-up plus the mean over ages 0..2 of the
    latest step cost (set-up left out) measured at each age, the ages not yet measured extrapolated."""
    space = ConfigSpace.grid("cg", "amg", rebuild=[1, 3])
    tuner = Tuner(space=space, policy="fixed", policy_options={"arm": 1}, rtol=1e-9, charge="cycle")
    sim = DriftingDiffusion(32, "fast", seed=0)
    for _ in range(9):
        p = sim.system()
        res = tuner.solve(p.A, p.b, x0=sim.u)
        assert res.converged
        sim.advance(res.x)
    rest: dict[int, float] = {}
    build = None
    for h in tuner.history:
        assert not h["fallback"] and h["converged"]
        if h["rebuilt"]:
            build = h["setup_seconds"]
        rest[h["pc_age"]] = h["cost"] - (h["setup_seconds"] if h["rebuilt"] else 0.0)
        assert h["charged"] == pytest.approx(build / 3 + _expected_cycle(rest, 3), rel=1e-9), h["t"]
    assert [h["pc_age"] for h in tuner.history] == [0, 1, 2] * 3
    # the step charge would have been the step's own cost with the set-up share: different from the cycle's
    own = [h["cost"] - h["setup_seconds"] + h["setup_charged"] for h in tuner.history]
    assert not np.allclose(own, [h["charged"] for h in tuner.history], rtol=1e-6)


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
