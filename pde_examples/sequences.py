"""Sequences of linear systems, as a simulation meets them: what the tuners learn across.

Each generator yields :class:`Problem` objects; ``problem.meta['context']`` is the scalar that
describes the instance (what contextual tuners may use) and ``problem.meta['x0']`` the warm start
where the simulation provides one.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from solvers import InvalidInputError

from .diffusion import lognormal_field
from .problem import Problem
from .stencils import diffusion_stencil, make_operator

__all__ = ["HeatSimulation", "shifted_laplacian_sequence", "heat_sequence", "variable_heat_sequence", "drifting_diffusion_sequence",
           "truncated_normal", "bump", "HEAT_COEFFICIENT", "laplacian_delsq"]


def laplacian_delsq(m: int) -> sp.csr_matrix:
    """MATLAB's ``delsq(numgrid('S', m + 2))``: the 5-point Laplacian (4 on the diagonal, unscaled) on an
    ``m x m`` interior grid.

    Examples
    --------
    >>> laplacian_delsq(10).shape, float(laplacian_delsq(10).diagonal()[0])
    ((100, 100), 4.0)
    """
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    A = (sp.kron(sp.eye(m), T) + sp.kron(T, sp.eye(m))).tocsr()
    A.sort_indices()
    return A


def truncated_normal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A standard normal vector conditioned on ``||b|| <= sqrt(n)`` (rejection sampling)."""
    while True:
        b = rng.standard_normal(n)
        if np.linalg.norm(b) <= np.sqrt(n):
            return b


def shifted_laplacian_sequence(T: int = 5000, variant: str = "high", seed: int | None = 0,
                               m: int = 10) -> Iterator[Problem]:
    """The paper's SOR experiment: ``A_t = L + c_t I`` on an ``m x m`` grid, ``b_t`` truncated normal.

    ``c_t = -0.15 + 0.6 Beta(0.5, 1.5)`` for ``variant="high"``, ``Beta(2, 6)`` for ``"low"``; the
    context is ``c_t`` (range ``(-0.15, 0.65)``, as in the authors' code).

    Examples
    --------
    >>> seq = list(shifted_laplacian_sequence(3, seed=1))
    >>> len(seq), seq[0].A.shape, -0.15 <= seq[0].meta["context"] <= 0.45
    (3, (100, 100), True)
    """
    if variant not in ("high", "low"):
        raise InvalidInputError(f"variant must be 'high' or 'low', got {variant!r}")
    rng = np.random.default_rng(seed)
    L = laplacian_delsq(m)
    eye = sp.eye(m * m, format="csr")
    a, b_ = (0.5, 1.5) if variant == "high" else (2.0, 6.0)
    for t in range(int(T)):
        c = -0.15 + 0.6 * rng.beta(a, b_)
        A = (L + c * eye).tocsr()
        A.sort_indices()
        b = truncated_normal(m * m, rng)
        yield Problem(A=A, b=b, shape=(m, m), spacing=(1.0, 1.0), name=f"shifted-laplacian-{variant}",
                      meta={"context": c, "t": t, "context_range": (-0.15, 0.65)})


def HEAT_COEFFICIENT(t: float | np.ndarray) -> float | np.ndarray:
    """The paper's time-varying diffusion coefficient ``max(0.1 sin(2 pi t), -10 sin(2 pi t))``."""
    s = np.sin(2 * np.pi * np.asarray(t))
    return np.maximum(0.1 * s, -10.0 * s)


def bump(points: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray:
    """Smooth bump ``exp(1 - 1 / (1 - |x - c|^2 / r^2))`` inside the disc, 0 outside."""
    d2 = np.minimum(1.0, np.sum((points - np.asarray(centre)) ** 2, axis=-1) / radius ** 2)
    with np.errstate(divide="ignore"):
        return np.where(d2 < 1.0, np.exp(1.0 - 1.0 / (1.0 - d2)), 0.0)


class HeatSimulation:
    """Crank-Nicolson time stepping of ``u_t = -K(t) u + f(t)``: ``(I + dt/2 K) u+ = (I - dt/2 K) u + dt f``.

    The loop a user writes::

        sim = HeatSimulation.paper()
        for step in range(steps):
            problem = sim.system()
            res = solvers.solve(problem, problem.b, method="cg", pc="ssor", x0=sim.u)
            sim.advance(res.x)

    Parameters
    ----------
    stiffness : callable ``t -> sparse matrix K(t)``
    points : array (n, 2)
        Coordinates of the unknowns (for the source and the initial state).
    dt : float
    coefficient : callable ``t -> float``
        The scalar that describes ``K(t)`` (the context).
    """

    def __init__(self, stiffness: Callable[[float], sp.spmatrix], points: np.ndarray, dt: float,
                 coefficient: Callable[[float], float], name: str, shape: tuple[int, int],
                 spacing: tuple[float, float], context_range: tuple[float, float]):
        self.stiffness, self.points, self.dt, self.coefficient = stiffness, points, float(dt), coefficient
        self.name, self.shape, self.spacing, self.context_range = name, shape, spacing, context_range
        self.eye = sp.eye(points.shape[0], format="csr")
        self.u = bump(points, (0.5, 0.5), 0.25)
        self.t = 0.0

    @classmethod
    def paper(cls, nx: int = 25, dt: float = 1e-3, T: int = 5000) -> "HeatSimulation":
        """The setting of the paper's SSOR-PCG experiment, ``(nx-1)^2`` unknowns."""
        m = nx - 1
        h = 1.0 / nx
        K = laplacian_delsq(m) / h ** 2
        g = h * np.arange(1, m + 1)
        X, Y = np.meshgrid(g, g, indexing="ij")
        coeffs = HEAT_COEFFICIENT(np.linspace(0.0, T * dt, T))
        return cls(lambda t: HEAT_COEFFICIENT(t) * K, np.stack([X.ravel(), Y.ravel()], axis=1), dt,
                   HEAT_COEFFICIENT, f"heat{m}x{m}", (m, m), (h, h), (float(coeffs.min()), float(coeffs.max())))

    @classmethod
    def variable(cls, n: int = 128, dt: float = 1e-3, sigma: float = 1.0, seed: int | None = 0,
                 T: int = 500) -> "HeatSimulation":
        """A log-normal conductivity field scaled by :data:`HEAT_COEFFICIENT`, ``n x n`` unknowns."""
        h = 1.0 / (n + 1)
        k = lognormal_field((n, n), sigma=sigma, seed=seed)
        K = make_operator(diffusion_stencil(k, (n, n), (h, h)), (n, n)).to_csr()
        g = h * np.arange(1, n + 1)
        X, Y = np.meshgrid(g, g, indexing="ij")
        coeffs = HEAT_COEFFICIENT(np.linspace(0.0, T * dt, T))
        return cls(lambda t: HEAT_COEFFICIENT(t) * K, np.stack([X.ravel(), Y.ravel()], axis=1), dt,
                   HEAT_COEFFICIENT, f"variable-heat{n}x{n}", (n, n), (h, h),
                   (float(coeffs.min()), float(coeffs.max())))

    def system(self) -> Problem:
        """The system of the next step (coefficient and source at the half step); ``meta['x0']`` = u."""
        half = self.t + 0.5 * self.dt
        K = self.stiffness(half)
        A = (self.eye + 0.5 * self.dt * K).tocsr()
        A.sort_indices()
        centre = (0.5 + np.cos(16 * np.pi * half) / 4, 0.5 + np.sin(16 * np.pi * half) / 4)
        b = (self.eye - 0.5 * self.dt * K) @ self.u + self.dt * 32.0 * bump(self.points, centre, 0.125)
        return Problem(A=A, b=b, shape=self.shape, spacing=self.spacing, name=self.name,
                       meta={"context": float(self.coefficient(half)), "t": self.t, "x0": self.u.copy(),
                             "context_range": self.context_range})

    def advance(self, u: np.ndarray) -> None:
        if u.shape != self.u.shape or not np.all(np.isfinite(u)):
            raise InvalidInputError("advance() needs a finite state of the grid's size")
        self.u = np.asarray(u, dtype=np.float64)
        self.t += self.dt


def _exact_run(sim: HeatSimulation, T: int) -> Iterator[Problem]:
    """The instances of ``T`` steps, advanced with exact solves, so every tuner sees the same ones."""
    for _ in range(int(T)):
        p = sim.system()
        yield p
        sim.advance(spla.spsolve(p.A.tocsc(), p.b))


def heat_sequence(T: int = 5000, nx: int = 25, dt: float = 1e-3) -> Iterator[Problem]:
    """The paper's SSOR-PCG experiment: 2D heat equation on the unit square, ``(nx-1)^2`` unknowns,
    Crank-Nicolson with time step ``dt``, coefficient :data:`HEAT_COEFFICIENT`, a bump source moving on a
    circle, warm start ``x0`` from the previous step. Context: the coefficient at the half step.

    Examples
    --------
    >>> p = next(heat_sequence(1))
    >>> p.A.shape, p.meta["x0"].shape
    ((576, 576), (576,))
    """
    yield from _exact_run(HeatSimulation.paper(nx, dt, T), T)


def variable_heat_sequence(T: int = 500, n: int = 128, dt: float = 1e-3, sigma: float = 1.0,
                           seed: int | None = 0) -> Iterator[Problem]:
    """Heat equation with a log-normal conductivity field scaled by :data:`HEAT_COEFFICIENT` over time,
    on an ``n x n`` grid (128 or 256 in the benchmarks): harder instances than the paper's.

    Examples
    --------
    >>> p = next(variable_heat_sequence(1, n=16))
    >>> p.A.shape
    (256, 256)
    """
    yield from _exact_run(HeatSimulation.variable(n, dt, sigma, seed, T), T)


def drifting_diffusion_sequence(T: int = 200, n: int = 64, sigma: float = 1.5, period: int = 100,
                                seed: int | None = 0) -> Iterator[Problem]:
    """Variable-coefficient diffusion whose log-coefficient drifts between two random fields:
    ``log k_t = sigma (cos(theta_t) g1 + sin(theta_t) g2)``, ``theta_t = 2 pi t / period``; ``b = 1``.
    Context: ``theta_t`` modulo ``2 pi``.

    Examples
    --------
    >>> p = next(drifting_diffusion_sequence(1, n=8))
    >>> p.A.shape
    (64, 64)
    """
    rng = np.random.default_rng(seed)
    g1 = np.log(lognormal_field((n, n), 1.0, 0.1, rng))
    g2 = np.log(lognormal_field((n, n), 1.0, 0.1, rng))
    h = 1.0 / (n + 1)
    for t in range(int(T)):
        theta = 2 * np.pi * t / period
        k = np.exp(sigma * (np.cos(theta) * g1 + np.sin(theta) * g2))
        A = make_operator(diffusion_stencil(k, (n, n), (h, h)), (n, n)).to_csr()
        yield Problem(A=A, b=np.ones(n * n), shape=(n, n), spacing=(h, h), name=f"drifting-diffusion{n}",
                      meta={"context": float(theta % (2 * np.pi)), "t": t, "context_range": (0.0, 2 * np.pi)})
