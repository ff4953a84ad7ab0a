"""Poisson's equation ``-Laplace(u) = f`` on the unit square/cube, 1D to 3D."""
from __future__ import annotations

import numpy as np

from solvers import InvalidInputError

from .problem import Problem, problem_from_grid
from .stencils import diffusion_stencil, make_operator

__all__ = ["poisson", "check_shape"]


def check_shape(shape: int | tuple[int, ...], max_dim: int = 3) -> tuple[int, ...]:
    """A grid shape as a tuple of ints, or :class:`solvers.InvalidInputError` unless it has 1 to ``max_dim``
    whole numbers >= 2.

    Examples
    --------
    >>> check_shape(8), check_shape((4, 5))
    ((8,), (4, 5))
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not 1 <= len(shape) <= max_dim or any(int(s) != s or s < 2 for s in shape):
        raise InvalidInputError(f"shape must be 1 to {max_dim} whole numbers >= 2, got {shape}")
    return tuple(int(s) for s in shape)


_dirichlet_profile = (lambda x: x * (1 - x) * np.exp(x), lambda x: x * (x + 3) * np.exp(x))
_neumann_profile = (lambda x: x ** 2 * (1 - x) ** 2 - 1 / 30, lambda x: -2 + 12 * x - 12 * x ** 2)


def poisson(shape: int | tuple[int, ...] = (64, 64), bc: str = "dirichlet") -> Problem:
    """The 3/5/7-point Laplacian with a manufactured smooth solution.

    Parameters
    ----------
    shape : int or tuple of int
        Unknowns per axis (1, 2 or 3 axes).
    bc : {"dirichlet", "neumann"}
        ``dirichlet``: vertex-centred grid, ``h = 1/(n+1)``, ``u = 0`` on the boundary, exact solution
        ``prod x_i (1 - x_i) exp(x_i)``. ``neumann``: cell-centred grid, ``h = 1/n``, zero flux, exact
        solution ``prod (x_i^2 (1 - x_i)^2 - 1/30)`` (zero mean); the matrix is singular with the
        constants as null space
        (``Problem.nullspace``) and ``b`` is projected onto the range, so CG from ``x0 = 0`` converges to
        the mean-zero solution.

    Examples
    --------
    >>> import numpy as np, solvers
    >>> p = poisson((40, 40))
    >>> res = solvers.solve(p, p.b, method="cg", pc="ic", rtol=1e-10)
    >>> bool(np.linalg.norm(res.x - p.exact) / np.linalg.norm(p.exact) < 1e-3)   # O(h^2) error
    True
    """
    shape = check_shape(shape)
    if bc not in ("dirichlet", "neumann"):
        raise InvalidInputError(f"bc must be 'dirichlet' or 'neumann', got {bc!r}")
    ndim = len(shape)
    if bc == "dirichlet":
        spacing = tuple(1.0 / (n + 1) for n in shape)
        axes = [h * np.arange(1, n + 1) for h, n in zip(spacing, shape)]
        g, minus_g2 = _dirichlet_profile
    else:
        spacing = tuple(1.0 / n for n in shape)
        axes = [h * (np.arange(n) + 0.5) for h, n in zip(spacing, shape)]
        g, minus_g2 = _neumann_profile
    # manufactured solution u = prod g(x_i), so -Laplace(u) = sum_i -g''(x_i) prod_{j != i} g(x_j);
    # deliberately not an eigenvector of the discrete Laplacian, so Krylov methods have work to do
    X = np.meshgrid(*axes, indexing="ij")
    exact = np.ones(shape)
    for x in X:
        exact = exact * g(x)
    f = np.zeros(shape)
    for i, xi in enumerate(X):
        term = minus_g2(xi)
        for j, xj in enumerate(X):
            if j != i:
                term = term * g(xj)
        f += term
    op = make_operator(diffusion_stencil(1.0, shape, spacing, boundary=bc), shape)
    b = f.reshape(-1)
    nullspace = None
    if bc == "neumann":
        # the finite-volume form integrates over cells; b must lie in range(A) = constants' complement
        nullspace = np.full(b.size, 1.0 / np.sqrt(b.size))
        b = b - nullspace * (nullspace @ b)
    origin = tuple(a[0] for a in axes)
    return problem_from_grid(op, b, spacing, f"poisson{ndim}d-{bc}", exact=exact.reshape(-1), nullspace=nullspace,
                             meta={"origin": origin, "bc": bc})
