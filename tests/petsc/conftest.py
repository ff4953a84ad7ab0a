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


def assert_clean_exit(proc: subprocess.CompletedProcess, allowed_stderr: str | None = None) -> None:
    """Exit status 0, no PETSc error or caught signal, and nothing on stderr but ``allowed_stderr`` lines."""
    report = f"exit status {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, report
    assert "PETSC ERROR" not in proc.stderr and "Caught signal" not in proc.stderr, report
    assert "MPI_ABORT" not in proc.stderr, report
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if allowed_stderr is not None:
        lines = [line for line in lines if allowed_stderr not in line]
    assert not lines, report


def run_clean(n: int, *args: str, allowed_stderr: str | None = None) -> str:
    """:func:`mpirun` that must end cleanly (see :func:`assert_clean_exit`); returns stdout."""
    proc = mpirun(n, *args)
    assert_clean_exit(proc, allowed_stderr)
    return proc.stdout


def results(stdout: str, tag: str = "RESULT") -> list[dict[str, str]]:
    """The ``key=value`` pairs of every line that starts with ``tag`` (the benchmark suite's parser)."""
    from benchmarks.compare_petsc_loops import parse_lines

    return parse_lines(stdout, tag)
