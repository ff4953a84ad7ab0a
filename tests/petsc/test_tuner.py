"""KSPTuner in one process: it learns pc_sor_omega across a heat simulation's solves."""
from __future__ import annotations

import pytest
from petsc4py import PETSc

from bandits import DEFAULT_OMEGAS
from bandits.petsc import KSPTuner
from pde_examples.petsc_heat import main
from solvers import InvalidInputError


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
