"""The tuning-loops suite on a tiny loop: every fixed configuration accounted for, early stops only where
a run can no longer be the best in hindsight, and the suite's rows and goals."""
from __future__ import annotations

import numpy as np

from bandits.space import ConfigSpace
from benchmarks import compare
from benchmarks.compare_loops import _fixed_runs, fixed_order, loop_space, overhead_per_step, tuner_space
from pde_examples.simulate_diffusion import default_arm


def test_suite_is_registered_and_space_holds_the_default():
    assert "tuning-loops" in compare.SUITES
    space = loop_space()
    c = space[default_arm(space)]
    assert (c.method, c.pc, c.options["amg_type"], c.rebuild) == ("cg", "amg", "sa", 1)


def test_fixed_runs_stop_only_when_they_cannot_be_best():
    space = (ConfigSpace.grid("cg", "amg", amg_type="sa", rebuild=[1, 4])
             + ConfigSpace.grid("cg", "jacobi"))
    runs = _fixed_runs(space, 24, 6, "fast")
    assert set(runs) == set(range(len(space)))
    complete = [r for r in runs.values() if not r["stopped"]]
    assert runs[default_arm(space)]["stopped"] is False and runs[default_arm(space)]["steps"] == 6
    best = min(r["total [s]"] for r in complete)
    for r in runs.values():
        assert r["converged"]
        if r["stopped"]:
            assert r["steps"] < 6 and r["total [s]"] > best
        else:
            assert r["steps"] == 6 and np.isclose(r["cumulative"][-1], r["total [s]"])
    # keeping the hierarchy 4 steps saves 3 of 4 set-ups: fewer rebuilds, not fewer iterations
    assert runs[1]["rebuilds"] == 2 and runs[0]["rebuilds"] == 6
    assert runs[1]["iterations"] >= runs[0]["iterations"]


def test_overhead_is_measured_per_step():
    ov = overhead_per_step(n_arms=100, steps=30)
    assert ov["arms"] == 100 and 0 < ov["median [ms]"] <= ov["p90 [ms]"]


def test_fixed_order_puts_the_default_first_then_the_tuners_cheapest_arms():
    space = loop_space()
    d = default_arm(space)
    hist = [{"arm": 5, "wall": 0.2}, {"arm": 5, "wall": 0.4}, {"arm": 9, "wall": 0.1}, {"arm": d, "wall": 0.05},
            {"arm": 2, "wall": 0.9}]
    hist = [{**h, "config": space[h["arm"]].name} for h in hist]
    order = fixed_order(space, hist)
    assert sorted(order) == list(range(len(space)))
    assert order[:4] == [d, 9, 5, 2]                   # default, then mean cost 0.1, 0.3, 0.9
    assert order[4:] == [a for a in range(len(space)) if a not in (d, 9, 5, 2)]   # unplayed, in space order
    assert fixed_order(space) == [d] + [a for a in range(len(space)) if a != d]
    # a tuner over part of the space (tuner_space) is matched by name, not by its own arm numbers
    arms = tuner_space()
    part = [{"arm": 0, "config": arms[3].name, "wall": 0.1}, {"arm": 1, "config": arms[0].name, "wall": 0.3}]
    assert fixed_order(space, part)[:3] == [d, space.index(arms[3].name), space.index(arms[0].name)]


def test_the_tuners_arms_are_families_with_adaptive_reuse_inside_the_fixed_space():
    arms, space = tuner_space(), loop_space()
    assert set(arms.names) < set(space.names) and len(arms) == 5
    assert all(c.rebuild == "amortized" for c in arms)
    assert len({(c.pc, tuple(sorted(c.options.items()))) for c in arms}) == 4  # RS twice: refreshed or not


def test_fixed_runs_in_the_tuners_order_give_the_same_best():
    space = (ConfigSpace.grid("cg", "amg", amg_type="sa", rebuild=[1, 4])
             + ConfigSpace.grid("cg", "jacobi"))
    hist = [{"config": space[2].name, "wall": 0.001}, {"config": space[1].name, "wall": 0.002}]
    runs = _fixed_runs(space, 24, 6, "fast", hist=hist)
    assert set(runs) == set(range(len(space))) and runs[default_arm(space)]["steps"] == 6
    complete = [r for r in runs.values() if not r["stopped"]]
    assert all(r["steps"] == 6 for r in complete)
    assert all(r["total [s]"] > min(c["total [s]"] for c in complete) for r in runs.values() if r["stopped"])


def test_petsc_suite_is_skipped_without_petsc4py(tmp_path, monkeypatch):
    """Without petsc4py (the plain .venv) the PETSc suite says so and writes no report; with it, the suite
    runs (tests/petsc/test_compare_petsc_loops.py)."""
    from benchmarks import compare_petsc_loops

    monkeypatch.setattr(compare_petsc_loops, "petsc_available", lambda: False)
    text = compare.run_suite("tuning-petsc", quick=True, repeats=1, out=tmp_path)
    assert text.startswith("tuning-petsc: skipped") and not list(tmp_path.iterdir())


def test_rounds_rerun_the_best_fixed_on_the_same_instances_and_tuners_of_other_seeds():
    """A round re-runs the best fixed configuration on the sweep's instances (the same iterations, step for
    step), then a tuner of the round's seed and its warm-started second job; the verdicts are ratios of
    medians over the sweep's run and the rounds'."""
    from benchmarks.compare_loops import _rounds, median_verdicts

    from benchmarks.compare_loops import RTOL
    from pde_examples.simulate_diffusion import fixed_tuner, run_loop

    space = ConfigSpace.grid("cg", "amg", amg_type="sa", rebuild=[1, 4]) + ConfigSpace.grid("cg", "jacobi")
    # the sweep's run of arm 1, whole (a sweep may stop it early on a slow moment: not the reference here)
    once = [h["iterations"] for h in run_loop(24, 6, "fast", fixed_tuner(space, 1, RTOL), rtol=RTOL)]
    arms = ConfigSpace.grid("cg", "amg", amg_type="sa", rebuild=4) + ConfigSpace.grid("cg", "jacobi")
    rounds = _rounds(space, 24, 6, "fast", best_arm=1, repeats=2, k=3, arms=arms)
    assert [r["round"] for r in rounds] == [1, 2]
    for r in rounds:
        assert r["fixed"]["steps"] == 6 and r["tuned"]["steps"] == 6 and r["warm"]["steps"] == 3
        assert r["fixed"]["iterations"] == sum(once) and r["fixed"]["rebuilds"] == 2
        assert all(x["converged"] for x in (r["fixed"], r["tuned"], r["warm"]))
    # the rounds' tuners are seeded by the round (not the sweep's seed 0): the first choice, made before any
    # (wall-clock, so noisy) cost is known, is the draw of a fresh tuner of that seed
    from bandits import Tuner
    from benchmarks.compare_loops import POLICY

    for r in rounds:
        first = Tuner(space=arms, policy=POLICY, seed=r["round"]).policy.select()
        assert r["tuned"]["history"][0]["arm"] == first
        assert {h["config"] for h in r["tuned"]["history"] + r["warm"]["history"]} <= set(arms.names)
    v = median_verdicts([10.0, 30.0, 12.0], [10.0, 8.0, 9.0], [2.0, 1.0, 5.0], [1.0, 1.0, 2.0], 24.0)
    assert np.isclose(v["fixed"], 12.0 / 9.0) and np.isclose(v["default"], 0.5) and np.isclose(v["warm"], 2.0)
