"""The `Problem` dataclass every generator returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from solvers import GridOperator

__all__ = ["Problem", "problem_from_grid"]


@dataclass
class Problem:
    """A discretized linear PDE ``A u = b`` on a structured grid.

    Attributes
    ----------
    A : scipy.sparse.csr_matrix
        The assembled matrix (``solvers.solve(problem, problem.b)`` accepts the problem itself).
    b : numpy.ndarray
        Right-hand side, flattened in C order.
    shape : tuple of int
        Grid shape (unknowns per axis).
    spacing : tuple of float
        Grid spacing per axis.
    mask : bool array or None
        Active (fluid) cells; ``None`` when every cell is active.
    exact : numpy.ndarray or None
        The exact solution of the PDE at the grid points, where known (discretization error remains).
    name : str
    grid : solvers.GridOperator
        The stencil form of ``A`` (what learned solvers use).
    nullspace : numpy.ndarray or None
        Unit vector spanning ``A``'s null space (pure Neumann problems); ``b`` is then made consistent.
    """

    A: sp.csr_matrix
    b: np.ndarray
    shape: tuple[int, ...]
    spacing: tuple[float, ...]
    mask: np.ndarray | None = None
    exact: np.ndarray | None = None
    name: str = ""
    grid: GridOperator | None = None
    nullspace: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.A.shape[0])

    def points(self) -> list[np.ndarray]:
        """Coordinates of the unknowns, one array of ``shape`` per axis (``meta['origin']`` + i h)."""
        origin = self.meta.get("origin", tuple(h for h in self.spacing))
        axes = [o + h * np.arange(s) for o, h, s in zip(origin, self.spacing, self.shape)]
        return list(np.meshgrid(*axes, indexing="ij"))

    def __repr__(self) -> str:
        return f"Problem(name={self.name!r}, shape={self.shape}, n={self.n}, nnz={self.A.nnz})"


def problem_from_grid(op: GridOperator, b: np.ndarray, spacing: tuple[float, ...], name: str, **kw: Any) -> Problem:
    """A :class:`Problem` on a grid: ``A`` is the operator's CSR matrix, ``b`` flattened to float64, shape
    and mask from ``op``; other fields (``exact``, ``meta`` ...) through ``kw``."""
    return Problem(A=op.to_csr(), b=np.ascontiguousarray(b, dtype=np.float64).reshape(-1), shape=op.grid_shape,
                   spacing=spacing, mask=op.mask, name=name, grid=op, **kw)
