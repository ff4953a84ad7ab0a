"""The posterior of the GP solution given the collocation equations: its standard deviation, and the
posterior mean when the source and boundary values are noisy.

The model is the one the solver's equations already assume (the paper's: grid values as latent
variables). With the per-axis jittered covariances ``K_d + tau_d I`` (:mod:`learned.gp.grid`),

- the grid values have the prior ``U ~ N(0, K_J)``, ``K_J = (K_1 + tau_1 I) (x) (K_2 + tau_2 I) ...``;
  equivalently ``U = u(X) + eta`` for ``u ~ GP(0, k)`` and a small independent ``eta``;
- the solution is ``u(x) = E[u(x) | U] = k(x, X) K_J^-1 U`` (what :class:`GPSolution` evaluates), and
  given ``U`` the GP leaves ``k(x, x) - k(x, X) K_J^-1 k(X, x)`` of variance;
- the collocation equations are linear observations of ``U``: ``y = A U + e``, ``e ~ N(0, diag(s^2))``.
  ``A``'s interior rows are the operator on the derivative maps, ``sum_alpha c_alpha (x)_d D_d^alpha``
  with ``D^k = K^(k) K_J^-1`` (the rows :func:`learned.gp.collocation.solve_collocation` solves), its
  boundary rows the GP mean's value map ``S = K K_J^-1`` in 1-D and the identity in 2-D (as the
  collocation solve has them); ``y`` holds ``f`` inside and ``g`` on the boundary, ``s`` is the noise
  level of each (0: exact).
- For a semilinear PDE (Allen-Cahn) the equations are linearized at the solution: ``A``'s interior rows
  get Newton's Jacobian term ``diag(phi'(U))``.

Conditioning is then exact Gaussian algebra. In whitened coordinates ``U = C v`` (``C = (x)_d C_d``,
``C_d`` the Cholesky factor of axis d's jittered ``K``), ``v ~ N(0, I)`` and, when every row is noisy,
``v | y ~ N(R^-1 Q^T [y~; 0], R^-1 R^-T)`` where ``Q R = [diag(1/s) A C; I]`` (a QR factorization, which
stays accurate where ``A K_J A^T`` is far too ill-conditioned to factor). Exact rows among noisy ones
(``noise=(sigma, 0)``) are eliminated first: ``v = v_p + Z w`` on their null space (orthonormal ``Z``),
and the noisy rows condition ``w``; then ``Cov(v | y) = Z R^-1 R^-T Z^T``. So, for ``w_x = C^-1 k(X, x)``
(per axis: ``C_d^-1 k_d(X_d, x_d)``, Kronecker in ``x``'s coordinates)::

    var u(x) | y = k(x, x) - |w_x|^2 + |R^-T Z^T w_x|^2.

With no noise ``A`` is square and invertible, the equations fix ``U`` and the last term vanishes: the
standard deviation is then the GP's between grid points (zero at every grid point up to the jitter's
``sqrt(tau)``, and growing between them); it does not depend on ``f``, and it does not see the discretization error of
the equations (which the benchmark's coverage figures show). With noise, ``|R^-T w|^2`` carries the
noise through the equations, and the posterior mean ``C R^-1 Q^T [y~; 0]`` (a smoother, not an
interpolant of the equations) is the solution's grid values. A semilinear noisy problem takes that
mean by Gauss-Newton on ``|diag(1/s) r(C v)|^2 + |v|^2`` (the MAP; ``r`` the nonlinear equations'
residual) and its covariance from the equations linearized there.

Noise needs dense ``N x N`` matrices (``N`` grid points in all); it is refused above
:data:`MAX_DENSE` points. Without noise, ``std`` is per-axis and works on any grid.

Examples
--------
>>> import numpy as np
>>> from learned.gp import solve_pde
>>> sol = solve_pde("poisson1d-lowfreq", n=10, progress=False)
>>> x = sol.axes[0]
>>> s_grid = sol.std(x[:, None])
>>> s_far = sol.std(np.array([[x[0] - 3.0], [x[-1] + 3.0]]))   # three domain lengths away: the prior's
>>> bool(s_grid.max() < s_far.min())   # at the grid: the jitter and rounding only
True

(On this smooth case the learned length scale is long and ``K`` is ill-conditioned: at and between the
grid points alike the standard deviation sits at a rounding floor, and the kernel's learned scale itself
moves with the CPU's kernels; measured here, the grid's over the far one's was 0.003 to 0.08 across
OpenBLAS core types and ATen's generic kernels. Hence the plain comparison with the prior, not with
midpoints; ``tests/learned`` checks the posterior's numbers against exact Gaussian algebra.)
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import scipy.linalg as sla
import torch

from solvers import InvalidInputError

from .collocation import axis_operators
from .grid import axis_maps, operator_orders

__all__ = ["Equations", "Posterior", "check_noise", "noisy", "posterior", "posterior_std", "noisy_collocation",
           "expected_prior_term", "equation_matrix", "MAX_DENSE"]

#: most grid points (all axes together) for the dense posterior that noise needs
MAX_DENSE = 2500


def check_noise(noise: Any) -> tuple[float, float]:
    """``(sigma_source, sigma_boundary)`` from ``sigma`` or a pair; finite and >= 0, else an error.

    Examples
    --------
    >>> check_noise(0.1), check_noise((1.0, 0.0))
    ((0.1, 0.1), (1.0, 0.0))
    >>> check_noise(-1.0)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: noise must be a finite number >= 0 or a pair of them (source, boundary), got -1.0
    """
    pair = tuple(noise) if isinstance(noise, (tuple, list)) else (noise, noise)
    bad = len(pair) != 2 or any(isinstance(s, bool) or not isinstance(s, numbers.Real) or not math.isfinite(s)
                                or s < 0 for s in pair)
    if bad:
        raise InvalidInputError(f"noise must be a finite number >= 0 or a pair of them (source, boundary), got {noise!r}")
    return float(pair[0]), float(pair[1])


def noisy(fn: Callable[[np.ndarray], np.ndarray], sigma: float, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """``fn`` plus Gaussian noise of standard deviation ``sigma`` (absolute, in ``fn``'s units).

    The noise at a point depends on the seed and the point only, so one grid gets the same samples on
    every call (and two solvers on the same grid see the same samples).

    Examples
    --------
    >>> f = noisy(lambda p: np.zeros(len(p)), 0.5, seed=1)
    >>> p = np.linspace(0, 1, 4)[:, None]
    >>> bool(np.array_equal(f(p), f(p))), bool(np.all(f(p) != 0))
    (True, True)
    """
    check_noise(sigma)

    def sample(points: np.ndarray) -> np.ndarray:
        pts = np.ascontiguousarray(np.asarray(points, dtype=np.float64).reshape(len(points), -1))
        clean = np.asarray(fn(pts), dtype=np.float64)
        out = np.empty(len(pts))
        for i, row in enumerate(pts):  # one generator per point, keyed by the point's bits
            key = [int(seed)] + [int(b) for b in row.view(np.uint64)]
            out[i] = np.random.default_rng(key).standard_normal()
        return clean + sigma * out

    return sample


@dataclass(frozen=True)
class Equations:
    """What the solution was conditioned on: the PDE, the boundary mask and the two noise levels."""

    pde: Any
    boundary: np.ndarray
    noise: tuple[float, float] = (0.0, 0.0)

    @property
    def noiseless(self) -> bool:
        return self.noise == (0.0, 0.0)


def _maps(axes, kernels, orders):
    """The per-axis Cholesky factors of ``K`` and the derivative maps, as NumPy arrays."""
    Ks, maps = axis_maps(axes, kernels, orders)
    return ([torch.linalg.cholesky(K).cpu().numpy() for K in Ks],
            [{o: v.cpu().numpy() for o, v in m.items()} for m in maps])


def equation_matrix(pde: Any, maps: list[dict[int, np.ndarray]], boundary: np.ndarray,
                    U: np.ndarray | None = None) -> np.ndarray:
    """The dense ``N x N`` matrix ``A`` of the collocation equations (linearized at ``U`` if semilinear).

    Rows and columns in C order of the grid (``meshgrid(..., indexing="ij")``); interior rows the
    operator on the derivative maps, boundary rows ``S`` (1-D) or the identity (2-D).
    """
    ops = axis_operators(pde, maps)
    if len(ops) == 1:
        A = np.array(ops[0], dtype=np.float64)
        bnd = boundary.ravel()
        A[bnd] = maps[0][0][bnd]
    elif len(ops) == 2:
        n1, n2 = ops[0].shape[0], ops[1].shape[0]
        A = np.kron(ops[0], np.eye(n2)) + np.kron(np.eye(n1), ops[1])
        bnd = boundary.ravel()
        A[bnd] = 0.0
        A[bnd, bnd] = 1.0
    else:
        raise InvalidInputError("the GP posterior handles 1-D and 2-D problems")
    if pde.nonlinearity is not None:
        if U is None:
            raise InvalidInputError("a semilinear PDE's equations are linearized at a solution: give U")
        inner = ~bnd
        A[inner, inner] += pde.nonlinearity_derivative(np.asarray(U).ravel()[inner])
    return A


def _kron(mats: list[np.ndarray]) -> np.ndarray:
    out = mats[0]
    for m in mats[1:]:
        out = np.kron(out, m)
    return out


@dataclass
class Posterior:
    """The factors of ``v | y`` (whitened grid values): ``chols`` per axis; with noise ``Cov(v | y) =
    Z R^-1 R^-T Z^T``, ``Z`` an orthonormal basis of the exact rows' null space (None: no exact rows)."""

    chols: list[np.ndarray]
    R: np.ndarray | None = None
    Z: np.ndarray | None = None


def _dense_check(axes: list[np.ndarray]) -> int:
    N = int(np.prod([len(x) for x in axes]))
    if N > MAX_DENSE:
        raise InvalidInputError(f"noisy data needs the dense posterior ({N} grid points); at most {MAX_DENSE} "
                                "points in all are supported")
    return N


def _condition(B: np.ndarray, s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``v | y`` for ``v ~ N(0, I)``, ``y = B v + e``, ``e_i ~ N(0, s_i^2)``; rows with ``s_i = 0`` exact.

    The exact rows ``B_0 v = y_0`` restrict ``v`` to ``v_p + Z w`` (``Z``: null space of ``B_0``, from a
    QR factorization of ``B_0^T``); the noisy rows then condition ``w ~ N(0, I)`` through the QR
    factorization ``Q R = [diag(1/s) B_1 Z; I]``. Returns the mean of ``v``, ``Z`` and ``R``.
    """
    exact = s == 0
    N = B.shape[1]
    v_p = np.zeros(N)
    Z = None
    if exact.any():
        k = int(exact.sum())
        Qc, Rc = np.linalg.qr(B[exact].T, mode="complete")
        Z = Qc[:, k:]
        v_p = Qc[:, :k] @ sla.solve_triangular(Rc[:k].T, y[exact], lower=True)
    noisy_rows = ~exact
    Bt = B[noisy_rows] / s[noisy_rows, None]
    yt = y[noisy_rows] / s[noisy_rows]
    BZ = Bt if Z is None else Bt @ Z
    Q, R = np.linalg.qr(np.vstack([BZ, np.eye(BZ.shape[1])]))
    w = sla.solve_triangular(R, Q[:BZ.shape[0]].T @ (yt - Bt @ v_p))
    return v_p + (w if Z is None else Z @ w), Z, R


def _sigmas(eq: Equations) -> np.ndarray:
    return np.where(eq.boundary.ravel(), eq.noise[1], eq.noise[0])


def noisy_collocation(pde: Any, axes: list[np.ndarray], kernels: list[Any], F: np.ndarray, G: np.ndarray,
                      boundary: np.ndarray, noise: tuple[float, float], U0: np.ndarray | None = None,
                      tol: float = 1e-12, max_newton: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mean of the grid values given noisy equations, and a factor ``M`` of its covariance.

    Returns ``(U, M)`` with ``Cov(U | y) = M M^T`` (``M`` has ``N`` rows, grid points in C order). For a
    semilinear PDE ``U`` is the MAP by Gauss-Newton (from ``U0``, or from the linear part's solution),
    each step the linear conditioning on the equations linearized at the iterate.
    """
    eq = Equations(pde, boundary, check_noise(noise))
    _dense_check(axes)
    chols, maps = _maps(axes, kernels, operator_orders(pde))
    C = _kron(chols)
    y = np.where(boundary, G, F).ravel()
    s = _sigmas(eq)
    linear_part = type(pde)(pde.terms, name=pde.name)
    A = equation_matrix(linear_part, maps, boundary)
    v, Z, R = _condition(A @ C, s, y)
    if pde.nonlinearity is not None:
        if U0 is not None:
            v = sla.solve_triangular(C, np.asarray(U0, dtype=np.float64).ravel(), lower=True)
        inner = ~boundary.ravel()
        for _ in range(max_newton):
            U = C @ v
            r = A @ U - y
            r[inner] += pde.nonlinearity(U[inner])
            B = equation_matrix(pde, maps, boundary, U) @ C
            v_new, Z, R = _condition(B, s, B @ v - r)  # Gauss-Newton: condition on the linearized equations
            step = np.linalg.norm(v_new - v)
            v = v_new
            if step <= tol * max(np.linalg.norm(v), 1.0):
                break
        _, Z, R = _condition(equation_matrix(pde, maps, boundary, C @ v) @ C, s, y)
    Rinv = sla.solve_triangular(R, np.eye(R.shape[0]))
    M = C @ (Rinv if Z is None else Z @ Rinv)
    return (C @ v).reshape(F.shape), M


def expected_prior_term(Ks: list[torch.Tensor], U: torch.Tensor, M: np.ndarray) -> torch.Tensor:
    """``E[-log N(U' | 0, K_J)]`` over ``U' ~ N(U, M M^T)``, up to a constant: the noisy kernel fit's loss.

    The alternating fit minimizes ``-log N(U | 0, K_J)`` at the collocation values; with noise it
    minimizes its expectation over the posterior ``U | y`` (an EM step): ``log det K_J / 2`` plus
    ``|L^-1 [U, M]|_F^2 / 2`` (``L`` the Cholesky factor of ``K_J``, applied axis by axis), which is the
    noiseless loss plus ``tr(K_J^-1 M M^T) / 2``. One triangular solve with ``N + 1`` right-hand sides.
    """
    chols = [torch.linalg.cholesky(K) for K in Ks]
    shape = [c.shape[0] for c in chols]
    V = torch.cat([U.reshape(*shape, 1), torch.as_tensor(M, device=U.device).reshape(*shape, M.shape[1])], dim=-1)
    for axis, c in enumerate(chols):
        moved = torch.movedim(V, axis, 0)
        V = torch.movedim(torch.linalg.solve_triangular(c, moved.reshape(c.shape[0], -1), upper=False)
                          .reshape(moved.shape), 0, axis)
    logdet = sum((U.numel() / c.shape[0]) * 2.0 * torch.log(torch.diagonal(c)).sum() for c in chols)
    return 0.5 * logdet + 0.5 * (V * V).sum()


def posterior(axes: list[np.ndarray], kernels: list[Any], values: np.ndarray, eq: Equations) -> Posterior:
    """The factors of the posterior of the grid values given ``eq`` (``values``: the solution's, used to
    linearize a semilinear PDE)."""
    chols, maps = _maps(axes, kernels, operator_orders(eq.pde))
    if eq.noiseless:
        return Posterior(chols, None)
    _dense_check(axes)
    C = _kron(chols)
    B = equation_matrix(eq.pde, maps, eq.boundary, values) @ C
    _, Z, R = _condition(B, _sigmas(eq), np.zeros(B.shape[0]))  # the covariance does not depend on y
    return Posterior(chols, R, Z)


def posterior_std(axes: list[np.ndarray], kernels: list[Any], post: Posterior, points: np.ndarray) -> np.ndarray:
    """The posterior standard deviation of ``u`` at ``points`` (shape ``(m, dim)``)."""
    with torch.no_grad():
        prior = np.ones(len(points))
        ws = []
        for axis, (x, k, c) in enumerate(zip(axes, kernels, post.chols)):
            dev = k.device
            z = torch.as_tensor(points[:, axis][None, :] - x[:, None], device=dev)
            kx = k.derivatives(z, 0)[0].cpu().numpy()  # k_d(X_d, x_d): n_d x m
            prior *= float(k.derivatives(torch.zeros(1, dtype=torch.float64, device=dev), 0)[0])
            ws.append(sla.solve_triangular(c, kx, lower=True))
    explained = np.ones(len(points))
    for w in ws:
        explained *= (w * w).sum(axis=0)
    var = prior - explained
    if post.R is not None:
        # w = (x)_d w_d per point (a Khatri-Rao product), then |R^-T Z^T w|^2
        W = ws[0]
        for w in ws[1:]:
            W = (W[:, None, :] * w[None, :, :]).reshape(-1, W.shape[1])
        T = sla.solve_triangular(post.R, W if post.Z is None else post.Z.T @ W, trans="T")
        var = var + (T * T).sum(axis=0)
    return np.sqrt(np.maximum(var, 0.0))
