"""Run under ``mpiexec -n 2`` by test_mpi.py: checks that need several ranks inside one program."""
from __future__ import annotations

import sys

import petsc4py

petsc4py.init(sys.argv)
from petsc4py import PETSc  # noqa: E402

import solvers  # noqa: E402
from pde_examples.petsc_heat import assemble, main  # noqa: E402


class _WholeGrid:
    """A stand-in for a component that needs the whole operator (a learned solver on a grid)."""

    name = "test-whole-grid"
    defaults: dict = {}
    symmetric = True
    block_jacobi_safe = False

    def setup(self, A):
        return self

    def apply(self, r):
        return r.copy()


def tuner_agrees() -> None:
    records = main(sys.argv)
    comm = PETSc.COMM_WORLD.tompi4py()
    values = [r["value"] for r in records]
    everyone = comm.allgather(values)
    if comm.rank == 0:
        print("TUNED-VALUES-EQUAL" if all(v == everyone[0] for v in everyone) else f"DIFFER {everyone}")
        print("DISTINCT", len(set(values)))


def unsafe_component() -> None:
    solvers.registry.register("pc", "test-whole-grid", replace=True)(_WholeGrid)
    da = PETSc.DMDA().create([16, 16], stencil_width=1, comm=PETSc.COMM_WORLD)
    A = assemble(da, 0.01, 1.0)
    b, x = A.createVecs()
    b.set(1.0)
    ksp = PETSc.KSP().create(PETSc.COMM_WORLD)
    ksp.setOperators(A)
    ksp.setType("fcg")
    pc = ksp.getPC()
    pc.setType("python")
    pc.setPythonContext(solvers.petsc.RegistryPC("test-whole-grid"))
    ksp.solve(b, x)
    PETSc.Sys.Print("REASON", ksp.getConvergedReason())


if __name__ == "__main__":
    {"tuner": tuner_agrees, "unsafe": unsafe_component}[sys.argv[1]]()
