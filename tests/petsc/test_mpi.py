"""The plugin under `mpiexec -n 2`: same converged answer as one process, one tuned value on all ranks."""
from __future__ import annotations

import numpy as np
import pytest

from .conftest import assert_clean_exit, mpirun

PLUGIN = ["-pc_type", "python", "-pc_python_type", "solvers.petsc.RegistryPC"]


def _heat(n_ranks: int, out, *options: str) -> str:
    proc = mpirun(n_ranks, "-m", "pde_examples.petsc_heat", "-heat_n", "48", "-heat_steps", "6", "-ksp_rtol", "1e-11",
                  "-heat_out", str(out), *options)
    assert_clean_exit(proc)
    return proc.stdout


def test_registry_pc_on_two_ranks_gives_the_one_process_answer(tmp_path):
    one = _heat(1, tmp_path / "one.npy", "-ksp_type", "fcg", *PLUGIN, "-registry_pc_type", "amg")
    two = _heat(2, tmp_path / "two.npy", "-ksp_type", "fcg", *PLUGIN, "-registry_pc_type", "amg")
    u1, u2 = np.load(tmp_path / "one.npy"), np.load(tmp_path / "two.npy")
    assert u1.shape == (48 * 48,)
    assert np.linalg.norm(u1 - u2) <= 1e-8 * np.linalg.norm(u1)
    its1 = [int(line.split()[5]) for line in one.splitlines() if line.startswith("step")]
    its2 = [int(line.split()[5]) for line in two.splitlines() if line.startswith("step")]
    assert len(its1) == len(its2) == 6 and max(its1) <= 12  # AMG-FCG on the whole operator
    assert all(b >= a for a, b in zip(its1, its2))  # block Jacobi over ranks is a weaker preconditioner


def test_tuner_on_two_ranks_uses_one_value_everywhere(tmp_path):
    out = tmp_path / "tuned.npy"
    proc = mpirun(2, "tests/petsc/mpi_checks.py", "tuner", "-heat_n", "48", "-heat_steps", "12", "-heat_tune",
                  "-heat_out", str(out), "-ksp_type", "cg", "-pc_type", "sor", "-pc_sor_local_symmetric",
                  "-ksp_rtol", "1e-11")
    assert_clean_exit(proc)
    assert "TUNED-VALUES-EQUAL" in proc.stdout
    assert int(proc.stdout.split("DISTINCT")[1].split()[0]) > 1  # it explored several omegas
    reference = tmp_path / "ref.npy"
    _heat(1, reference, "-heat_steps", "12", "-ksp_type", "cg", "-pc_type", "sor", "-pc_sor_local_symmetric")
    u_ref, u_tuned = np.load(reference), np.load(out)
    assert np.linalg.norm(u_ref - u_tuned) <= 1e-8 * np.linalg.norm(u_ref)


def test_component_that_needs_the_whole_operator_is_refused_on_two_ranks():
    proc = mpirun(2, "tests/petsc/mpi_checks.py", "unsafe")
    assert_clean_exit(proc, allowed_stderr="cannot run on 2 MPI ranks")  # the one message we expect
    assert "cannot run on 2 MPI ranks" in proc.stderr
    assert "REASON -11" in proc.stdout  # DIVERGED_PC_FAILED, the ranks keep running


def test_dcdm_runs_as_a_petsc_plugin_on_a_dmda_matrix(tmp_path):
    pytest.importorskip("torch", reason="needs extra learned (torch)")
    ref = _heat(1, tmp_path / "ref.npy", "-ksp_type", "cg", "-pc_type", "icc")
    out = _heat(1, tmp_path / "dcdm.npy", "-ksp_type", "fcg", *PLUGIN, "-registry_pc_type", "dcdm")
    assert "reason 2" in out and "reason -" not in out
    u_ref, u = np.load(tmp_path / "ref.npy"), np.load(tmp_path / "dcdm.npy")
    assert np.linalg.norm(u - u_ref) <= 1e-8 * np.linalg.norm(u_ref)
    assert "reason 2" in ref
    # on 2 ranks it is refused like the stand-in above (that test runs the refusal; this checks the flag)
    import solvers

    assert solvers.registry.get("pc", "dcdm").block_jacobi_safe is False
