"""Finite-volume stencils for diffusion and upwind convection on structured grids."""
from __future__ import annotations

import numpy as np

from solvers import GridOperator

__all__ = ["diffusion_stencil", "face_coefficients", "unit_offset"]


def unit_offset(axis: int, ndim: int, sign: int) -> tuple[int, ...]:
    """The stencil offset one cell along ``axis`` in direction ``sign``.

    Examples
    --------
    >>> unit_offset(1, 3, -1)
    (0, -1, 0)
    """
    o = [0] * ndim
    o[axis] = sign
    return tuple(o)


def face_coefficients(k: np.ndarray, axis: int, boundary: str) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients on the faces on the - and + side of each cell: harmonic means inside the grid,
    the cell value on a Dirichlet boundary, zero on a Neumann (no-flux) boundary."""
    k = np.asarray(k, dtype=np.float64)
    lo = np.take(k, np.arange(k.shape[axis] - 1), axis=axis)
    hi = np.take(k, np.arange(1, k.shape[axis]), axis=axis)
    inner = 2.0 * lo * hi / (lo + hi)
    edge = np.take(k, [0], axis=axis) if boundary == "dirichlet" else np.zeros_like(np.take(k, [0], axis=axis))
    edge_hi = np.take(k, [-1], axis=axis) if boundary == "dirichlet" else np.zeros_like(edge)
    minus = np.concatenate([edge, inner], axis=axis)
    plus = np.concatenate([inner, edge_hi], axis=axis)
    return minus, plus


def diffusion_stencil(k: np.ndarray | float, shape: tuple[int, ...], spacing: tuple[float, ...],
                      boundary: str = "dirichlet", axis_scale: tuple[float, ...] | None = None) -> dict:
    """Stencil of ``-div(k grad u)`` (5-point in 2D, 7-point in 3D) as a GridOperator mapping."""
    ndim = len(shape)
    kc = np.broadcast_to(np.asarray(k, dtype=np.float64), shape)
    scale = axis_scale or (1.0,) * ndim
    stencil: dict[tuple[int, ...], np.ndarray] = {}
    centre = np.zeros(shape)
    for a in range(ndim):
        minus, plus = face_coefficients(kc, a, boundary)
        w = scale[a] / spacing[a] ** 2
        stencil[unit_offset(a, ndim, -1)] = -w * minus
        stencil[unit_offset(a, ndim, +1)] = -w * plus
        centre += w * (minus + plus)
    stencil[(0,) * ndim] = centre
    return stencil


def make_operator(stencil: dict, shape: tuple[int, ...], mask: np.ndarray | None = None) -> GridOperator:
    return GridOperator(shape, stencil, mask=mask)
