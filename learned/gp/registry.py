"""The registry entry of the GP solver (kind ``pde-solver``); importing it does not import torch."""
from __future__ import annotations

from typing import Any

__all__ = ["GPSolver"]


class GPSolver:
    """``solvers.registry.get("pde-solver", "gp")(kernel="student-t").solve("poisson1d-sin100")``.

    Constructor options are those of :func:`learned.gp.solve_pde`; ``solve`` may override them.

    Examples
    --------
    >>> import solvers
    >>> gp = solvers.registry.get("pde-solver", "gp")(kernel="student-t", progress=False)
    >>> gp.solve("poisson1d-lowfreq").info["method"]
    'alternating'
    """

    name = "gp"
    requires = ("torch",)
    extra = "learned"
    backends = ("numpy",)
    defaults = {"kernel": "student-t", "method": "alternating", "components": 30}

    def __init__(self, **options: Any):
        self.options = options

    def solve(self, case_or_pde: Any, **options: Any) -> Any:
        from .solver import solve_pde

        return solve_pde(case_or_pde, **{**self.options, **options})
