"""Discretized PDE problems and the simulations that use ``solvers.solve()``.

Examples
--------
>>> import solvers
>>> from pde_examples import poisson
>>> p = poisson((32, 32))
>>> res = solvers.solve(p, p.b, method="cg", pc="amg")
>>> res.converged
True
"""
from .convection import convection_diffusion
from .diffusion import anisotropic, diffusion, lognormal_field
from .helmholtz import helmholtz
from .poisson import poisson
from .problem import Problem

__all__ = ["Problem", "poisson", "diffusion", "anisotropic", "convection_diffusion", "lognormal_field",
           "helmholtz"]
