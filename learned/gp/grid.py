"""Kronecker grid algebra: per-axis covariance and differentiation matrices on a uniform grid.

With a product kernel on a tensor grid, ``K = K_1 (x) K_2 (x) ...``; solves, log-determinants and
derivative maps are done axis by axis. On a uniform axis a stationary kernel's matrix is Toeplitz, so
the kernel is evaluated at the ``n`` distinct lags only (O(Q n) instead of O(Q n^2)).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["AxisAlgebra", "add_jitter", "apply_axis", "axis_maps", "kron_solve", "operator_orders"]

#: smallest jitter added to every K's diagonal, relative to the kernel's variance k(0)
JITTER = 1e-10
#: largest condition number allowed for a jittered K: the jitter is raised to lambda_max / MAX_CONDITION
MAX_CONDITION = 1e10


class AxisAlgebra:
    """Covariance ``K`` and derivative covariances ``K^(k)_ij = d^k/dx_i^k k(x_i, x_j)`` on one axis."""

    def __init__(self, x: np.ndarray, kernel: Any):
        """``kernel``: one axis's stationary kernel with ``derivatives(z, order)`` and ``device`` (an
        :class:`~learned.gp.gpytorch_kernels.AxisKernel`, or a :class:`~learned.gp.kernels.SpectralMixture`)."""
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
        mats[0], self.jitter = add_jitter(mats[0])
        return mats

    def derivative_maps(self, orders: set[int]) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """``K`` and ``{k: K^(k) K^-1}``: the maps from grid values to grid values of the k-th derivative.

        ``K`` is jittered (:func:`add_jitter`), so the GP mean ``k(x, X) K^-1 U`` takes the values
        ``S U`` at the grid, ``S = I - tau K^-1``: that ``S`` is the map of order 0.
        """
        top = max(orders | {0})
        mats = self.matrices(top)
        K = mats[0]
        chol = torch.linalg.cholesky(K)
        out = {}
        eye = torch.eye(K.shape[0], dtype=torch.float64, device=K.device)
        for k in orders:
            if k == 0:
                # the GP mean's values at the grid: K_raw (K_raw + tau I)^-1 = I - tau (K_raw + tau I)^-1
                out[0] = eye - self.jitter * torch.cholesky_solve(eye, chol)
            else:
                out[k] = torch.cholesky_solve(mats[k].T.contiguous(), chol).T  # K^(k) K^-1 (K symmetric)
        return K, out


def add_jitter(K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``K + tau I`` with ``tau`` from K's spectrum: ``lambda_max / MAX_CONDITION``, at least ``JITTER k(0)``.

    ``lambda_max`` is bounded by K's largest absolute row sum (Gershgorin), which costs O(n^2) and no
    eigen-decomposition. Before this cap (a fixed ``1e-10 k(0)``), fitting a smooth solution drove the
    length-scales up until ``cond(K)`` sat at ~3e11 and solves with K lost all but ~5 digits, so the
    kernel fit, and with it the error, hinged on rounding (1.7e-5 or 6.9e-4 for sin(pi x) depending on
    ``ATEN_CPU_CAPABILITY``). With ``tau >= lambda_max / 1e10`` (far above ``n eps lambda_max``, so the
    Cholesky factorization of ``K + tau I`` cannot break down), ``cond <= 1e10``. The jitter makes the
    GP mean a smoother: :meth:`AxisAlgebra.derivative_maps` returns its exact value map for order 0,
    which the collocation uses on the boundary, so no bias is left from ``tau``.

    Examples
    --------
    >>> K = torch.ones(3, 3, dtype=torch.float64)      # rank 1
    >>> Kj, tau = add_jitter(K)
    >>> float(tau) == 3 / MAX_CONDITION, bool(torch.linalg.cholesky_ex(Kj).info == 0)
    (True, True)
    """
    n = K.shape[0]
    lam_max = K.abs().sum(dim=1).max()
    tau = torch.maximum(lam_max / MAX_CONDITION, JITTER * K[0, 0])
    return K + tau * torch.eye(n, dtype=K.dtype, device=K.device), tau


def apply_axis(M, U, axis: int):
    """Multiply the array ``U`` by ``M`` along ``axis`` (the Kronecker factor of that axis); numpy or torch."""
    if isinstance(U, torch.Tensor):
        return torch.movedim(torch.tensordot(M, torch.movedim(U, axis, 0), dims=1), 0, axis)
    return np.moveaxis(np.tensordot(M, np.moveaxis(U, axis, 0), axes=1), 0, axis)


def kron_solve(chols: list[torch.Tensor], U: torch.Tensor) -> torch.Tensor:
    """``(K_1 (x) K_2 ...)^-1 U`` for the Cholesky factors of the per-axis ``K_d``, axis by axis.

    Kept instead of linear_operator's ``KroneckerProductLinearOperator``: the derivative maps need these
    per-axis factors anyway, and its ``inv_quad_logdet`` (same value to 2e-16) took 1.2-4.5x our time for
    the kernel fit's objective and gradient at 64^2-256^2 (several runs, ``python -m benchmarks.gp_gpyt``).
    """
    for axis, chol in enumerate(chols):
        moved = torch.movedim(U, axis, 0)
        U = torch.movedim(torch.cholesky_solve(moved.reshape(chol.shape[0], -1), chol).reshape(moved.shape), 0, axis)
    return U


def operator_orders(pde) -> list[int]:
    """The derivative orders of a PDE's terms, with 0 (the values, for the boundary): the maps it needs."""
    return sorted({o for alpha in pde.terms for o in alpha if o} | {0})


def axis_maps(axes, kernels, orders, grad: bool = False) -> tuple[list[torch.Tensor], list[dict[int, torch.Tensor]]]:
    """Per axis, the jittered kernel matrix ``K`` and the derivative maps of ``orders``
    (:meth:`AxisAlgebra.derivative_maps`), with autograd through the kernel's parameters if ``grad``."""
    Ks, maps = [], []
    with torch.set_grad_enabled(grad):
        for x, k in zip(axes, kernels):
            K, m = AxisAlgebra(x, k).derivative_maps(set(orders))
            Ks.append(K)
            maps.append(m)
    return Ks, maps
