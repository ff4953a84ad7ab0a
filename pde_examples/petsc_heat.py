"""A distributed heat equation on a PETSc DMDA: a plain petsc4py program that solverkit plugs into.

Each step solves ``(I + dt kappa_t L) u_new = u + dt f`` on the unit square (5-point Laplacian ``L``,
zero Dirichlet walls) with a conductivity ``kappa_t`` that changes from step to step, so every step is
a new linear system. The program only calls ``ksp.setFromOptions()`` and ``ksp.solve``; solverkit
enters through the command line::

    # any registered preconditioner inside PETSc, block Jacobi over the ranks
    mpiexec -n 2 python -m pde_examples.petsc_heat -ksp_type fcg -pc_type python \\
        -pc_python_type solvers.petsc.RegistryPC -registry_pc_type amg

    # the paper's bandit picks SSOR-PCG's omega at every step (rank 0 decides, broadcasts)
    mpiexec -n 2 python -m pde_examples.petsc_heat -ksp_type cg -pc_type sor -pc_sor_local_symmetric -heat_tune

Options: ``-heat_n`` (grid points per side, 64), ``-heat_steps`` (20), ``-heat_dt`` (0.01),
``-heat_tune`` (learn ``pc_sor_omega`` with Tsallis-INF), ``-heat_seed`` (0), ``-heat_out FILE.npy``
(the final field in natural order, written by rank 0, atomically).
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["assemble", "main"]


def assemble(da: Any, dt: float, kappa: float | Callable[[float, float], float]) -> Any:
    """``I + dt K`` on the DMDA's interior grid (zero Dirichlet values outside): ``K = kappa L`` for a number
    ``kappa`` (5-point Laplacian ``L``), or for a function ``kappa(x, y)`` of the point the 5-point
    operator with the harmonic mean of the two cells' conductivities on each face."""
    from petsc4py import PETSc

    n = da.getSizes()[0]
    h = 1.0 / (n + 1)
    faces = ((-1, 0), (1, 0), (0, -1), (0, 1))
    if callable(kappa):
        c = dt / h**2

        def couplings(i: int, j: int) -> list[float]:  # c times each face's harmonic mean, walls included
            kc = kappa((i + 1) * h, (j + 1) * h)
            return [c * (2.0 * kc * kn / (kc + kn)) for kn in (kappa((i + di + 1) * h, (j + dj + 1) * h)
                                                               for di, dj in faces)]

        def diagonal(offs: list[float]) -> float:
            d = 1.0
            for off in offs:
                d += off
            return d
    else:
        c = dt * kappa / h**2

        def couplings(i: int, j: int) -> list[float]:
            return [c] * 4

        def diagonal(offs: list[float]) -> float:
            return 1.0 + 4.0 * c
    A = da.createMatrix()
    row, col = PETSc.Mat.Stencil(), PETSc.Mat.Stencil()
    (xs, xe), (ys, ye) = da.getRanges()
    for j in range(ys, ye):
        for i in range(xs, xe):
            row.index = (i, j)
            offs = couplings(i, j)
            A.setValueStencil(row, row, diagonal(offs))
            for (di, dj), off in zip(faces, offs):
                if 0 <= i + di < n and 0 <= j + dj < n:
                    col.index = (i + di, j + dj)
                    A.setValueStencil(row, col, -off)
    A.assemble()
    return A


def _source(da: Any) -> Any:
    f = da.createGlobalVec()
    n = da.getSizes()[0]
    (xs, xe), (ys, ye) = da.getRanges()
    x = (np.arange(xs, xe) + 1.0) / (n + 1)
    y = (np.arange(ys, ye) + 1.0) / (n + 1)
    X, Y = np.meshgrid(x, y, indexing="ij")
    field = np.exp(-80.0 * ((X - 0.3) ** 2 + (Y - 0.6) ** 2)) + np.sin(3 * np.pi * X) * np.sin(2 * np.pi * Y)
    f.getArray()[:] = field.T.ravel()  # DMDA local order: x fastest
    return f


def _save_natural(da: Any, u: Any, path: str) -> None:
    from petsc4py import PETSc

    nat = da.createNaturalVec()
    da.globalToNatural(u, nat)
    scatter, whole = PETSc.Scatter.toZero(nat)
    scatter.scatter(nat, whole, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
    if da.getComm().getRank() == 0:
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, whole.getArray().copy())
        os.replace(tmp, path)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the simulation; returns one record per step (iterations, reason, the tuned value)."""
    import petsc4py

    petsc4py.init(sys.argv if argv is None else argv)
    from petsc4py import PETSc

    opts = PETSc.Options("heat_")
    n, steps, dt = opts.getInt("n", 64), opts.getInt("steps", 20), opts.getReal("dt", 0.01)
    tune, seed, out = opts.getBool("tune", False), opts.getInt("seed", 0), opts.getString("out", "")
    comm = PETSc.COMM_WORLD
    da = PETSc.DMDA().create([n, n], dof=1, stencil_width=1, stencil_type=PETSc.DMDA.StencilType.STAR, comm=comm)
    u, f, rhs = da.createGlobalVec(), _source(da), da.createGlobalVec()
    u.set(0.0)
    ksp = PETSc.KSP().create(comm)
    ksp.setType("cg")
    ksp.setTolerances(rtol=1e-8)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setFromOptions()
    tuner = None
    if tune:
        from bandits.petsc import KSPTuner

        tuner = KSPTuner("pc_sor_omega", policy="tsallis-inf", seed=seed)
        ksp = tuner.wrap(ksp)
    records = []
    for step in range(steps):
        kappa = 1.0 + 0.5 * np.sin(0.7 * step)
        A = assemble(da, dt, kappa)
        ksp.setOperators(A)
        u.copy(rhs)
        rhs.axpy(dt, f)
        ksp.setInitialGuessNonzero(True)
        ksp.solve(rhs, u)
        rec = {"step": step, "iterations": ksp.getIterationNumber(), "reason": int(ksp.getConvergedReason()),
               "value": tuner.history[-1]["value"] if tuner else None}
        records.append(rec)
        PETSc.Sys.Print(f"step {step:3d}  kappa {kappa:.3f}  its {rec['iterations']:4d}  reason {rec['reason']}"
                        + (f"  omega {rec['value']:.3f}" if tuner else ""))
        A.destroy()
    PETSc.Sys.Print(f"total iterations {sum(r['iterations'] for r in records)}  ||u|| {u.norm():.12e}")
    if out:
        _save_natural(da, u, out)
    return records


if __name__ == "__main__":
    main()
