"""`GPSolution`: the GP conditional mean, evaluated (with derivatives) anywhere in the domain."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from solvers import InvalidInputError

from .grid import AxisAlgebra, kron_solve

__all__ = ["GPSolution"]


@dataclass
class GPSolution:
    """``u(x) = k(x, X) K^{-1} U`` for the grid values ``U`` on the tensor grid ``X``.

    Call it on points of shape ``(m, dim)``; ``derivative=(1, 0)`` gives ``du/dx``, ``(2, 0)`` gives
    ``d2u/dx2``, and so on (orders 0 to 2 per axis).

    Examples
    --------
    >>> from learned.gp import solve_pde
    >>> sol = solve_pde("poisson1d-lowfreq", progress=False)
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 7)[:, None]
    >>> bool(np.max(np.abs(sol(x) - np.sin(6 * x[:, 0]))) < 1e-4)
    True
    """

    axes: list[np.ndarray]
    kernels: list[Any]
    values: np.ndarray
    info: dict = field(default_factory=dict)
    #: what the values were conditioned on (:class:`learned.gp.posterior.Equations`); ``std`` needs it
    equations: Any = None

    def __post_init__(self) -> None:
        self.kernels = [copy.deepcopy(k).requires_grad_(False) for k in self.kernels]
        chols = [torch.linalg.cholesky(AxisAlgebra(x, k).matrices(0)[0]) for x, k in zip(self.axes, self.kernels)]
        self._device = self.kernels[0].device
        self._alpha = kron_solve(chols, torch.as_tensor(self.values, device=self._device))

    @property
    def dim(self) -> int:
        return len(self.axes)

    @property
    def domain(self) -> tuple[tuple[float, float], ...]:
        return tuple((float(x[0]), float(x[-1])) for x in self.axes)

    def __call__(self, points: Any, derivative: tuple[int, ...] | None = None) -> np.ndarray:
        pts = self._points(points)
        alpha = tuple(derivative) if derivative is not None else (0,) * self.dim
        if len(alpha) != self.dim or any(o not in (0, 1, 2) for o in alpha):
            raise InvalidInputError(f"derivative must be {self.dim} orders in 0..2, got {derivative}")
        # in chunks: each kernel evaluation holds (points x grid x components) numbers
        width = max(len(x) for x in self.axes) * max(k.components for k in self.kernels)
        chunk = max(1, int(4e6 // width))
        return np.concatenate([self._evaluate(pts[i:i + chunk], alpha) for i in range(0, len(pts), chunk)])

    def _evaluate(self, pts: np.ndarray, alpha: tuple[int, ...]) -> np.ndarray:
        with torch.no_grad():
            rows = []
            for axis, (x, k) in enumerate(zip(self.axes, self.kernels)):
                z = torch.as_tensor(pts[:, axis][:, None] - x[None, :], device=self._device)
                rows.append(k.derivatives(z, alpha[axis])[alpha[axis]])
            if self.dim == 1:
                out = rows[0] @ self._alpha
            else:
                out = torch.einsum("mi,ij,mj->m", rows[0], self._alpha, rows[1])
        return out.cpu().numpy()

    def std(self, points: Any) -> np.ndarray:
        """The posterior standard deviation of ``u`` at ``points`` given the collocation equations.

        Exact Gaussian conditioning of the grid values' GP prior on the equations ``solve_pde`` solved
        (with their noise, if any; a semilinear PDE's equations linearized at this solution, Newton's
        Jacobian): see :mod:`learned.gp.posterior` for the model and what it does and does not cover.
        Without noise it is zero at the grid points and grows between them.
        """
        from .posterior import posterior, posterior_std

        if self.equations is None:
            raise InvalidInputError("this GPSolution was not made by solve_pde: no equations to condition on")
        pts = self._points(points)
        if getattr(self, "_posterior", None) is None:
            self._posterior = posterior(self.axes, self.kernels, self.values, self.equations)
        return posterior_std(self.axes, self.kernels, self._posterior, pts)

    def _points(self, points: Any) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim == 1 and self.dim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != self.dim:
            raise InvalidInputError(f"points must have shape (m, {self.dim}), got {pts.shape}")
        if not np.all(np.isfinite(pts)):
            raise InvalidInputError("points contain NaN or Inf")
        return pts

    def grid(self) -> tuple[np.ndarray, ...]:
        """The collocation grid as ``meshgrid(..., indexing="ij")`` arrays."""
        return tuple(np.meshgrid(*self.axes, indexing="ij"))
