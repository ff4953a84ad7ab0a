"""The PETSc plugin: solverkit inside PETSc programs (petsc4py), MPI included.

- ``solve(A, b, ..., backend="petsc")`` maps our methods and preconditioners onto KSP/PC types
  (:func:`solvers.petsc.ksp.solve_petsc`); method ``"petsc-ksp"`` takes any ``ksp_type``/``pc_type``.
- :class:`RegistryPC` makes every registered preconditioner a ``-pc_type python`` plugin for PETSc
  programs that do not know us::

      -ksp_type fcg -pc_type python -pc_python_type solvers.petsc.RegistryPC -registry_pc_type amg

- ``bandits.petsc.KSPTuner`` learns a PETSc option (``pc_sor_omega`` ...) across the solves of a
  time-stepping loop.
- A program may leave its PETSc objects to Python's garbage collector: :mod:`solvers.petsc.lifecycle`
  releases our ``PCPYTHON`` contexts before PETSc finalizes, so the process exits cleanly (example
  programs in ``examples/petsc/``).

Importing this package never imports petsc4py; using it without petsc4py raises
:class:`solvers.MissingDependencyError` naming the extra ``petsc``.
"""
from __future__ import annotations

from .registry_pc import RegistryPC

__all__ = ["RegistryPC", "solve_petsc"]


def solve_petsc(*args, **kwargs):  # noqa: ANN002, ANN003 - thin lazy wrapper, documented in .ksp
    """See :func:`solvers.petsc.ksp.solve_petsc`."""
    from .ksp import solve_petsc as _solve

    return _solve(*args, **kwargs)
