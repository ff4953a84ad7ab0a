"""Kronecker grid algebra: per-axis covariance and differentiation matrices on a uniform grid.

With a product kernel on a tensor grid, ``K = K_1 (x) K_2 (x) ...``; solves, log-determinants and
derivative maps are done axis by axis. On a uniform axis a stationary kernel's matrix is Toeplitz, so
the kernel is evaluated at the ``n`` distinct lags only (O(Q n) instead of O(Q n^2)).
"""
from __future__ import annotations

import numpy as np
import torch

from .kernels import SpectralMixture

__all__ = ["AxisAlgebra", "apply_axis", "kron_solve"]

#: relative jitter added to every K's diagonal
JITTER = 1e-10


class AxisAlgebra:
    """Covariance ``K`` and derivative covariances ``K^(k)_ij = d^k/dx_i^k k(x_i, x_j)`` on one axis."""

    def __init__(self, x: np.ndarray, kernel: SpectralMixture):
        dev = kernel.device  # everything on the kernel's device
        self.x = torch.as_tensor(np.asarray(x, dtype=np.float64), device=dev)
        self.kernel = kernel
        n = self.x.shape[0]
        diffs = np.subtract.outer(np.arange(n), np.arange(n))
        self._index = torch.as_tensor(np.abs(diffs), device=dev)
        self._sign = torch.as_tensor(np.sign(diffs).astype(np.float64), device=dev)
        h = float(x[1] - x[0]) if n > 1 else 1.0
        self._lags = torch.arange(n, dtype=torch.float64, device=dev) * h

    def matrices(self, order: int = 2) -> list[torch.Tensor]:
        """``[K, K', K'']`` up to ``order`` (differentiable in the kernel's parameters)."""
        ks = self.kernel.derivatives(self._lags, order)
        mats = [ks[0][self._index]]
        if order >= 1:
            mats.append(ks[1][self._index] * self._sign)  # k' is odd in z
        if order >= 2:
            mats.append(ks[2][self._index])
        n = mats[0].shape[0]
        mats[0] = mats[0] + JITTER * mats[0][0, 0] * torch.eye(n, dtype=torch.float64, device=self.x.device)
        return mats

    def derivative_maps(self, orders: set[int]) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """``K`` and ``{k: K^(k) K^-1}``: the maps from grid values to grid values of the k-th derivative."""
        top = max(orders | {0})
        mats = self.matrices(top)
        K = mats[0]
        chol = torch.linalg.cholesky(K)
        out = {}
        for k in orders:
            if k == 0:
                out[0] = torch.eye(K.shape[0], dtype=torch.float64, device=K.device)
            else:
                out[k] = torch.cholesky_solve(mats[k].T.contiguous(), chol).T  # K^(k) K^-1 (K symmetric)
        return K, out


def apply_axis(M, U, axis: int):
    """Multiply the array ``U`` by ``M`` along ``axis`` (the Kronecker factor of that axis); numpy or torch."""
    if isinstance(U, torch.Tensor):
        return torch.movedim(torch.tensordot(M, torch.movedim(U, axis, 0), dims=1), 0, axis)
    return np.moveaxis(np.tensordot(M, np.moveaxis(U, axis, 0), axes=1), 0, axis)


def kron_solve(chols: list[torch.Tensor], U: torch.Tensor) -> torch.Tensor:
    """``(K_1 (x) K_2 ...)^-1 U`` for the Cholesky factors of the per-axis ``K_d``, axis by axis."""
    for axis, chol in enumerate(chols):
        moved = torch.movedim(U, axis, 0)
        U = torch.movedim(torch.cholesky_solve(moved.reshape(chol.shape[0], -1), chol).reshape(moved.shape), 0, axis)
    return U
