"""A KSPTuner in a time-stepping loop: a bandit picks our SSOR preconditioner's omega at every step.

A sequence of shifted 2-D Laplacians ``L + sigma_t I`` on a DMDA (one new matrix per step) is solved
with FCG and solverkit's SSOR inside PETSc (``RegistryPC``); ``bandits.KSPTuner`` learns the option
``-registry_pc_omega`` with Tsallis-INF (rank 0 decides and broadcasts). Module-level objects, no
``destroy()`` unless ``-loop_destroy``; ``-loop_n`` (grid points per side, 24), ``-loop_steps`` (10).

Prints, on rank 0, one line per step and a summary::

    STEP t=0 omega=1.4 reason=2 its=17 relres=6.1e-09
    RESULT steps=10 total_its=160 worst_relres=8.9e-09 distinct_omegas=4 ranks_agree=1
"""
import sys

import petsc4py

petsc4py.init(sys.argv)
from petsc4py import PETSc  # noqa: E402

from bandits.petsc import KSPTuner  # noqa: E402

opts = PETSc.Options("loop_")
n, steps, destroy = opts.getInt("n", 24), opts.getInt("steps", 10), opts.getBool("destroy", False)
comm = PETSc.COMM_WORLD

da = PETSc.DMDA().create([n, n], stencil_width=1, comm=comm)
b, x = da.createGlobalVec(), da.createGlobalVec()
b.set(1.0)
r = b.duplicate()
row, col = PETSc.Mat.Stencil(), PETSc.Mat.Stencil()
(xs, xe), (ys, ye) = da.getRanges()

ksp = PETSc.KSP().create(comm)
ksp.setType("fcg")
ksp.setTolerances(rtol=1e-8)
ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
pc = ksp.getPC()
pc.setType("python")
pc.setPythonType("solvers.petsc.RegistryPC")
PETSc.Options().setValue("registry_pc_type", "ssor")
ksp.setFromOptions()
tuner = KSPTuner("registry_pc_omega", values=[1.0, 1.2, 1.4, 1.6, 1.8], policy="tsallis-inf", seed=0)
ksp = tuner.wrap(ksp)

worst, total = 0.0, 0
for t in range(steps):
    sigma = 0.05 * (t % 4)
    A = da.createMatrix()
    for j in range(ys, ye):
        for i in range(xs, xe):
            row.index = (i, j)
            A.setValueStencil(row, row, 4.0 + sigma)
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                if 0 <= i + di < n and 0 <= j + dj < n:
                    col.index = (i + di, j + dj)
                    A.setValueStencil(row, col, -1.0)
    A.assemble()
    ksp.setOperators(A)
    x.set(0.0)
    ksp.solve(b, x)
    A.mult(x, r)
    r.aypx(-1.0, b)
    relres = r.norm() / b.norm()
    worst, total = max(worst, relres), total + ksp.getIterationNumber()
    PETSc.Sys.Print(f"STEP t={t} omega={tuner.history[-1]['value']} reason={int(ksp.getConvergedReason())} "
                    f"its={ksp.getIterationNumber()} relres={relres:.6e}")
    if destroy:
        A.destroy()

values = [h["value"] for h in tuner.history]
everyone = comm.tompi4py().allgather(values)
PETSc.Sys.Print(f"RESULT steps={steps} total_its={total} worst_relres={worst:.6e} distinct_omegas={len(set(values))} "
                f"ranks_agree={int(all(v == everyone[0] for v in everyone))}")

if destroy:
    for obj in (ksp, r, x, b, da):
        obj.destroy()
