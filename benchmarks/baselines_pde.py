"""Baselines for the GP benchmark: second-order finite differences (solved with our ``solve()``) and
Chebyshev spectral collocation (numpy), on the high-frequency cases of ``pde_examples.highfreq``."""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.interpolate import RegularGridInterpolator

import solvers
from learned.gp.collocation import axis_operators

__all__ = ["finite_difference", "chebyshev", "cheb_matrix"]


def _newton(residual, jacobian, U, solve_linear, tol=1e-12, iters=30):
    for _ in range(iters):
        dU = solve_linear(jacobian(U), -residual(U))
        U = U + dU
        if np.linalg.norm(dU) <= tol * max(np.linalg.norm(U), 1.0):
            break
    return U


def finite_difference(case, n: int):
    """Second-order central differences on ``n`` points per axis; returns a callable on points (m, dim)."""
    axes = [np.linspace(a, b, n) for a, b in case.domain]
    mats = []
    for x in axes:
        h = x[1] - x[0]
        d1 = sp.diags([-1.0, 1.0], [-1, 1], shape=(n, n)) / (2 * h)
        d2 = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(n, n)) / h**2
        mats.append({1: d1.tocsr(), 2: d2.tocsr()})
    ops = axis_operators(case.pde, mats)
    eye = [sp.identity(n, format="csr") for _ in axes]
    if case.dim == 1:
        L = ops[0]
    else:
        L = sp.kron(ops[0], eye[1]) + sp.kron(eye[0], ops[1])
    mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    bnd = np.zeros([n] * case.dim, dtype=bool)
    for d in range(case.dim):
        idx = [slice(None)] * case.dim
        idx[d] = [0, -1]
        bnd[tuple(idx)] = True
    bnd = bnd.ravel()
    keep = sp.diags((~bnd).astype(float))
    M = (keep @ L + sp.diags(bnd.astype(float))).tocsr()
    F, G = case.source(mesh), case.exact(mesh)
    rhs = np.where(bnd, G, F)

    def lin(A, r):
        return solvers.solve(A, r, method="direct").x

    U = lin(M, rhs)
    if not case.pde.linear:
        phi, dphi = case.pde.nonlinearity, case.pde.nonlinearity_derivative
        U = _newton(lambda V: np.where(bnd, V - G, L @ V + phi(V) - F),
                    lambda V: (M + sp.diags(np.where(bnd, 0.0, dphi(V)))).tocsr(), U, lin)
    grid = U.reshape([n] * case.dim)
    if case.dim == 1:
        return lambda p: np.interp(p[:, 0], axes[0], grid)
    interp = RegularGridInterpolator(axes, grid, method="cubic")
    return lambda p: interp(p)


def cheb_matrix(n: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev-Gauss-Lobatto points on [a, b] and the first-derivative matrix (Trefethen's formula)."""
    N = n - 1
    t = np.cos(np.pi * np.arange(n) / N)
    c = np.ones(n)
    c[0] = c[-1] = 2.0
    c *= (-1.0) ** np.arange(n)
    T = np.subtract.outer(t, t)
    D = np.outer(c, 1.0 / c) / (T + np.eye(n))
    D -= np.diag(D.sum(axis=1))
    x = a + (b - a) * (1 - t) / 2  # increasing
    return x, -D * 2.0 / (b - a)


def chebyshev(case, n: int):
    """Chebyshev collocation with ``n`` points per axis (dense, numpy); returns a callable on points."""
    axes, mats = [], []
    for a, b in case.domain:
        x, D = cheb_matrix(n, a, b)
        axes.append(x)
        mats.append({1: D, 2: D @ D})
    ops = axis_operators(case.pde, mats)
    mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    shape = [n] * case.dim
    F, G = case.source(mesh).reshape(shape), case.exact(mesh).reshape(shape)
    phi, dphi = case.pde.nonlinearity, case.pde.nonlinearity_derivative
    if case.dim == 1:
        A = ops[0].copy()
        A[[0, -1]] = 0.0
        A[0, 0] = A[-1, -1] = 1.0
        rhs = F.copy()
        rhs[[0, -1]] = G[[0, -1]]
        U = np.linalg.solve(A, rhs)
        if phi is not None:
            inner = np.ones(n, bool)
            inner[[0, -1]] = False
            U = _newton(lambda V: np.where(inner, ops[0] @ V + phi(V) - F, V - G),
                        lambda V: A + np.diag(np.where(inner, dphi(V), 0.0)), U, np.linalg.solve)
        coef = np.polynomial.chebyshev.chebfit(2 * (axes[0] - axes[0][0]) / (axes[0][-1] - axes[0][0]) - 1, U, n - 1)
        lo, hi = case.domain[0]
        return lambda p: np.polynomial.chebyshev.chebval(2 * (p[:, 0] - lo) / (hi - lo) - 1, coef)
    A1, A2 = ops
    i = slice(1, -1)
    Ub = G.copy()
    Ub[i, i] = 0.0
    rhs = F[i, i] - (A1 @ Ub + Ub @ A2.T)[i, i]
    U = Ub.copy()
    U[i, i] = sla.solve_sylvester(A1[i, i], A2[i, i].T, rhs)
    if phi is not None:
        m = n - 2
        for _ in range(30):
            R = (A1 @ U + U @ A2.T + phi(U) - F)[i, i]
            J = np.kron(A1[i, i], np.eye(m)) + np.kron(np.eye(m), A2[i, i]) + np.diag(dphi(U[i, i]).ravel())
            dU = np.linalg.solve(J, -R.ravel()).reshape(m, m)
            U[i, i] += dU
            if np.linalg.norm(dU) <= 1e-12 * max(np.linalg.norm(U), 1.0):
                break
    # tensor Chebyshev interpolation: coefficients per axis, then evaluate
    ts = [2 * (x - x[0]) / (x[-1] - x[0]) - 1 for x in axes]
    V0 = np.polynomial.chebyshev.chebvander(ts[0], n - 1)
    V1 = np.polynomial.chebyshev.chebvander(ts[1], n - 1)
    C = np.linalg.solve(V0, np.linalg.solve(V1, U.T).T)
    (lo0, hi0), (lo1, hi1) = case.domain

    def evaluate(p: np.ndarray) -> np.ndarray:
        e0 = np.polynomial.chebyshev.chebvander(2 * (p[:, 0] - lo0) / (hi0 - lo0) - 1, n - 1)
        e1 = np.polynomial.chebyshev.chebvander(2 * (p[:, 1] - lo1) / (hi1 - lo1) - 1, n - 1)
        return np.einsum("mi,ij,mj->m", e0, C, e1)

    return evaluate
