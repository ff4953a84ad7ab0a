"""A ``GridOperator`` applied in torch as a stencil convolution (batched, any float dtype)."""
from __future__ import annotations

import numpy as np
import torch

from solvers import GridOperator

__all__ = ["TorchStencil"]


class TorchStencil:
    """``A x`` for a batch ``x`` of shape ``(batch, *grid)``, with the operator's mask (solid cells: identity).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from pde_examples.fluid import fluid_pressure
    >>> p = fluid_pressure((8, 8), obstacles=1, seed=0)
    >>> x = np.random.default_rng(0).standard_normal(64)
    >>> A = TorchStencil(p.grid, torch.float64)
    >>> bool(np.allclose(A(torch.tensor(x).reshape(1, 8, 8)).reshape(-1).numpy(), p.A @ x))
    True
    """

    def __init__(self, op: GridOperator, dtype: torch.dtype = torch.float32):
        self.shape = op.grid_shape
        self.terms = []
        for offset, coef in op.stencil.items():
            tgt, src = op._slices(offset)
            self.terms.append((tgt, src, torch.tensor(np.array(coef[tgt]), dtype=dtype)))
        self.mask = None if op.mask is None else torch.as_tensor(op.mask)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        u = x if self.mask is None else torch.where(self.mask, x, torch.zeros((), dtype=x.dtype))
        out = torch.zeros_like(x)
        for tgt, src, coef in self.terms:
            out[(slice(None), *tgt)] += coef * u[(slice(None), *src)]
        if self.mask is not None:
            out = torch.where(self.mask, out, x)
        return out
