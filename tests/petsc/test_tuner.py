"""KSPTuner: it learns pc_sor_omega across a heat simulation's solves, and runs policies registered from
outside the package (by decorator or entry point), in one process and on two MPI ranks."""
from __future__ import annotations

import re

import json

import pytest
from petsc4py import PETSc

from bandits import DEFAULT_OMEGAS
from bandits.petsc import KSPTuner
from pde_examples.petsc_heat import main
from solvers import InvalidInputError
from tests.bandits.plugin_policy import plugin_site
from tests.petsc.tuner_plugin_checks import VALUES

__all__ = ["plugin_site"]  # the fixture, for the entry-point test below


def _run(options: dict) -> list[dict]:
    db = PETSc.Options()
    for key, value in options.items():
        db.setValue(key, value)
    try:
        return main([])
    finally:
        for key in options:
            db.delValue(key)


def test_tuned_heat_simulation_beats_the_default_omega():
    common = {"heat_n": 48, "heat_steps": 40, "ksp_type": "cg", "pc_type": "sor", "pc_sor_local_symmetric": ""}
    tuned = _run({**common, "heat_tune": "", "heat_seed": 3})
    plain = _run(common)  # PCSOR's default omega = 1
    assert all(r["reason"] > 0 for r in tuned + plain)
    assert {r["value"] for r in tuned} <= set(DEFAULT_OMEGAS)
    total_tuned, total_plain = sum(r["iterations"] for r in tuned), sum(r["iterations"] for r in plain)
    assert total_tuned < 0.95 * total_plain


def test_bad_tuner_configuration_is_refused():
    with pytest.raises(InvalidInputError, match="values"):
        KSPTuner("pc_gamg_threshold")
    with pytest.raises(InvalidInputError, match="omega"):
        KSPTuner("pc_sor_omega", values=[1.0, 2.5])
    with pytest.raises(InvalidInputError, match="young"):
        KSPTuner(policy="young")
    ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    with pytest.raises(InvalidInputError, match="choose"):
        KSPTuner(seed=0).learn(ksp)


def test_python_tuner_drives_petsc_with_the_same_choices_and_counts():
    from bandits import Tuner
    from pde_examples.sequences import shifted_laplacian_sequence

    on_petsc = Tuner("sor", "omega", policy="young", seed=0, backend="petsc")
    ours = Tuner("sor", "omega", policy="young", seed=0)
    for p in shifted_laplacian_sequence(8, seed=0):
        assert on_petsc.solve(p.A, p.b).method == "petsc:sor"
        ours.solve(p.A, p.b)
    assert [h["iterations"] for h in on_petsc.history] == [h["iterations"] for h in ours.history]
    # omega is read from residual histories: equal up to rounding
    assert [h["value"] for h in on_petsc.history] == pytest.approx([h["value"] for h in ours.history], rel=1e-8)


# -- a policy from outside the package (tests/bandits/plugin_policy.py) under KSPTuner ----------------
def _check_plugin_run(tuner, records, report, n_ranks=1):
    """The plugin's select/observe/update saw every solve, with the KSP's own iteration counts."""
    from tests.bandits.plugin_policy import RecordingPolicy

    assert len(records) == len(tuner.history) == 6
    assert all(r["reason"] > 0 and r["relres"] <= 1e-8 for r in records)
    its = [r["iterations"] for r in records]
    assert min(its) > 5 and [h["iterations"] for h in tuner.history] == its
    arms = [t % len(VALUES) for t in range(6)]  # RecordingPolicy plays the arms in turn
    assert [r["value"] for r in records] == [VALUES[a] for a in arms]
    assert report["select"] == arms
    assert report["update"] == [[a, float(i)] for a, i in zip(arms, its)]
    assert report["choose_value"] == [True] * 6  # called, and with no matrix (it stays in PETSc)
    for (arm, o_its, n_norms, last, b_norm, omega, converged), a, i in zip(report["observe"], arms, its):
        assert (arm, o_its, omega, converged) == (a, i, VALUES[a], True)
        assert n_norms == i + 1 and last <= 1e-8 * b_norm  # the KSP's (unpreconditioned) residual history
    assert isinstance(tuner.policy, RecordingPolicy)


def test_policy_registered_by_decorator_runs_under_ksptuner():
    from tests.bandits.plugin_policy import RecordingPolicy, registered
    from tests.petsc.tuner_plugin_checks import policy_report, tuned_heat

    with registered("test-recording", RecordingPolicy):
        tuner, records = tuned_heat("test-recording")
    assert isinstance(tuner.policy, RecordingPolicy)
    assert tuner.policy.target.param == "pc_sor_omega" and not tuner.policy.target.has_matrix
    _check_plugin_run(tuner, records, policy_report(tuner.policy))


def test_policy_from_an_entry_point_runs_under_ksptuner(plugin_site):
    from tests.petsc.tuner_plugin_checks import policy_report, tuned_heat

    tuner, records = tuned_heat("test-entry-point")
    assert type(tuner.policy).__name__ == "EntryPointPolicy"
    _check_plugin_run(tuner, records, policy_report(tuner.policy))


def test_continuous_value_is_set_on_the_ksp():
    from tests.bandits.plugin_policy import MidpointPolicy, registered
    from tests.petsc.tuner_plugin_checks import tuned_heat

    with registered("test-midpoint", MidpointPolicy):
        tuner, records = tuned_heat("test-midpoint", steps=3)
    middle = 0.5 * (VALUES[0] + VALUES[1])
    assert [r["value"] for r in records] == [middle] * 3
    assert all(r["reason"] > 0 and r["relres"] <= 1e-8 for r in records)
    # the value really reached PCSOR: the counts are those of the built-in fixed policy at that omega
    _, at_middle = tuned_heat("fixed", steps=3, values=(middle, 1.9))
    _, at_one = tuned_heat("fixed", steps=3, values=(1.0, 1.9))
    assert [r["iterations"] for r in records] == [r["iterations"] for r in at_middle]
    assert [r["iterations"] for r in records] != [r["iterations"] for r in at_one]


def test_policy_that_needs_the_matrix_is_refused_by_ksptuner():
    from tests.bandits.plugin_policy import DiagonalPolicy, registered

    with registered("test-needs-matrix", DiagonalPolicy):
        with pytest.raises(InvalidInputError, match="needs_matrix"):
            KSPTuner("pc_sor_omega", values=VALUES, policy="test-needs-matrix")


@pytest.mark.parametrize("route", ["decorator", "entry-point"])
def test_plugin_policy_on_two_ranks(tmp_path, route):
    from tests.bandits.plugin_policy import install_entry_points

    from .conftest import mpirun

    args = ["tests/petsc/tuner_plugin_checks.py", route]
    if route == "entry-point":
        site = tmp_path / "site"
        install_entry_points(site, {"test-entry-point": "tests.bandits.plugin_policy:EntryPointPolicy"})
        args.append(str(site))
    proc = mpirun(2, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PETSC ERROR" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    out = json.loads(proc.stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert out["size"] == 2
    rank0, rank1 = out["ranks"]
    assert rank0["values"] == rank1["values"] == [r["value"] for r in out["records"]]
    assert rank0["policy_class"] == rank1["policy_class"] == ("RecordingPolicy" if route == "decorator"
                                                              else "EntryPointPolicy")
    # rank 0 decides and learns; rank 1's policy is never asked
    assert all(not rank1["policy"][k] for k in ("select", "update", "observe", "choose_value"))
    records = out["records"]
    assert all(r["reason"] > 0 and r["relres"] <= 1e-8 for r in records)
    arms = [t % len(VALUES) for t in range(6)]
    its = [r["iterations"] for r in records]
    assert rank0["policy"]["select"] == arms
    assert rank0["policy"]["update"] == [[a, float(i)] for a, i in zip(arms, its)]
    assert [o[:2] for o in rank0["policy"]["observe"]] == [[a, i] for a, i in zip(arms, its)]
    assert all(o[2] == o[1] + 1 and o[3] <= 1e-8 * o[4] for o in rank0["policy"]["observe"])


def test_unusable_value_from_rank_0_is_raised_on_every_rank():
    from tests.bandits.plugin_policy import OverRelaxedPolicy, registered
    from tests.petsc.tuner_plugin_checks import tuned_heat

    from .conftest import mpirun

    with registered("test-over-relaxed", OverRelaxedPolicy):
        with pytest.raises(InvalidInputError, match="omega"):
            tuned_heat("test-over-relaxed", steps=1)
    proc = mpirun(2, "tests/petsc/tuner_plugin_checks.py", "over-relaxed")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PETSC ERROR" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    raised = sorted(re.findall(r"RAISED rank \d", proc.stdout))  # lines of two ranks may still interleave
    assert raised == ["RAISED rank 0", "RAISED rank 1"], proc.stdout
    assert "failed on rank 0" in proc.stdout and "omega" in proc.stdout
