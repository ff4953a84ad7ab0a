"""2D convection-diffusion ``-nu Laplace(u) + w . grad(u) = f`` (nonsymmetric), first-order upwind."""
from __future__ import annotations

import numpy as np

from solvers import InvalidInputError

from .poisson import check_shape
from .problem import Problem, problem_from_grid
from .stencils import diffusion_stencil, make_operator, unit_offset

__all__ = ["convection_diffusion"]


def convection_diffusion(shape: int | tuple[int, int] = (64, 64), nu: float = 0.01,
                         wind: tuple[float, float] = (1.0, 0.5)) -> Problem:
    """Upwind finite differences on the unit square, ``u = 0`` on the boundary, ``f = 1``.

    The matrix is an M-matrix (so ILU, Gauss-Seidel and GMRES behave) but not symmetric: CG refuses it.
    The cell Peclet number is ``|w| h / nu``.

    Examples
    --------
    >>> import solvers
    >>> p = convection_diffusion((32, 32), nu=0.01)
    >>> solvers.solve(p, p.b, method="gmres", pc="ilu").converged
    True
    """
    shape = check_shape(shape, max_dim=2)
    if len(shape) != 2:
        raise InvalidInputError("convection_diffusion is 2-D: give shape=(nx, ny)")
    if not nu > 0:
        raise InvalidInputError(f"nu must be > 0, got {nu}")
    spacing = tuple(1.0 / (n + 1) for n in shape)
    stencil = diffusion_stencil(nu, shape, spacing)
    for axis, w in enumerate(wind):
        h = spacing[axis]
        stencil[(0, 0)] = stencil[(0, 0)] + abs(w) / h
        upstream = unit_offset(axis, 2, -1 if w > 0 else +1)
        stencil[upstream] = stencil[upstream] - abs(w) / h
    op = make_operator(stencil, shape)
    return problem_from_grid(op, np.ones(int(np.prod(shape))), spacing, "convection_diffusion2d",
                             meta={"nu": nu, "wind": tuple(wind)})
