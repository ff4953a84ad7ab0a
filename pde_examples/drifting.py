"""A time-dependent variable-coefficient diffusion whose conductivity drifts: the loop in which a tuner
decides which solver configuration to use and when to rebuild the preconditioner.

``u_t = div(k(x, t) grad u) + f(x, t)`` on the unit square, ``u = 0`` on the boundary, implicit Euler:
``(I + dt K(t_{m+1})) u_{m+1} = u_m + dt f(t_{m+1})``. The conductivity is log-normal at every step,
``k = exp(sigma (cos(phi_m) g0 + sin(phi_m) g1))`` with ``g0``, ``g1`` two independent unit Gaussian
fields, so it keeps its distribution while it turns, by ``phi_m = rate * m``, into another field. A
source bump circles the domain.

The drift rate is defined by its effect, not by a number of ours: :data:`DOUBLING_ANGLE` is the angle
at which CG preconditioned by the AMG hierarchy (PyAMG smoothed aggregation) of the first matrix needs
twice the iterations it needed on that first matrix, so that ``"slow"`` (``DOUBLING_ANGLE / 20`` per step)
doubles them by step 20 and ``"fast"`` (``DOUBLING_ANGLE / 5``) by step 5. :func:`drift_effect` measures
it on any size; :func:`calibrate_doubling_angle` finds the angle again.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

import solvers
from solvers import InvalidInputError

from .diffusion import lognormal_field
from .problem import Problem
from .sequences import bump
from .stencils import diffusion_stencil, make_operator

__all__ = ["DriftingDiffusion", "DOUBLING_ANGLE", "DRIFTS", "drift_rate", "drift_effect", "calibrate_doubling_angle"]

#: the angle (radians) at which a step-0 SA-AMG hierarchy needs 2x its step-0 CG iterations; measured by
#: :func:`calibrate_doubling_angle` (see its notes for the sizes)
DOUBLING_ANGLE = 0.22
#: named drift rates: the step by which the step-0 hierarchy needs twice its step-0 iterations
DRIFTS = {"slow": 20, "fast": 5}


def drift_rate(drift: str | float) -> float:
    """The angle per step of a named drift (``"slow"``, ``"fast"``) or of a number given as is.

    Examples
    --------
    >>> drift_rate("fast") == DOUBLING_ANGLE / 5, drift_rate(0.01)
    (True, 0.01)
    """
    if isinstance(drift, str):
        if drift not in DRIFTS:
            try:
                return drift_rate(float(drift))
            except ValueError:
                raise InvalidInputError(f"drift must be one of {', '.join(DRIFTS)} or an angle per step, "
                                        f"got {drift!r}") from None
        return DOUBLING_ANGLE / DRIFTS[drift]
    rate = float(drift)
    if not np.isfinite(rate) or rate < 0:
        raise InvalidInputError(f"a drift rate must be a finite angle per step >= 0, got {drift!r}")
    return rate


class DriftingDiffusion:
    """Implicit-Euler steps of diffusion with a drifting log-normal conductivity, ``n x n`` unknowns.

    The loop a user writes::

        sim = DriftingDiffusion(512, drift="slow")
        for step in range(300):
            p = sim.system()
            res = tuner.solve(p, p.b, x0=sim.u)
            sim.advance(res.x)

    Parameters
    ----------
    n : int
        Unknowns per side.
    drift : "slow", "fast" or float
        The angle per step (see the module notes).
    sigma, correlation : float
        Standard deviation and correlation length of ``log k``.
    dt : float
        Time step (1e-2: the diffusion term dominates the identity, ``dt / h^2 >= 40`` from ``n = 64``).
    seed : int

    Examples
    --------
    >>> sim = DriftingDiffusion(32, drift="fast", seed=0)
    >>> p = sim.system()
    >>> res = solvers.solve(p, p.b, method="cg", pc="amg", x0=sim.u)
    >>> sim.advance(res.x); res.converged, sim.step, p.A.shape
    (True, 1, (1024, 1024))
    """

    def __init__(self, n: int, drift: str | float = "slow", sigma: float = 1.0, correlation: float = 0.1,
                 dt: float = 1e-2, seed: int | None = 0):
        if int(n) != n or n < 4:
            raise InvalidInputError(f"n must be a whole number >= 4, got {n}")
        if not (sigma >= 0 and correlation > 0 and dt > 0):
            raise InvalidInputError("sigma must be >= 0, correlation and dt > 0")
        self.n, self.rate, self.sigma, self.dt = int(n), drift_rate(drift), float(sigma), float(dt)
        self.drift = drift
        self.shape = (self.n, self.n)
        h = 1.0 / (self.n + 1)
        self.spacing = (h, h)
        rng = np.random.default_rng(seed)
        self.g0 = np.log(lognormal_field(self.shape, 1.0, correlation, rng))
        self.g1 = np.log(lognormal_field(self.shape, 1.0, correlation, rng))
        g = h * np.arange(1, self.n + 1)
        X, Y = np.meshgrid(g, g, indexing="ij")
        self.points = np.stack([X.ravel(), Y.ravel()], axis=1)
        self.eye = sp.eye(self.n * self.n, format="csr")
        self.u = np.zeros(self.n * self.n)
        self.step = 0

    def angle(self, step: int | None = None) -> float:
        """``phi`` of the conductivity at ``step`` (default: the next system's)."""
        return self.rate * (self.step + 1 if step is None else step)

    def conductivity(self, step: int | None = None) -> np.ndarray:
        phi = self.angle(step)
        return np.exp(self.sigma * (np.cos(phi) * self.g0 + np.sin(phi) * self.g1))

    def matrix(self, step: int | None = None) -> sp.csr_matrix:
        """``I + dt K`` with the conductivity of ``step`` (default: the next system's)."""
        K = make_operator(diffusion_stencil(self.conductivity(step), self.shape, self.spacing), self.shape).to_csr()
        A = (self.eye + self.dt * K).tocsr()
        A.sort_indices()
        return A

    def system(self) -> Problem:
        """The system of the next step; ``meta`` holds the step, the angle and the drift rate."""
        t = (self.step + 1) * self.dt
        centre = (0.5 + 0.25 * np.cos(2 * np.pi * t), 0.5 + 0.25 * np.sin(2 * np.pi * t))
        b = self.u + self.dt * 100.0 * bump(self.points, centre, 0.15)
        return Problem(A=self.matrix(), b=b, shape=self.shape, spacing=self.spacing,
                       name=f"drifting-diffusion{self.n}x{self.n}",
                       meta={"step": self.step, "angle": self.angle(), "rate": self.rate, "x0": self.u.copy()})

    def advance(self, u: Any) -> None:
        u = np.asarray(u, dtype=np.float64)
        if u.shape != self.u.shape or not np.all(np.isfinite(u)):
            raise InvalidInputError("advance() needs a finite state of the grid's size")
        self.u = u
        self.step += 1


def drift_effect(n: int, drift: str | float, steps: int, seed: int = 0, rtol: float = 1e-8,
                 **pc_options: Any) -> list[int]:
    """CG iterations of the first ``steps`` systems of the loop (each from the previous state) with the
    AMG hierarchy of the first matrix kept throughout: what defines a drift rate (PyAMG's smoothed
    aggregation unless ``pc_options`` name another ``implementation``).

    Examples
    --------
    >>> its = drift_effect(32, "fast", 6)
    >>> len(its), its[5] >= 1.5 * its[0]
    (6, True)
    """
    sim = DriftingDiffusion(n, drift, seed=seed)
    pc_options.setdefault("implementation", "pyamg")  # the drift rates are defined with PyAMG's hierarchy
    s = solvers.make_solver("cg", pc="amg", rtol=rtol, pc_reuse="keep", **pc_options)
    its = []
    for _ in range(int(steps)):
        p = sim.system()
        res = s.setup(p.A).solve(p.b, x0=sim.u)
        its.append(res.iterations)
        sim.advance(res.x)
    return its


def calibrate_doubling_angle(n: int = 128, seed: int = 0, rtol: float = 1e-8, low: float = 0.0, high: float = 1.5,
                             tol: float = 0.01) -> float:
    """The smallest angle (to ``tol``) at which CG with the step-0 SA-AMG hierarchy needs twice the
    step-0 iterations, solving ``A(phi) x = 1`` from zero (bisection on the kept-hierarchy count).

    Notes
    -----
    Measured on the development machine (PyAMG's smoothed aggregation, rtol 1e-8, seed 0): 0.170 at
    n = 64, 0.182 at 128, 0.211 at 256; :data:`DOUBLING_ANGLE` = 0.22 is taken for the loops at 512^2 and
    above (the angle grows slowly with n). In the loop itself (each solve from the previous state) at
    n = 128 with angle 0.2, the kept hierarchy went 8 -> 15 iterations by step 5 (fast) and by step 20
    (slow). ``benchmarks.compare tuning-loops`` reports the effect measured in the loop at its sizes.
    """
    sim = DriftingDiffusion(n, 0.0, seed=seed)
    b = np.ones(n * n)
    s = solvers.make_solver("cg", pc="amg", rtol=rtol, pc_reuse="keep", implementation="pyamg")
    base = s.setup(sim.matrix(0)).solve(b).iterations

    def ratio(phi: float) -> float:
        sim.rate = phi
        return s.setup(sim.matrix(1)).solve(b).iterations / base

    while high - low > tol:
        mid = 0.5 * (low + high)
        low, high = (low, mid) if ratio(mid) >= 2.0 else (mid, high)
    return high
