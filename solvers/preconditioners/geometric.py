"""Geometric multigrid hierarchies on tensor-product grids: the grid read off a matrix's sparsity pattern,
linear interpolation between vertex grids, Galerkin coarse operators, cycled by PyAMG.

Used by the ``shifted-laplacian`` preconditioner, where aggregation AMG is weak: piecewise-constant (or
Jacobi-smoothed) aggregates represent the oscillatory error of a complex-shifted Helmholtz operator
poorly, while linear interpolation with Galerkin coarse operators and damped Jacobi smoothing is the
multigrid that Erlangga, Oosterlee and Vuik (2006) analysed for it.
"""
from __future__ import annotations

import logging
from functools import reduce
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["detect_grid", "linear_interpolation", "geometric_solver", "cycle"]

log = logging.getLogger(__name__)


def detect_grid(A: Any, dims: tuple[int, ...] = (2, 3)) -> tuple[int, ...] | None:
    """The shape ``(m,) * d`` of the square (cubic) vertex grid whose C-ordered unknowns ``A`` couples only
    to their grid neighbours (diagonal neighbours included: 5-, 7-, 9- or 27-point stencils), or ``None``.

    Only equal axes are recognised (an ``n``-by-``n`` matrix gives one candidate per dimension); the check is
    on the sparsity pattern, so a matrix whose pattern fits a grid is treated as one on that grid.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(12, 12))
    >>> detect_grid(sp.kron(T, sp.eye(12)) + sp.kron(sp.eye(12), T))
    (12, 12)
    >>> detect_grid(sp.random(144, 144, density=0.05, random_state=0)) is None
    True
    """
    A = sp.coo_matrix(A)
    n = A.shape[0]
    if A.shape[0] != A.shape[1] or n == 0:
        return None
    for d in dims:
        m = int(round(n ** (1.0 / d)))
        if m < 3 or m ** d != n:
            continue
        shape = (m,) * d
        ci = np.unravel_index(A.row, shape)
        cj = np.unravel_index(A.col, shape)
        if all(np.all(np.abs(a.astype(np.int64) - b) <= 1) for a, b in zip(ci, cj)):
            return shape
    return None


def linear_interpolation(n: int) -> sp.csr_matrix:
    """1-D linear interpolation onto ``n`` vertices from the coarse vertices ``0, 2, 4, ...`` and ``n - 1``
    (for even ``n`` the last coarse interval is one fine spacing wide), shape ``(n, n_coarse)``.

    Examples
    --------
    >>> linear_interpolation(5).toarray().tolist()
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    >>> linear_interpolation(4).shape
    (4, 3)
    """
    coarse = np.arange(0, n, 2)
    if coarse[-1] != n - 1:
        coarse = np.append(coarse, n - 1)
    nc = coarse.size
    odd = np.setdiff1d(np.arange(n), coarse)  # fine vertices between two coarse ones
    rows = np.concatenate([coarse, odd, odd])
    cols = np.concatenate([np.arange(nc), (odd - 1) // 2, (odd + 1) // 2])
    vals = np.concatenate([np.ones(nc), np.full(2 * odd.size, 0.5)])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, nc))


def geometric_solver(M: sp.csr_matrix, shape: tuple[int, ...], max_coarse: int = 500,
                     smoother: Any = ("gauss_seidel", {"sweep": "symmetric"})) -> Any:
    """A PyAMG ``MultilevelSolver`` on the vertex grid ``shape`` of ``M``: tensor products of
    :func:`linear_interpolation`, restriction ``P^T`` (full weighting up to scale; ``P^T``, not ``P^H``:
    complex symmetric stays complex symmetric) and Galerkin coarse operators ``P^T M P``, coarsened while a
    level has more than ``max_coarse`` unknowns; the coarsest level is solved by sparse LU. ``smoother`` is a PyAMG smoother
    specification, used before and after the coarse correction (PyAMG's default: symmetric Gauss-Seidel).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(33, 33))
    >>> ml = geometric_solver((sp.kron(T, sp.eye(33)) + sp.kron(sp.eye(33), T)).tocsr(), (33, 33), max_coarse=100)
    >>> [lv.A.shape[0] for lv in ml.levels]
    [1089, 289, 81]
    """
    from pyamg.multilevel import MultilevelSolver
    from pyamg.relaxation.smoothing import change_smoothers

    levels = []
    A = sp.csr_matrix(M)
    while int(np.prod(shape)) > max_coarse and min(shape) > 3:
        P = reduce(lambda a, b: sp.kron(a, b, format="csr"), [linear_interpolation(s) for s in shape])
        level = MultilevelSolver.Level()
        level.A, level.P, level.R = A, P, P.T.tocsr()
        levels.append(level)
        A = (level.R @ A @ P).tocsr()
        shape = tuple((s + 2) // 2 for s in shape)  # 0, 2, ... and n - 1
    level = MultilevelSolver.Level()
    level.A = A
    levels.append(level)
    log.debug("geometric multigrid: %s unknowns per level", [lv.A.shape[0] for lv in levels])
    ml = MultilevelSolver(levels, coarse_solver="splu")
    change_smoothers(ml, smoother, smoother)
    return ml


def cycle(ml: Any, b: np.ndarray, kind: str = "V") -> np.ndarray:
    """One ``kind`` cycle ("V", "W" or "F") of the PyAMG hierarchy ``ml`` on ``A x = b`` from ``x = 0``.

    The same cycle as ``ml.aspreconditioner(cycle=kind)``, without the residual norms that PyAMG's
    ``solve`` computes around it (four per application, a cost of the order of the cycle's finest level).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(33, 33))
    >>> A = (sp.kron(T, sp.eye(33)) + sp.kron(sp.eye(33), T)).tocsr()
    >>> ml = geometric_solver(A, (33, 33), max_coarse=100)
    >>> b = np.ones(A.shape[0])
    >>> bool(np.allclose(cycle(ml, b, "F"), ml.aspreconditioner(cycle="F") @ b))
    True
    """
    if kind not in ("V", "W", "F"):
        raise ValueError(f"cycle must be 'V', 'W' or 'F', got {kind!r}")
    x = np.zeros_like(b)
    _cycle(ml, 0, x, b, kind)
    return x


def _cycle(ml: Any, lvl: int, x: np.ndarray, b: np.ndarray, kind: str) -> None:
    """PyAMG's ``MultilevelSolver.__solve`` (V, W and F branches), in place on ``x``."""
    level = ml.levels[lvl]
    A = level.A
    level.presmoother(A, x, b)
    coarse_b = level.R @ (b - A @ x)
    coarse_x = np.zeros_like(coarse_b)
    if lvl == len(ml.levels) - 2:
        coarse_x[:] = ml.coarse_solver(ml.levels[-1].A, coarse_b)
    elif kind == "V":
        _cycle(ml, lvl + 1, coarse_x, coarse_b, "V")
    else:  # W: twice W; F: F then V
        _cycle(ml, lvl + 1, coarse_x, coarse_b, kind)
        _cycle(ml, lvl + 1, coarse_x, coarse_b, "W" if kind == "W" else "V")
    x += level.P @ coarse_x
    level.postsmoother(A, x, b)
