"""The registry entry of the GP solver (kind ``pde-solver``); importing it does not import torch."""
from __future__ import annotations

from typing import Any

__all__ = ["GPSolver"]


class GPSolver:
    """``solvers.registry.get("pde-solver", "gp")(config).solve("poisson1d-sin100")``.

    The constructor takes a config (:class:`learned.gp.AlternatingConfig` or :class:`learned.gp.AdamConfig`)
    and/or the keyword form of :func:`learned.gp.solve_pde`; ``solve`` may override either.

    Examples
    --------
    >>> import solvers
    >>> from learned.gp import AlternatingConfig
    >>> gp = solvers.registry.get("pde-solver", "gp")(AlternatingConfig(rounds=4, progress=False))
    >>> gp.solve("poisson1d-lowfreq").info["config"].rounds
    4
    >>> solvers.registry.get("pde-solver", "gp")(kernel="gaussian", progress=False).solve(
    ...     "poisson1d-lowfreq", rounds=2).info["kernel"]
    'gaussian'
    """

    name = "gp"
    requires = ("torch",)
    extra = "learned"
    backends = ("numpy",)
    defaults = {"kernel": "student-t", "method": "alternating", "components": 30}

    def __init__(self, config: Any = None, **options: Any):
        self.config = config
        self.options = options

    def solve(self, case_or_pde: Any, config: Any = None, **options: Any) -> Any:
        """:func:`learned.gp.solve_pde` with this solver's config and options, ``config``/``options`` first."""
        from .solver import solve_pde

        return solve_pde(case_or_pde, config if config is not None else self.config, **{**self.options, **options})
