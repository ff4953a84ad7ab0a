"""The closed-form step: grid values that satisfy the PDE at the interior points and the boundary values,
for fixed kernel hyper-parameters (the limit of the paper's loss with its fit weights taken large).

1-D: one dense system solved with ``solvers.solve(method="direct")``; semilinear PDEs by Newton's
method, each step through ``solvers.solve``. 2-D: the operator is ``A_1 U + U A_2^T`` on the interior,
a Sylvester equation (Bartels-Stewart, scipy); semilinear 2-D PDEs by Newton with GMRES
(``solvers.solve``) preconditioned by that Sylvester solve.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sla
from scipy.sparse.linalg import LinearOperator

import solvers
from solvers import InvalidInputError

from .grid import apply_axis

__all__ = ["solve_collocation", "apply_operator", "axis_operators"]


def apply_operator(pde: Any, maps: list[dict[int, Any]], U: Any) -> Any:
    """``sum_alpha c_alpha D^alpha U (+ phi(U))`` on the whole grid (numpy arrays or torch tensors)."""
    out = 0.0 * U
    for alpha, c in pde.terms.items():
        V = U
        for axis, order in enumerate(alpha):
            if order:
                V = apply_axis(maps[axis][order], V, axis)
        out = out + c * V
    if pde.nonlinearity is not None:
        out = out + pde.nonlinearity(U)
    return out


def axis_operators(pde: Any, maps: list[dict[int, Any]]) -> list[Any]:
    """Per-axis matrices ``A_d`` with ``L U = sum_d A_d along axis d`` (terms that act on one axis only).

    ``maps[d][k]`` is axis ``d``'s k-th derivative matrix (dense or scipy.sparse: the GP's maps, or finite
    differences in the benchmark's baselines).
    """
    ops = [0 * next(iter(m.values())) for m in maps]
    for alpha, c in pde.terms.items():
        active = [d for d, o in enumerate(alpha) if o]
        if len(active) != 1:
            raise InvalidInputError(f"term {alpha}: the GP solver handles derivatives along one axis per term "
                                    "(no mixed or zero-order linear terms)")
        d = active[0]
        ops[d] = ops[d] + c * maps[d][alpha[d]]
    return ops


def solve_collocation(pde: Any, maps: list[dict[int, np.ndarray]], F: np.ndarray, G: np.ndarray,
                      boundary: np.ndarray, U0: np.ndarray | None = None, newton_tol: float = 1e-12,
                      max_newton: int = 30) -> np.ndarray:
    """Grid values ``U`` with ``L U + phi(U) = F`` inside and the GP mean equal to ``G`` on ``boundary``.

    In 1-D the boundary rows are those of ``maps[0][0]`` (the jittered GP mean's value map ``S``, see
    :meth:`learned.gp.grid.AxisAlgebra.derivative_maps`); in 2-D the boundary values are ``U = G`` (``S``
    is within ``tau`` of the identity and the Sylvester form needs it there).
    """
    ops = axis_operators(pde, maps)
    if len(ops) == 1:
        S = maps[0].get(0)
        return _solve_1d(pde, ops[0], F, G, boundary, U0, newton_tol, max_newton,
                         np.eye(len(F)) if S is None else np.asarray(S))
    if len(ops) == 2:
        return _solve_2d(pde, ops, F, G, boundary, U0, newton_tol, max_newton)
    raise InvalidInputError("the GP solver handles 1-D and 2-D problems")


def _solve_1d(pde, A, F, G, boundary, U0, tol, max_newton, S):
    # boundary rows: the GP mean's value there (S U, S = K (K + jitter)^-1), not the raw grid value
    M = A.copy()
    M[boundary] = S[boundary]
    rhs = np.where(boundary, G, F)
    U = solvers.solve(M, rhs, method="direct").x if U0 is None or pde.linear else U0.copy()
    if pde.linear:
        return U
    for _ in range(max_newton):
        R = np.where(boundary, S @ U - G, A @ U + pde.nonlinearity(U) - F)
        J = M + np.diag(np.where(boundary, 0.0, pde.nonlinearity_derivative(U)))
        dU = solvers.solve(J, -R, method="direct").x
        U = U + dU
        if np.linalg.norm(dU) <= tol * max(np.linalg.norm(U), 1.0):
            break
    return U


class _SylvesterPC:
    """``r -> V`` with ``A1 V + V A2^T = r`` on the interior: the linear part's exact inverse."""

    symmetric = False
    needs_matrix = False
    name = "sylvester"

    def __init__(self, A1: np.ndarray, A2: np.ndarray, shape: tuple[int, int]):
        self.A1, self.A2T, self.shape = A1, A2.T.copy(), shape

    def setup(self, A: Any) -> "_SylvesterPC":
        return self

    def apply(self, r: np.ndarray) -> np.ndarray:
        return sla.solve_sylvester(self.A1, self.A2T, r.reshape(self.shape)).ravel()


def _solve_2d(pde, ops, F, G, boundary, U0, tol, max_newton):
    A1, A2 = ops
    i1 = slice(1, -1)
    A1i, A2i = A1[i1, i1], A2[i1, i1]
    Ub = np.where(boundary, G, 0.0)
    lifted = (A1 @ Ub + Ub @ A2.T)[i1, i1]
    V = sla.solve_sylvester(A1i, A2i.T, F[i1, i1] - lifted)
    U = Ub.copy()
    U[i1, i1] = V
    if pde.linear:
        return U
    if U0 is not None:
        U = np.where(boundary, G, U0)
    shape = V.shape
    pc = _SylvesterPC(A1i, A2i, shape)
    for _ in range(max_newton):
        R = (A1 @ U + U @ A2.T + pde.nonlinearity(U) - F)[i1, i1]
        d = pde.nonlinearity_derivative(U[i1, i1])

        def jac(v: np.ndarray, d: np.ndarray = d) -> np.ndarray:
            W = v.reshape(shape)
            return (A1i @ W + W @ A2i.T + d * W).ravel()

        J = LinearOperator((V.size, V.size), matvec=jac, dtype=np.float64)
        res = solvers.solve(J, -R.ravel(), method="gmres", pc=pc, rtol=1e-12, restart=50, maxiter=200)
        U[i1, i1] += res.x.reshape(shape)
        if np.linalg.norm(res.x) <= tol * max(np.linalg.norm(U), 1.0):
            break
    return U
