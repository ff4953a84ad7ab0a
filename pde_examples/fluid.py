"""Pressure Poisson problems of incompressible flow on fluid domains with solid obstacles (the DCDM
paper's test setting, Kaneda et al., ICML 2023).

Cells are fluid or solid. The pressure equation couples fluid cells by the 5-point (7-point in 3-D)
Laplacian; walls and obstacles are Neumann (the missing neighbour drops out of the stencil), the open
side (the last layer along axis 0) is Dirichlet ``p = 0``; solid cells are inert identity rows. The
right-hand side is the negative divergence of a random smooth velocity field on the fluid cells.
Fluid pockets that obstacles cut off from the open side are made solid, so the matrix is SPD.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from solvers import GridOperator, InvalidInputError

from .problem import Problem, problem_from_grid

__all__ = ["fluid_pressure", "fluid_mask", "pressure_operator"]


def fluid_mask(shape: tuple[int, ...], obstacles: int | str = 0, seed: int | None = 0) -> np.ndarray:
    """A fluid mask with ``obstacles`` random boxes and balls (``"none"`` or 0: the open box).

    Examples
    --------
    >>> m = fluid_mask((32, 32), obstacles=3, seed=1)
    >>> m.shape, bool(m.all()), bool(m.mean() > 0.5)
    ((32, 32), False, True)
    """
    count = 0 if obstacles in ("none", None) else int(obstacles)
    if count < 0:
        raise InvalidInputError("obstacles must be >= 0")
    rng = np.random.default_rng(seed)
    mask = np.ones(shape, dtype=bool)
    coords = np.meshgrid(*[np.arange(s) + 0.5 for s in shape], indexing="ij")
    for k in range(count):
        size = np.array(shape, dtype=float)
        centre = rng.uniform(0.2, 0.8, len(shape)) * size
        radius = rng.uniform(0.06, 0.16) * size.min()
        if k % 2 == 0:  # box
            half = radius * rng.uniform(0.6, 1.4, len(shape))
            inside = np.all([np.abs(c - m) <= h for c, m, h in zip(coords, centre, half)], axis=0)
        else:  # ball
            inside = sum((c - m) ** 2 for c, m in zip(coords, centre)) <= radius**2
        mask &= ~inside
    # keep only fluid connected to the open side (index shape[0]-1 along axis 0)
    labels, _ = ndimage.label(mask)
    open_labels = set(np.unique(labels[-1][mask[-1]]).tolist()) - {0}
    return np.isin(labels, list(open_labels)) & mask


def pressure_operator(mask: np.ndarray) -> GridOperator:
    """The masked Laplacian: Neumann at walls and solids, Dirichlet beyond the last layer of axis 0."""
    shape = mask.shape
    dim = len(shape)
    fluid = mask.astype(np.float64)
    stencil: dict[tuple[int, ...], np.ndarray] = {}
    diag = np.zeros(shape)
    for axis in range(dim):
        for step in (-1, 1):
            offset = tuple(step if d == axis else 0 for d in range(dim))
            neighbour = np.zeros(shape)
            tgt = [slice(None)] * dim
            src = [slice(None)] * dim
            if step == 1:
                tgt[axis], src[axis] = slice(0, -1), slice(1, None)
            else:
                tgt[axis], src[axis] = slice(1, None), slice(0, -1)
            neighbour[tuple(tgt)] = fluid[tuple(src)]
            stencil[offset] = -neighbour * fluid
            diag += neighbour
            if axis == 0 and step == 1:  # open side: p = 0 beyond the last layer
                last = [slice(None)] * dim
                last[0] = -1
                diag[tuple(last)] += 1.0
    stencil[(0,) * dim] = np.where(mask, diag, 1.0)
    return GridOperator(shape, stencil, mask=mask)


def _smooth_field(shape: tuple[int, ...], rng: np.random.Generator, modes: int = 4) -> np.ndarray:
    coords = np.meshgrid(*[np.linspace(0, 1, s) for s in shape], indexing="ij")
    out = np.zeros(shape)
    for _ in range(modes * len(shape)):
        k = rng.integers(1, modes + 1, len(shape))
        phase = rng.uniform(0, 2 * np.pi, len(shape))
        term = rng.standard_normal()
        for c, kk, ph in zip(coords, k, phase):
            term = term * np.sin(np.pi * kk * c + ph)
        out += term
    return out


def fluid_pressure(shape: Sequence[int] = (64, 64), obstacles: int | str = 0, seed: int | None = 0) -> Problem:
    """The pressure equation of one projection step on a fluid domain.

    Parameters
    ----------
    shape : tuple of int
        Cells per axis (2-D or 3-D).
    obstacles : int or "none"
        Number of random solid boxes and balls.
    seed : int
        Seeds the obstacles and the velocity field.

    Examples
    --------
    >>> import solvers
    >>> p = fluid_pressure((32, 32), obstacles=2, seed=0)
    >>> res = solvers.solve(p, p.b, method="cg", pc="amg", rtol=1e-8)
    >>> res.converged, bool(abs(res.x[~p.mask.ravel()]).max() == 0.0)
    (True, True)
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or min(shape) < 4:
        raise InvalidInputError(f"fluid_pressure needs a 2-D or 3-D shape with at least 4 cells per axis, got {shape}")
    rng = np.random.default_rng(seed)
    mask = fluid_mask(shape, obstacles, seed)
    op = pressure_operator(mask)
    velocity = [_smooth_field(shape, rng) for _ in shape]
    div = sum(np.gradient(v, axis=a) for a, v in enumerate(velocity))
    b = np.where(mask, -div, 0.0)
    h = tuple(1.0 / s for s in shape)
    return problem_from_grid(op, b, h, name=f"fluid_pressure{shape}/obstacles={obstacles}",
                             meta={"obstacles": obstacles, "seed": seed})
