"""``DeviceGrid``: a ``GridOperator`` on the GPU."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..grid import GridOperator

__all__ = ["DeviceGrid"]


class DeviceGrid:
    """A ``GridOperator`` moved to the GPU once: its assembled CSR matrix on the device (``A``) beside the
    host operator (``grid``), which the components that need the grid's shape and mask read (the learned
    preconditioner ``dcdm``). Every other component sees ``A``, a ``cupyx.scipy.sparse`` CSR matrix.

    ``solvers.solve`` makes one when the system is a ``GridOperator`` (or a problem on a grid) and ``b`` is a
    CuPy array, so a user never has to.

    Parameters
    ----------
    op : GridOperator
        The stencil operator on the host.

    Examples
    --------
    >>> from pde_examples import poisson
    >>> dg = DeviceGrid(poisson((8, 8)).grid)  # doctest: +SKIP
    >>> dg.shape, dg.grid.grid_shape  # doctest: +SKIP
    ((64, 64), (8, 8))
    """

    def __init__(self, op: GridOperator):
        import cupyx.scipy.sparse as csp

        self.grid = op
        self.A = csp.csr_matrix(op.to_csr())
        self.shape = op.shape
        self.dtype = np.dtype(self.A.dtype)

    def __matmul__(self, x: Any) -> Any:
        return self.A @ x

    def __repr__(self) -> str:
        return f"DeviceGrid({self.grid!r})"
