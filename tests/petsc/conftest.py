"""PETSc plugin tests: they run in `.venv-petsc` (`make test-petsc`) and skip where petsc4py is absent."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("petsc4py", reason="needs extra petsc (petsc4py); run `make test-petsc`")

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list) -> None:
    for item in items:
        if "tests/petsc" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.petsc)


def mpirun(n: int, *args: str, timeout: float = 240.0) -> subprocess.CompletedProcess:
    """``mpiexec -n N python ARGS`` from the repository root; fails the test with the output on error."""
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.fail("mpiexec not found: install python3-mpi4py (it brings Open MPI)")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([mpiexec, "-n", str(n), sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return proc
