"""The GP solver's kernels as GPyTorch kernels, and any GPyTorch kernel as a per-axis kernel of the solver.

``StudentTSpectralMixtureKernel`` (GP-HM-StM) and ``GaussianSpectralMixtureKernel`` (GP-HM-GM) are
``gpytorch.kernels.Kernel`` subclasses on 1-D inputs with the closed-form derivatives of
:func:`learned.gp.kernels.mixture_derivatives` (the one copy of the formulas, shared with
:class:`~learned.gp.kernels.SpectralMixture`). :func:`axis_kernels` turns what a user passes as
``solve_pde(..., kernel=...)`` (one GPyTorch kernel, copied per axis, or a list with one per axis) into
:class:`AxisKernel` objects, the interface the grid algebra and :class:`~learned.gp.solution.GPSolution`
use: ``derivatives(z, order)`` gives ``k(z), k'(z), k''(z)`` of a stationary kernel in the difference
``z = x - x'``. Kernels with a ``derivatives`` method (ours, also inside a ``ScaleKernel``) use it; any
other kernel is differentiated by autograd through its ``forward`` on 1-D inputs.

At ``z = 0`` autograd cannot be trusted: GPyTorch's distance is ``sqrt(r^2)`` (clamped), whose derivative
there is 0 or NaN, so the second derivative of a Matérn-5/2 kernel comes out as 0 instead of ``-5/(3 l^2)``.
There ``k'(0) = 0`` (an even kernel) and ``k''(0)`` is the limit of ``k'(t)/t``, extrapolated from
``t = d, 2d, 3d`` (``d = 1e-4`` times the kernel's shortest length; error ``O(d^3)``). A kernel whose
``k'(t)/t`` has no finite limit (Matérn-1/2, whose sample paths are not differentiable) is refused.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Sequence

import gpytorch
import numpy as np
import torch
from gpytorch.constraints import Positive
from torch import nn

from solvers import InvalidInputError

from .kernels import SpectralMixture, mixture_derivatives

__all__ = ["StudentTSpectralMixtureKernel", "GaussianSpectralMixtureKernel", "AxisKernel", "axis_kernels",
           "autograd_derivatives"]

#: ``d`` at which ``k''(0)`` is extrapolated, relative to the kernel's shortest length
LIMIT_STEP = 1e-4
#: ``k'(t)/t`` at ``t = d`` and ``d / 10`` differing by more than this (relative): ``k''(0)`` is not finite
LIMIT_TOLERANCE = 1e-2
#: highest total derivative order ``i + j`` of ``d^i/dx1^i d^j/dx2^j k`` available
MAX_ORDER = 2


def _exp_positive() -> Positive:
    """Positivity as our kernels define it: the raw parameter is the log (a log-domain weight is Jeffreys')."""
    return Positive(transform=torch.exp, inv_transform=torch.log)


class _SpectralMixture1D(gpytorch.kernels.Kernel):
    """``k(z) = sum_q w_q s_q(z) cos(2 pi mu_q z)`` on 1-D inputs; ``s_q`` set by the subclass."""

    is_stationary = True
    gaussian = False

    def __init__(self, num_mixtures: int = 30, max_frequency: float = 1.0, lengthscale: float = 0.25,
                 weights: Any = None, zero_frequency: bool = False, **kwargs: Any):
        _refuse_multidimensional(kwargs.get("ard_num_dims"), kwargs.get("active_dims"), type(self).__name__)
        super().__init__(**kwargs)
        q = 1 if zero_frequency else int(num_mixtures)
        if q < 1:
            raise InvalidInputError(f"num_mixtures must be >= 1, got {num_mixtures}")
        w = np.full(q, 1.0 / q) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (q,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise InvalidInputError(f"weights must be {q} positive finite numbers")
        if not (lengthscale > 0 and math.isfinite(lengthscale)):
            raise InvalidInputError(f"lengthscale must be a finite number > 0, got {lengthscale!r}")
        dt = torch.float64
        freq = (torch.zeros(q, dtype=dt) if zero_frequency
                else torch.linspace(0.0, 1.0, q, dtype=dt) * float(max_frequency))
        self.register_parameter("raw_mixture_weights", nn.Parameter(torch.tensor(np.log(w / w.sum()), dtype=dt)))
        self.register_constraint("raw_mixture_weights", _exp_positive())
        self.register_parameter("raw_mixture_lengthscales",
                                nn.Parameter(torch.full((q,), math.log(lengthscale), dtype=dt)))
        self.register_constraint("raw_mixture_lengthscales", _exp_positive())
        # frequencies in cycles per unit length, unconstrained (a negative one is its mirror image)
        self.register_parameter("raw_mixture_frequencies", nn.Parameter(freq, requires_grad=not zero_frequency))

    @classmethod
    def from_spectral_mixture(cls, module: SpectralMixture) -> "_SpectralMixture1D":
        """The GPyTorch form of a :class:`~learned.gp.kernels.SpectralMixture` (same parameters, copied)."""
        if module.gaussian != cls.gaussian:
            raise InvalidInputError(f"a {module.kind!r} SpectralMixture is not a {cls.__name__}")
        out = cls(num_mixtures=module.components)
        with torch.no_grad():
            out.raw_mixture_weights.copy_(module.log_weight)
            out.raw_mixture_lengthscales.copy_(module.log_lengthscale)
            out.raw_mixture_frequencies.copy_(module.frequency)
        out.raw_mixture_frequencies.requires_grad_(module.frequency.requires_grad)
        return out

    @property
    def mixture_weights(self) -> torch.Tensor:
        return self.raw_mixture_weights_constraint.transform(self.raw_mixture_weights)

    @property
    def mixture_lengthscales(self) -> torch.Tensor:
        return self.raw_mixture_lengthscales_constraint.transform(self.raw_mixture_lengthscales)

    @property
    def mixture_frequencies(self) -> torch.Tensor:
        return self.raw_mixture_frequencies

    @property
    def components(self) -> int:
        return self.raw_mixture_weights.numel()

    def derivatives(self, z: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
        """``(k(z), k'(z), k''(z))`` (the first ``order + 1``) for a tensor of differences ``z = x1 - x2``."""
        return mixture_derivatives(self.mixture_weights, self.mixture_lengthscales, self.mixture_frequencies, z,
                                   order, self.gaussian)

    def derivative_matrix(self, x1: torch.Tensor, x2: torch.Tensor, i: int = 0, j: int = 0) -> torch.Tensor:
        """``d^i/dx1^i d^j/dx2^j k(x1, x2)`` between two sets of 1-D points (``i + j <= 2``)."""
        return _derivative_matrix(self.derivatives, x1, x2, i, j)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, last_dim_is_batch: bool = False,
                **params: Any) -> torch.Tensor:
        if last_dim_is_batch:
            x1, x2 = x1.transpose(-1, -2).unsqueeze(-1), x2.transpose(-1, -2).unsqueeze(-1)
        if x1.shape[-1] != 1 or x2.shape[-1] != 1:
            raise InvalidInputError(f"{type(self).__name__} is 1-D: inputs must have one column (one kernel per "
                                    f"axis), got {x1.shape[-1]} and {x2.shape[-1]}")
        z = (x1 - x2)[..., 0] if diag else x1 - x2.transpose(-1, -2)
        return self.derivatives(z, 0)[0]


class StudentTSpectralMixtureKernel(_SpectralMixture1D):
    """GP-HM-StM: ``sum_q w_q Matern52(z; l_q) cos(2 pi mu_q z)`` (a Student-t spectral density), 1-D.

    Parameters (GPyTorch parameters, each raw value the log of the positive one): ``mixture_weights``
    ``w_q``, ``mixture_lengthscales`` ``l_q``; ``mixture_frequencies`` ``mu_q`` (cycles per unit length,
    unconstrained, starting on ``linspace(0, 1, Q) * max_frequency``).

    Parameters
    ----------
    num_mixtures : int
        Q.
    max_frequency : float
        Highest initial frequency (cycles per unit length).
    lengthscale : float
        Initial length-scale of every component.
    weights : array, optional
        Initial weights (normalized); default equal.
    zero_frequency : bool
        One component at frequency 0, not trained: the plain Matérn-5/2 kernel.

    Examples
    --------
    >>> import torch
    >>> k = StudentTSpectralMixtureKernel(num_mixtures=3, max_frequency=5.0, lengthscale=0.5)
    >>> x = torch.linspace(0, 1, 4, dtype=torch.float64)[:, None]
    >>> K = k(x).to_dense()                               # a GPyTorch kernel: a covariance operator
    >>> bool(torch.allclose(K, k.derivative_matrix(x, x)))
    True
    >>> d11 = k.derivative_matrix(x, x, 1, 1)             # cov(u'(x1), u'(x2)): positive semi-definite
    >>> bool(torch.linalg.eigvalsh(d11).min() > -1e-10)
    True
    """


class GaussianSpectralMixtureKernel(_SpectralMixture1D):
    """GP-HM-GM: ``sum_q w_q exp(-z^2 / 2 l_q^2) cos(2 pi mu_q z)`` (a Gaussian spectral density), 1-D.

    Same parameters as :class:`StudentTSpectralMixtureKernel`; ``zero_frequency=True`` is the squared
    exponential (RBF) kernel ``exp(-z^2 / 2 l^2)``.

    Examples
    --------
    >>> import gpytorch, torch
    >>> k = GaussianSpectralMixtureKernel(zero_frequency=True, lengthscale=0.3)
    >>> rbf = gpytorch.kernels.RBFKernel().double()
    >>> rbf.lengthscale = 0.3
    >>> x = torch.linspace(0, 1, 5, dtype=torch.float64)[:, None]
    >>> bool(torch.allclose(k(x).to_dense(), rbf(x).to_dense()))
    True
    """

    gaussian = True


def _derivative_matrix(derivatives, x1: torch.Tensor, x2: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """``d^i/dx1^i d^j/dx2^j k(x1 - x2) = (-1)^j k^(i+j)(x1 - x2)`` for a stationary kernel."""
    if i < 0 or j < 0 or i + j > MAX_ORDER:
        raise InvalidInputError(f"derivative orders must be >= 0 with i + j <= {MAX_ORDER}, got ({i}, {j})")
    z = x1.reshape(-1, 1) - x2.reshape(1, -1)
    return (-1) ** j * derivatives(z, i + j)[i + j]


def _refuse_multidimensional(ard_num_dims: Any, active_dims: Any, name: str) -> None:
    if (ard_num_dims is not None and ard_num_dims > 1) or active_dims is not None:
        raise InvalidInputError(
            f"{name} is given ard_num_dims={ard_num_dims} / active_dims={active_dims}: the GP solver takes 1-D "
            "kernels, the product over axes being its own; pass one 1-D kernel per axis, "
            "kernel=[kernel_x, kernel_y], without ard_num_dims or active_dims")


def _char_length(kernel: gpytorch.kernels.Kernel) -> float:
    """The shortest length the kernel varies on: its length-scales, periods and spectral-mixture scales."""
    lengths = []
    for k in kernel.modules():
        if not isinstance(k, gpytorch.kernels.Kernel):
            continue
        if getattr(k, "has_lengthscale", False):
            lengths.append(k.lengthscale)
        if isinstance(k, gpytorch.kernels.PeriodicKernel):
            lengths.append(k.period_length)
        if isinstance(k, gpytorch.kernels.SpectralMixtureKernel):
            lengths += [1.0 / (2 * math.pi * k.mixture_means.abs()), 1.0 / (2 * math.pi * k.mixture_scales)]
    values = [float(v) for t in lengths for v in t.detach().reshape(-1).cpu()]
    values = [v for v in values if math.isfinite(v) and v > 0]
    return min(values) if values else 1.0


def _autograd_raw(kernel: gpytorch.kernels.Kernel, z: torch.Tensor, order: int) -> list[torch.Tensor]:
    """``k, k', k''`` at the non-zero differences ``z`` (1-D tensor) by autograd through ``kernel.forward``."""
    graph = torch.is_grad_enabled()  # keep the graph to the kernel's parameters (kernel fits, Adam)
    with torch.enable_grad():
        t = z.detach().clone().requires_grad_(order > 0)
        x1 = t[:, None]
        k = kernel.forward(x1, torch.zeros_like(x1), diag=True).reshape(-1)
        out = [k]
        for _ in range(order):
            (d,) = torch.autograd.grad(out[-1].sum(), t, create_graph=True)
            out.append(d)
    return out if graph else [o.detach() for o in out]


def _second_at_zero(kernel: gpytorch.kernels.Kernel, like: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``k''(0)`` as the limit of ``k'(t)/t`` (quadratic extrapolation from ``t = d, 2d, 3d``); ``d``."""
    d = LIMIT_STEP * _char_length(kernel)
    t = torch.tensor([d, 2 * d, 3 * d], dtype=like.dtype, device=like.device)
    g = _autograd_raw(kernel, t, 1)[1] / t
    return 3.0 * g[0] - 3.0 * g[1] + g[2], d


def autograd_derivatives(kernel: gpytorch.kernels.Kernel, z: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
    """``(k(z), k'(z), k''(z))`` of a stationary 1-D GPyTorch kernel by autograd (limits at ``z = 0``).

    Examples
    --------
    >>> import gpytorch, torch
    >>> rbf = gpytorch.kernels.RBFKernel().double()
    >>> k0, k1, k2 = autograd_derivatives(rbf, torch.tensor([0.0, 0.5], dtype=torch.float64))
    >>> ell = float(rbf.lengthscale)
    >>> abs(float(k2[0]) + 1 / ell**2) < 1e-9, abs(float(k1[1]) + 0.5 / ell**2 * float(k0[1])) < 1e-12
    (True, True)
    """
    if order < 0 or order > MAX_ORDER:
        raise InvalidInputError(f"order must be in 0..{MAX_ORDER}, got {order}")
    flat = z.reshape(-1)
    zero = flat == 0
    if not bool(zero.any()):
        return tuple(o.reshape(z.shape) for o in _autograd_raw(kernel, flat, order))
    # a stand-in away from 0 (no NaN from the distance's derivative enters the graph), overwritten below
    stand_in = torch.where(zero, torch.ones_like(flat), flat)
    raw = _autograd_raw(kernel, stand_in, order)
    origin = torch.zeros((1, 1), dtype=flat.dtype, device=flat.device)
    at_zero = [kernel.forward(origin, origin, diag=True).reshape(()), torch.zeros((), dtype=flat.dtype,
                                                                                 device=flat.device)]
    if order >= 2:
        at_zero.append(_second_at_zero(kernel, flat)[0])
    if not torch.is_grad_enabled():
        at_zero = [a.detach() for a in at_zero]
    return tuple(torch.where(zero, a, r).reshape(z.shape) for a, r in zip(at_zero, raw))


class AxisKernel(nn.Module):
    """One axis's kernel for the solver: a stationary 1-D GPyTorch kernel with ``derivatives(z, order)``.

    Closed forms where the kernel has them (:class:`StudentTSpectralMixtureKernel`,
    :class:`GaussianSpectralMixtureKernel`, also inside a ``ScaleKernel``), autograd otherwise
    (:func:`autograd_derivatives`). The wrapped kernel (``.kernel``) is a float64 copy; its parameters are
    the ones the solver's kernel fit trains.

    Examples
    --------
    >>> import gpytorch, torch
    >>> ak = AxisKernel(gpytorch.kernels.ScaleKernel(gpytorch.kernels.MaternKernel(nu=2.5)))
    >>> ak.closed_form, ak.check_smooth(2)
    (False, None)
    >>> x = torch.linspace(0, 1, 3, dtype=torch.float64)
    >>> bool(torch.allclose(ak.derivative_matrix(x, x), ak.kernel(x[:, None]).to_dense()))
    True
    """

    def __init__(self, kernel: gpytorch.kernels.Kernel):
        super().__init__()
        _check_kernel(kernel)
        self.kernel = copy.deepcopy(kernel).to(torch.float64)
        inner = self.kernel.base_kernel if isinstance(self.kernel, gpytorch.kernels.ScaleKernel) else self.kernel
        self.closed_form = hasattr(inner, "derivatives")

    @property
    def device(self) -> torch.device:
        """Where the kernel's parameters live (CPU for a kernel without parameters)."""
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    @property
    def components(self) -> int:
        """How many terms one kernel evaluation holds per pair of points (sizes evaluation chunks)."""
        inner = self.kernel.base_kernel if isinstance(self.kernel, gpytorch.kernels.ScaleKernel) else self.kernel
        return int(getattr(inner, "components", 1))

    def derivatives(self, z: torch.Tensor, order: int = 2) -> tuple[torch.Tensor, ...]:
        """``(k(z), k'(z), k''(z))`` (the first ``order + 1``) for a tensor of differences ``z = x1 - x2``."""
        if not self.closed_form:
            return autograd_derivatives(self.kernel, z, order)
        if isinstance(self.kernel, gpytorch.kernels.ScaleKernel):
            scale = self.kernel.outputscale
            return tuple(scale * d for d in self.kernel.base_kernel.derivatives(z, order))
        return self.kernel.derivatives(z, order)

    def derivative_matrix(self, x1: torch.Tensor, x2: torch.Tensor, i: int = 0, j: int = 0) -> torch.Tensor:
        """``d^i/dx1^i d^j/dx2^j k(x1, x2)`` between two sets of 1-D points (``i + j <= 2``)."""
        return _derivative_matrix(self.derivatives, x1, x2, i, j)

    def check_smooth(self, order: int) -> None:
        """Refuse the kernel if its derivatives up to ``order`` are not finite and continuous at ``z = 0``."""
        if self.closed_form or order < 1:
            return
        with torch.no_grad():
            k0 = float(autograd_derivatives(self.kernel, torch.zeros(1, dtype=torch.float64), 0)[0][0])
            limit, d = _second_at_zero(self.kernel, torch.zeros(1, dtype=torch.float64))
            t = torch.tensor([d, d / 10], dtype=torch.float64)
            k1 = _autograd_raw(self.kernel, t, 1)[1]
        g = k1 / t
        name = type(self.kernel).__name__
        if not (math.isfinite(k0) and k0 > 0):
            raise InvalidInputError(f"{name}: k(0) = {k0:g}, not a positive finite variance")
        smooth = bool(torch.isfinite(g).all()) and math.isfinite(float(limit)) \
            and abs(float(g[0] - g[1])) <= LIMIT_TOLERANCE * abs(float(g[1]))
        if not smooth:
            raise InvalidInputError(
                f"{name}: the kernel's derivative k'(z) = d/dz k(z) is not continuous at z = 0 (k'(t)/t = "
                f"{float(g[0]):.3g} at t = {d:.1e}, {float(g[1]):.3g} at t = {d / 10:.1e}), so k''(0) is not finite; "
                f"the PDE needs derivatives of order {order} of the GP (e.g. Matern nu=0.5 is not differentiable): "
                "use a smoother kernel (Matern nu=2.5, RBF, or ours)")


def _check_kernel(kernel: Any) -> None:
    if not isinstance(kernel, gpytorch.kernels.Kernel):
        raise InvalidInputError(f"kernel must be a name or a gpytorch.kernels.Kernel (or a list, one per axis), "
                                f"got {type(kernel).__name__}")
    for k in kernel.modules():
        if isinstance(k, gpytorch.kernels.Kernel):
            _refuse_multidimensional(k.ard_num_dims, k.active_dims, type(k).__name__)
    if not kernel.is_stationary:
        raise InvalidInputError(f"{type(kernel).__name__} is not stationary: the solver's grid algebra needs "
                                "k(x, x') = k(x - x') (e.g. RBF, Matern, Periodic, spectral mixtures, a ScaleKernel "
                                "of one)")


def axis_kernels(kernel: Any, dim: int, order: int = 2) -> list[AxisKernel]:
    """One :class:`AxisKernel` per axis from ``solve_pde``'s ``kernel=``: a GPyTorch kernel or a list of them.

    A single kernel is copied for every axis (each copy trained on its own); a list gives one per axis. The
    solver's kernel is the product over axes. ``order`` is the highest derivative the PDE needs per axis.

    Examples
    --------
    >>> import gpytorch
    >>> [type(k.kernel).__name__ for k in axis_kernels(gpytorch.kernels.RBFKernel(), 2)]
    ['RBFKernel', 'RBFKernel']
    >>> axis_kernels(gpytorch.kernels.RBFKernel(ard_num_dims=2), 2)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: RBFKernel is given ard_num_dims=2 / active_dims=None: the GP solver takes 1-D kernels, the product over axes being its own; pass one 1-D kernel per axis, kernel=[kernel_x, kernel_y], without ard_num_dims or active_dims
    """
    kernels: Sequence[Any] = list(kernel) if isinstance(kernel, (list, tuple)) else [kernel] * dim
    if len(kernels) != dim:
        raise InvalidInputError(f"kernel: a list of {len(kernels)} kernels for a {dim}-D problem (give one per axis)")
    out = [AxisKernel(k) for k in kernels]
    for k in out:
        k.check_smooth(order)
    return out
