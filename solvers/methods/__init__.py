"""Registered solution methods: one module per family."""
from . import amg, bicgstab, cg, direct, fcg, gmres, minres, stationary  # noqa: F401  (registration side effects)
from ..petsc import ksp as _petsc_ksp  # noqa: F401,E402  (method "petsc-ksp"; petsc4py is imported on use)
