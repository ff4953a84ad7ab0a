"""``solvers.solve(..., backend="petsc")`` from a script: PETSc KSPs behind solverkit's one-call API.

Each rank solves the whole system on its own (``backend="petsc"`` works on ``PETSC_COMM_SELF``), so the
program runs unchanged under ``mpiexec -n 2``; every rank checks its answer and rank 0 prints::

    RESULT case=cg+amg reason=2 its=9 relres=3.1e-09 ranks_agree=1

Cases: CG with AMG (PETSc's GAMG), FCG with SSOR run by our own code inside PETSc (``RegistryPC``),
and a pure-Neumann Laplacian (singular, rows summing to zero) with ``nullspace="constant"``. The
objects that ``solve`` creates are its own business: the script never sees a PETSc object.
``-solve_n`` sets the grid points per side (32).
"""
import sys

import petsc4py

petsc4py.init(sys.argv)
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from petsc4py import PETSc  # noqa: E402

import solvers  # noqa: E402

m = PETSc.Options("solve_").getInt("n", 32)
comm = PETSc.COMM_WORLD.tompi4py()


def laplacian(m: int, neumann: bool) -> sp.csr_matrix:
    """5-point Laplacian; Neumann: every diagonal entry is the number of neighbours (rows sum to zero)."""
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m)).tolil()
    if neumann:
        T[0, 0] = T[m - 1, m - 1] = 1.0
    return (sp.kron(sp.eye(m), T) + sp.kron(T, sp.eye(m))).tocsr()


A = laplacian(m, neumann=False)
N = laplacian(m, neumann=True)
b = np.sin(np.linspace(0.0, 7.0, A.shape[0])) + 1.0
b_neumann = b - b.mean()  # consistent: orthogonal to the constants

cases = [
    ("cg+amg", A, b, dict(method="cg", pc="amg")),
    ("fcg+registry-ssor", A, b, dict(method="fcg", options="-pc_type python -pc_python_type solvers.petsc.RegistryPC "
                                                           "-registry_pc_type ssor -registry_pc_omega 1.5")),
    ("neumann-cg+jacobi", N, b_neumann, dict(method="cg", pc="jacobi", nullspace="constant")),
]
for name, M, rhs, kw in cases:
    res = solvers.solve(M, rhs, rtol=1e-8, backend="petsc", **kw)
    relres = float(np.linalg.norm(rhs - M @ res.x) / np.linalg.norm(rhs))
    everyone = comm.allgather((int(res.reason), res.iterations, relres))
    PETSc.Sys.Print(f"RESULT case={name} reason={int(res.reason)} its={res.iterations} relres={relres:.6e} "
                    f"ranks_agree={int(all(e[:2] == everyone[0][:2] for e in everyone))}")
