"""The trained network as a map from a float64 residual to a float64 direction (float32 inside)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from solvers import GridOperator, InvalidInputError
from solvers.backends import array_namespace, backend_of

from .network import DCDMNet, input_scale

__all__ = ["DirectionModel"]

class DirectionModel:
    """``direction(r)``: the network applied to ``r / ||r||`` times :func:`~learned.dcdm.network.input_scale`
    on the operator's grid, zero on solid cells.

    The paper preset feeds ``r / ||r||`` as the authors do (``lib/conjugate_gradient.py:1037-1039``). Ours
    (``input_norm="rms"``) feeds ``sqrt(N) r / ||r||``: with entries of size ``1/sqrt(N)`` the convolution
    biases dominated the output of our earlier, identity-skipped network and its training collapsed to
    directions orthogonal to ``b`` (loss stuck at 1, measured at 32^2 and 64^2); unit RMS input also keeps
    the input's scale the same at every resolution.
    """

    def __init__(self, net: DCDMNet, op: GridOperator):
        if op.ndim != net.config.dim:
            raise InvalidInputError(f"the network is for {net.config.dim}-D grids, the problem is {op.ndim}-D")
        self.net, self.op = net, op
        self.shape = op.grid_shape
        m = net.multiple
        self.pad = [(0, (-s) % m) for s in self.shape]
        mask = np.ones(self.shape, bool) if op.mask is None else op.mask
        self.device = next(net.parameters()).device
        self._mask_t = torch.as_tensor(mask, dtype=torch.float32, device=self.device)

    def _padded(self, t: torch.Tensor) -> torch.Tensor:
        flat = [v for lo_hi in reversed(self.pad) for v in lo_hi]
        return F.pad(t, flat) if any(flat) else t

    def _network(self, x: torch.Tensor) -> torch.Tensor:
        """The network on one float32 residual of the grid's shape (unit RMS), cropped back to the grid."""
        x = x[None, None]
        if self.net.config.mask_channel:
            x = torch.cat([x, self._mask_t[None, None]], dim=1)
        with torch.inference_mode():
            q = self.net(self._padded(x))[0, 0]
        return q[tuple(slice(0, s) for s in self.shape)]

    def __call__(self, r: Any) -> Any:
        """NumPy in, NumPy out; CuPy in, CuPy out, both crossing to torch by DLPack (no copy): the only new
        arrays are the float32 input and the float64 output the network's precision needs."""
        gpu = backend_of(r) == "cupy"
        xp = array_namespace(r)
        norm = float(xp.linalg.norm(r))
        if norm == 0.0 or not np.isfinite(norm):
            return xp.zeros_like(r)
        t = torch.from_dlpack(r) if gpu else torch.as_tensor(r)
        if gpu and t.device != self.device:
            raise InvalidInputError(f"the residual is on {t.device} and the network on {self.device}; "
                                    "the network must run where the arrays are")
        x = (t * (input_scale(self.net.config, t.numel()) / norm)).reshape(self.shape).to(device=self.device, dtype=torch.float32)
        q = self._network(x).to(dtype=torch.float64)
        q = torch.where(self._mask_t > 0, q, torch.zeros((), dtype=q.dtype, device=q.device)).reshape(-1)
        return xp.from_dlpack(q.contiguous()) if gpu else q.cpu().numpy()
