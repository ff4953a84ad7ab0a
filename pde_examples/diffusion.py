"""Variable-coefficient and anisotropic diffusion ``-div(k grad u) = f``."""
from __future__ import annotations

import numpy as np

from solvers import InvalidInputError

from .poisson import check_shape
from .problem import Problem, problem_from_grid
from .stencils import diffusion_stencil, make_operator

__all__ = ["diffusion", "anisotropic", "lognormal_field"]


def lognormal_field(shape: tuple[int, ...], sigma: float = 1.0, correlation: float = 0.1,
                    seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """A smooth random log-normal field ``exp(sigma * g)``, ``g`` a unit-variance Gaussian field with a
    Gaussian covariance of length ``correlation`` (in units of the domain), made by filtering white
    noise in Fourier space.

    Examples
    --------
    >>> k = lognormal_field((64, 64), sigma=1.0, seed=1)
    >>> k.shape, bool(k.min() > 0)
    ((64, 64), True)
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(shape)
    freqs = np.meshgrid(*[np.fft.fftfreq(n) * n for n in shape], indexing="ij")
    k2 = sum(f ** 2 for f in freqs)
    filt = np.exp(-0.5 * (2 * np.pi * correlation) ** 2 * k2 / 4.0)
    g = np.real(np.fft.ifftn(np.fft.fftn(noise) * filt))
    g = (g - g.mean()) / (g.std() + 1e-300)
    return np.exp(sigma * g)


def diffusion(shape: int | tuple[int, ...] = (64, 64), sigma: float = 1.0, correlation: float = 0.1,
              seed: int | None = 0, coefficient: np.ndarray | None = None) -> Problem:
    """``-div(k grad u) = 1`` on the unit square/cube, ``u = 0`` on the boundary, ``k`` log-normal.

    Parameters
    ----------
    shape : int or tuple of int
    sigma : float
        Standard deviation of ``log k`` (contrast grows like ``exp(4 sigma)``).
    correlation : float
        Correlation length of ``log k``.
    seed : int
        Seed of the random field (the same seed gives the same problem).
    coefficient : array of ``shape``, optional
        Use this ``k`` instead of a random one.

    Examples
    --------
    >>> import solvers
    >>> p = diffusion((48, 48), sigma=1.5, seed=3)
    >>> solvers.solve(p, p.b, method="cg", pc="amg").converged
    True
    """
    shape = check_shape(shape)
    if sigma < 0 or correlation <= 0:
        raise InvalidInputError("sigma must be >= 0 and correlation > 0")
    k = lognormal_field(shape, sigma, correlation, seed) if coefficient is None else np.asarray(coefficient, float)
    if k.shape != shape or not np.all(np.isfinite(k)) or np.any(k <= 0):
        raise InvalidInputError(f"coefficient must be positive and finite with shape {shape}")
    spacing = tuple(1.0 / (n + 1) for n in shape)
    op = make_operator(diffusion_stencil(k, shape, spacing), shape)
    return problem_from_grid(op, np.ones(int(np.prod(shape))), spacing, f"diffusion{len(shape)}d",
                             meta={"coefficient": k, "sigma": sigma, "seed": seed})


def anisotropic(shape: int | tuple[int, ...] = (64, 64), epsilon: float = 1e-2) -> Problem:
    """``-(u_xx + epsilon u_yy [+ epsilon u_zz]) = 1``: strong coupling along the first axis only, the
    case where point smoothers and plain aggregation struggle.

    Examples
    --------
    >>> import solvers
    >>> p = anisotropic((32, 32), epsilon=1e-3)
    >>> solvers.solve(p, p.b, method="cg", pc="amg").converged
    True
    """
    shape = check_shape(shape)
    if not epsilon > 0:
        raise InvalidInputError(f"epsilon must be > 0, got {epsilon}")
    spacing = tuple(1.0 / (n + 1) for n in shape)
    scale = (1.0,) + (float(epsilon),) * (len(shape) - 1)
    op = make_operator(diffusion_stencil(1.0, shape, spacing, axis_scale=scale), shape)
    return problem_from_grid(op, np.ones(int(np.prod(shape))), spacing, f"anisotropic{len(shape)}d",
                             meta={"epsilon": epsilon})
