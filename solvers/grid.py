"""`GridOperator`: a stencil on a structured grid, with an optional solid/fluid mask."""
from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from .errors import InvalidInputError

__all__ = ["GridOperator"]


class GridOperator:
    """A linear operator given by a (possibly variable-coefficient) stencil on a structured grid.

    Parameters
    ----------
    grid_shape : tuple of int
        Number of cells along each axis; unknowns are numbered in C (row-major) order.
    stencil : mapping of offset tuple -> scalar or array of ``grid_shape``
        ``stencil[o][i]`` is the coefficient coupling cell ``i`` to cell ``i + o``. Couplings that leave
        the grid are dropped (homogeneous Dirichlet outside, unless the diagonal says otherwise).
    mask : bool array of ``grid_shape``, optional
        ``True`` for active (fluid) cells. Inactive (solid) cells become identity rows with no coupling,
        so their unknowns stay equal to the right-hand side there (normally zero).

    Attributes
    ----------
    shape : tuple of int
        ``(n, n)``, the matrix shape, so a ``GridOperator`` can stand wherever a matrix can.
    grid_shape, ndim, mask, stencil

    Examples
    --------
    >>> import numpy as np
    >>> op = GridOperator((3, 3), {(0, 0): 4.0, (1, 0): -1.0, (-1, 0): -1.0, (0, 1): -1.0, (0, -1): -1.0})
    >>> op.shape
    (9, 9)
    >>> float(op.matvec(np.ones(9))[4])
    0.0
    >>> np.allclose(op.to_csr() @ np.arange(9.0), op.matvec(np.arange(9.0)))
    True
    """

    def __init__(self, grid_shape: tuple[int, ...], stencil: Mapping[tuple[int, ...], float | np.ndarray],
                 mask: np.ndarray | None = None):
        self.grid_shape = tuple(int(s) for s in grid_shape)
        if not self.grid_shape or min(self.grid_shape) < 1:
            raise InvalidInputError(f"grid_shape must be positive integers, got {grid_shape}")
        self.ndim = len(self.grid_shape)
        self.stencil: dict[tuple[int, ...], np.ndarray] = {}
        for offset, coef in stencil.items():
            offset = tuple(int(o) for o in offset)
            if len(offset) != self.ndim:
                raise InvalidInputError(f"stencil offset {offset} has {len(offset)} entries for a {self.ndim}-D grid")
            arr = np.broadcast_to(np.asarray(coef, dtype=np.float64), self.grid_shape)
            if not np.all(np.isfinite(arr)):
                raise InvalidInputError(f"stencil coefficient for offset {offset} contains NaN or Inf")
            self.stencil[offset] = arr
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != self.grid_shape:
                raise InvalidInputError(f"mask has shape {mask.shape}, the grid is {self.grid_shape}")
        self.mask = mask
        n = int(np.prod(self.grid_shape))
        self.shape = (n, n)
        self.dtype = np.dtype(np.float64)

    def _slices(self, offset: tuple[int, ...]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
        """(target cells, their neighbours) as slices, for the cells whose neighbour is inside the grid."""
        tgt, src = [], []
        for o, s in zip(offset, self.grid_shape):
            tgt.append(slice(max(0, -o), s - max(0, o)))
            src.append(slice(max(0, o), s - max(0, -o)))
        return tuple(tgt), tuple(src)

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``A @ x`` computed from the stencil (no matrix is assembled)."""
        u = np.asarray(x).reshape(self.grid_shape)
        if self.mask is not None:
            u = np.where(self.mask, u, 0.0)
        out = np.zeros(self.grid_shape, dtype=np.result_type(u.dtype, np.float32))
        for offset, coef in self.stencil.items():
            tgt, src = self._slices(offset)
            out[tgt] += coef[tgt] * u[src]
        if self.mask is not None:
            out = np.where(self.mask, out, np.asarray(x).reshape(self.grid_shape))
        return out.reshape(-1)

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return self.matvec(x)

    @classmethod
    def from_csr(cls, A: sp.spmatrix, grid_shape: tuple[int, ...]) -> "GridOperator":
        """The star stencil (centre and +-1 along each axis) read off an assembled matrix on ``grid_shape``.

        Used where only the matrix and the grid's shape are known (a PETSc DMDA matrix). Entries outside
        the star stencil are refused. Rows that are identity rows without couplings become solid cells.

        Examples
        --------
        >>> op = GridOperator((3, 4), {(0, 0): 4.0, (1, 0): -1.0, (-1, 0): -1.0, (0, 1): -1.0, (0, -1): -1.0})
        >>> back = GridOperator.from_csr(op.to_csr(), (3, 4))
        >>> bool(abs(back.to_csr() - op.to_csr()).max() == 0)
        True
        """
        A = sp.csr_matrix(A)
        grid_shape = tuple(int(s) for s in grid_shape)
        n = int(np.prod(grid_shape))
        if A.shape != (n, n):
            raise InvalidInputError(f"a {A.shape} matrix does not live on a {grid_shape} grid")
        index = np.arange(n).reshape(grid_shape)
        dim = len(grid_shape)
        offsets = [(0,) * dim] + [tuple(s if d == a else 0 for d in range(dim)) for a in range(dim) for s in (-1, 1)]
        stencil: dict[tuple[int, ...], np.ndarray] = {}
        counted = 0
        probe = cls(grid_shape, {(0,) * dim: 0.0})
        for offset in offsets:
            coef = np.zeros(grid_shape)
            tgt, src = probe._slices(offset)
            rows, cols = index[tgt].ravel(), index[src].ravel()
            vals = np.asarray(A[rows, cols]).ravel()
            coef[tgt] = vals.reshape(coef[tgt].shape)
            counted += int(np.count_nonzero(vals))
            stencil[offset] = coef
        if counted != A.count_nonzero():
            raise InvalidInputError("the matrix has couplings outside the star stencil of its grid")
        off = sum(np.abs(c) for o, c in stencil.items() if any(o))
        solid = (off == 0) & (stencil[(0,) * dim] == 1.0)
        return cls(grid_shape, stencil, mask=~solid if solid.any() else None)

    @cached_property
    def _csr(self) -> sp.csr_matrix:
        n = self.shape[0]
        index = np.arange(n).reshape(self.grid_shape)
        rows, cols, vals = [], [], []
        for offset, coef in self.stencil.items():
            tgt, src = self._slices(offset)
            r, c, v = index[tgt].ravel(), index[src].ravel(), coef[tgt].ravel()
            if self.mask is not None:
                keep = self.mask[tgt].ravel() & self.mask[src].ravel()
                r, c, v = r[keep], c[keep], v[keep]
            rows.append(r), cols.append(c), vals.append(v)
        if self.mask is not None:
            solid = np.flatnonzero(~self.mask.ravel())
            rows.append(solid), cols.append(solid), vals.append(np.ones(solid.size))
        A = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=self.shape)
        A = A.tocsr()
        A.sum_duplicates()
        A.eliminate_zeros()
        A.sort_indices()
        return A

    def to_csr(self) -> sp.csr_matrix:
        """The assembled matrix (built once, then cached)."""
        return self._csr

    def __repr__(self) -> str:
        return f"GridOperator(grid_shape={self.grid_shape}, points={len(self.stencil)}, mask={self.mask is not None})"
