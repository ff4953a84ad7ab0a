"""A plain petsc4py program: 2-D Poisson on a DMDA, solver and preconditioner from the command line.

It knows nothing of solverkit; the plug-in comes in through the options database::

    mpiexec -n 2 python examples/petsc/registry_poisson.py -ksp_type fcg -pc_type python \\
        -pc_python_type solvers.petsc.RegistryPC -registry_pc_type amg

Like many scripts it keeps its PETSc objects in module-level variables and (by default) never calls
``destroy()``: Python frees them while the interpreter shuts down. ``-poisson_destroy`` destroys them
explicitly instead. ``-poisson_types amg,jacobi`` solves once per listed ``-registry_pc_type``, each
with its own KSP, all kept alive to the end. ``-poisson_n`` sets the grid points per side (32).

Prints, on rank 0, one line per solve::

    RESULT type=amg reason=2 its=8 relres=3.5e-08
"""
import sys

import petsc4py

petsc4py.init(sys.argv)
from petsc4py import PETSc  # noqa: E402

opts = PETSc.Options("poisson_")
n = opts.getInt("n", 32)
destroy = opts.getBool("destroy", False)
types = [t for t in opts.getString("types", "").split(",") if t] or [None]

da = PETSc.DMDA().create([n, n], stencil_width=1, comm=PETSc.COMM_WORLD)
A = da.createMatrix()
row, col = PETSc.Mat.Stencil(), PETSc.Mat.Stencil()
(xs, xe), (ys, ye) = da.getRanges()
for j in range(ys, ye):
    for i in range(xs, xe):
        row.index = (i, j)
        A.setValueStencil(row, row, 4.0)
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            if 0 <= i + di < n and 0 <= j + dj < n:
                col.index = (i + di, j + dj)
                A.setValueStencil(row, col, -1.0)
A.assemble()
b, x = A.createVecs()
b.set(1.0)
r = b.duplicate()

solves = []  # every KSP stays alive to the end of the program
for name in types:
    if name is not None:
        PETSc.Options().setValue("registry_pc_type", name)
    ksp = PETSc.KSP().create(PETSc.COMM_WORLD)
    ksp.setOperators(A)
    ksp.setTolerances(rtol=1e-8)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setFromOptions()
    x.set(0.0)
    ksp.solve(b, x)
    A.mult(x, r)
    r.aypx(-1.0, b)
    PETSc.Sys.Print(f"RESULT type={name or ksp.getPC().getType()} reason={int(ksp.getConvergedReason())} "
                    f"its={ksp.getIterationNumber()} relres={r.norm() / b.norm():.6e}")
    solves.append(ksp)

if destroy:
    for ksp in solves:
        ksp.destroy()
    for obj in (r, x, b, A, da):
        obj.destroy()
