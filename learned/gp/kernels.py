"""Stationary 1-D kernels written in the signed difference ``z = x - x'``, with analytic derivatives.

Autograd through ``|z|`` gets the second derivative wrong at ``z = 0`` (it sees a kink that the
Matérn-5/2 kernel does not have), so ``k``, ``dk/dz`` and ``d2k/dz2`` are written out by hand.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = ["SpectralMixture", "KERNELS", "mixture_derivatives"]

#: kernel kind -> (spectral density of each component, how it is written)
KERNELS = {
    "student-t": "Student-t spectrum: sum_q w_q Matern52(z; l_q) cos(2 pi mu_q z)   (GP-HM-StM)",
    "gaussian": "Gaussian spectrum: sum_q w_q exp(-z^2 / 2 l_q^2) cos(2 pi mu_q z)   (GP-HM-GM)",
    "se": "squared exponential exp(-z^2 / 2 l^2): one component at frequency 0 (the plain-GP baseline)",
    "matern": "Matern-5/2: one component at frequency 0 (the plain-GP baseline)",
}


class SpectralMixture(nn.Module):
    """``k(z) = sum_q w_q s_q(z) cos(2 pi mu_q z)`` with ``s_q`` Matérn-5/2 or Gaussian.

    Weights and length-scales are stored as logs (a log-domain weight is the paper's Jeffreys prior);
    frequencies start on ``linspace(0, 1, Q) * max_frequency`` (cycles per unit length).

    Parameters
    ----------
    kind : {"student-t", "gaussian", "se", "matern"}
    components : int
        Q (ignored, and 1, for ``se`` and ``matern``).
    max_frequency : float
        Highest initial frequency in cycles per unit length (the grid's Nyquist frequency is a good choice).
    lengthscale : float
        Initial length-scale of every component.
    weights : array, optional
        Initial weights (normalized), e.g. from the periodogram of the source.

    Examples
    --------
    >>> import torch
    >>> k = SpectralMixture("student-t", components=3, max_frequency=10.0, lengthscale=0.5)
    >>> z = torch.linspace(-1, 1, 5, dtype=torch.float64)
    >>> k0, k1, k2 = k.derivatives(z)
    >>> bool(torch.allclose(k0, k0.flip(0))), bool(torch.allclose(k1, -k1.flip(0)))
    (True, True)
    """

    def __init__(self, kind: str = "student-t", components: int = 30, max_frequency: float = 1.0,
                 lengthscale: float = 0.25, weights: np.ndarray | None = None):
        super().__init__()
        if kind not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kind!r}")
        plain = kind in ("se", "matern")
        q = 1 if plain else int(components)
        if q < 1:
            raise ValueError("components must be >= 1")
        self.kind = kind
        w = np.full(q, 1.0 / q) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (q,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(f"weights must be {q} positive finite numbers")
        dt = torch.float64
        self.log_weight = nn.Parameter(torch.tensor(np.log(w / w.sum()), dtype=dt))
        self.log_lengthscale = nn.Parameter(torch.full((q,), math.log(lengthscale), dtype=dt))
        freq = torch.zeros(q, dtype=dt) if plain else torch.linspace(0.0, 1.0, q, dtype=dt) * max_frequency
        self.frequency = nn.Parameter(freq, requires_grad=not plain)

    @property
    def device(self) -> torch.device:
        """Where the kernel's parameters (and so everything built from them) live."""
        return self.log_weight.device

    @property
    def gaussian(self) -> bool:
        return self.kind in ("gaussian", "se")

    @property
    def components(self) -> int:
        """Q, the number of mixture components."""
        return self.log_weight.numel()

    def derivatives(self, z: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
        """``(k(z), k'(z), k''(z))`` (the first ``order + 1`` of them) for a tensor of differences."""
        return mixture_derivatives(self.log_weight.exp(), self.log_lengthscale.exp(), self.frequency, z, order,
                                   self.gaussian)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """The covariance matrix between two sets of 1-D points."""
        return self.derivatives(x1.reshape(-1, 1) - x2.reshape(1, -1), order=0)[0]


def mixture_derivatives(weight: torch.Tensor, lengthscale: torch.Tensor, frequency: torch.Tensor, z: torch.Tensor,
                        order: int = 2, gaussian: bool = False) -> tuple[torch.Tensor, ...]:
    """``(k(z), k'(z), k''(z))`` (the first ``order + 1``) of ``sum_q w_q s_q(z) cos(2 pi mu_q z)``.

    The one copy of the formulas, shared by :class:`SpectralMixture` and the GPyTorch kernels of
    :mod:`learned.gp.gpytorch_kernels`. ``s_q`` is Gaussian (``gaussian=True``) or Matérn-5/2 in ``z``, which
    is smooth at 0, so the hand-written forms hold there too.

    Examples
    --------
    >>> one = torch.ones(1, dtype=torch.float64)
    >>> k0, k1, k2 = mixture_derivatives(one, one, 0 * one, torch.zeros(1, dtype=torch.float64), gaussian=True)
    >>> float(k0[0]), float(k1[0]), float(k2[0])      # exp(-z^2 / 2) at 0
    (1.0, 0.0, -1.0)
    """
    w = weight[:, None]
    ell = lengthscale[:, None]
    om = 2.0 * math.pi * frequency[:, None]
    zz = z.reshape(1, -1)
    if gaussian:
        s0 = torch.exp(-0.5 * zz * zz / ell**2)
        s1 = -zz / ell**2 * s0
        s2 = (zz * zz / ell**4 - 1.0 / ell**2) * s0
    else:  # Matérn-5/2 in z: smooth at 0, so the hand-written forms hold there too
        a = math.sqrt(5.0) / ell
        r = zz.abs()
        e = torch.exp(-a * r)
        s0 = (1.0 + a * r + a * a * zz * zz / 3.0) * e
        s1 = -(a * a / 3.0) * zz * (1.0 + a * r) * e
        s2 = -(a * a / 3.0) * (1.0 + a * r - a * a * zz * zz) * e
    c, s = torch.cos(om * zz), torch.sin(om * zz)
    out = [(w * s0 * c).sum(0)]
    if order >= 1:
        out.append((w * (s1 * c - om * s0 * s)).sum(0))
    if order >= 2:
        out.append((w * (s2 * c - 2.0 * om * s1 * s - om * om * s0 * c)).sum(0))
    return tuple(o.reshape(z.shape) for o in out)
