"""The example PETSc programs (examples/petsc/) under ``mpiexec -n 1`` and ``-n 2``: each solves to the
tolerance AND ends cleanly (exit status 0, nothing on stderr), with or without ``destroy()``.

Before the fix in :mod:`solvers.petsc.lifecycle`, every program that kept a KSP with our ``PCPYTHON``
in a module-level variable solved correctly and then died in ``PetscFinalize`` with ``SEGV`` and
``MPI_ABORT ... errorcode 59``.
"""
from __future__ import annotations

import pytest

from .conftest import results, run_clean

PLUGIN = ["-ksp_type", "fcg", "-pc_type", "python", "-pc_python_type", "solvers.petsc.RegistryPC"]
RTOL = 1e-8
SLACK = 1.01  # the program's residual is the true one, PETSc stopped on FCG's recursive one


@pytest.mark.parametrize("ranks,destroy", [(1, False), (2, False), (2, True)])
def test_plain_program_with_registry_pc_amg_and_jacobi(ranks, destroy):
    out = run_clean(ranks, "examples/petsc/registry_poisson.py", *PLUGIN, "-poisson_types", "amg,jacobi",
                    *(["-poisson_destroy"] if destroy else []))
    rows = {r["type"]: r for r in results(out)}
    assert set(rows) == {"amg", "jacobi"}, out
    for row in rows.values():
        assert int(row["reason"]) == 2 and float(row["relres"]) <= RTOL * SLACK, out
    amg, jacobi = int(rows["amg"]["its"]), int(rows["jacobi"]["its"])
    # pointwise Jacobi is the same on any number of ranks; AMG is block Jacobi over the ranks
    assert 50 <= jacobi <= 65, out
    assert amg <= (12 if ranks == 1 else 30) and 2 * amg < jacobi, out


@pytest.mark.parametrize("ranks", [1, 2])
def test_solve_with_petsc_backend_from_a_script(ranks):
    out = run_clean(ranks, "examples/petsc/solve_backend.py")
    rows = {r["case"]: r for r in results(out)}
    assert set(rows) == {"cg+amg", "fcg+registry-ssor", "neumann-cg+jacobi"}, out
    for row in rows.values():
        assert int(row["reason"]) == 2 and float(row["relres"]) <= RTOL * SLACK, out
        assert row["ranks_agree"] == "1", out
    assert int(rows["cg+amg"]["its"]) < int(rows["fcg+registry-ssor"]["its"]) < int(rows["neumann-cg+jacobi"]["its"])


@pytest.mark.parametrize("ranks,destroy", [(1, False), (2, True)])
def test_ksp_tuner_loop_over_registry_pc_omega(ranks, destroy):
    out = run_clean(ranks, "examples/petsc/tuner_loop.py", *(["-loop_destroy"] if destroy else []))
    steps = results(out, "STEP")
    assert len(steps) == 10, out
    assert all(int(s["reason"]) == 2 and float(s["relres"]) <= RTOL * SLACK for s in steps), out
    (summary,) = results(out)
    assert summary["ranks_agree"] == "1" and int(summary["distinct_omegas"]) > 1, out
    assert float(summary["worst_relres"]) <= RTOL * SLACK
    assert int(summary["total_its"]) == sum(int(s["its"]) for s in steps)
    # omega changes the iteration count: the tuner's choice reaches the component
    by_omega = {}
    for s in steps:
        by_omega.setdefault(s["omega"], set()).add(int(s["its"]))
    assert len({min(v) for v in by_omega.values()}) > 1, out
