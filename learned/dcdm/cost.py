"""The work one iteration of the learned solvers costs, counted from the configuration and the grid.

Unit: one product with the fine matrix, ``2 nnz(A)`` floating-point operations (a multiply and an add per
stored entry), so that iteration counts of different solvers can be put on one scale. The network's
FLOPs count its convolutions: 2 per multiply-add over every output cell of the (padded) grid, plus 1 per
bias; the element-wise work (ReLU, skip additions, pooling, upsampling, mask gates) is left out (each is
one operation per feature value where a 3^d convolution with ``c`` input channels costs ``2 c 3^d``, under
1% of the total for the presets here).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solvers import InvalidInputError

from .network import NetConfig

__all__ = ["network_flops", "IterationCost", "iteration_cost"]


def _padded(shape: Sequence[int], multiple: int) -> list[int]:
    return [-(-s // multiple) * multiple for s in shape]


def network_flops(config: NetConfig, shape: Sequence[int]) -> int:
    """FLOPs of one application of ``DCDMNet(config)`` to a residual on a grid of ``shape`` cells.

    Each 3^d convolution from ``ci`` to ``co`` channels on ``M`` cells costs ``2 ci co 3^d M`` (plus
    ``co M`` with biases); the last 1x1 convolution ``2 c M`` (plus ``M``). The grid is padded to a multiple
    of ``2^levels`` as :class:`~learned.dcdm.model.DirectionModel` pads it; level ``l`` has ``M / 2^(d l)``
    cells.

    Examples
    --------
    >>> from learned.dcdm.network import PRESETS
    >>> round(network_flops(PRESETS["paper"](3), (64, 64, 64)) / 1e9, 2)  # the authors' network at 64^3, GFLOP
    31.98
    """
    if len(shape) != config.dim:
        raise InvalidInputError(f"a {config.dim}-D network on a {len(shape)}-D grid")
    cells = 1
    for s in _padded(shape, 2 ** config.levels):
        cells *= s
    c, k, bias = config.channels, 3 ** config.dim, int(config.bias)
    inputs = 2 if config.mask_channel and not config.mask_gate else 1

    def conv(ci: int, co: int, m: int, kernel: int = k) -> int:
        return 2 * ci * co * kernel * m + bias * co * m

    total = conv(inputs, c, cells) + conv(c, 1, cells, kernel=1)
    for level in range(config.levels):
        m = cells // 2 ** (config.dim * level)
        total += (config.fine_convs + config.up_convs) * conv(c, c, m)
    total += config.coarse_convs * conv(c, c, cells // 2 ** (config.dim * config.levels))
    return total


@dataclass(frozen=True)
class IterationCost:
    """The work of one iteration: ``matvecs`` products with A, ``other_flops`` (coarse solves, smoother
    sweeps, orthogonalization and vector updates), ``network_flops``; ``matvec_flops`` = ``2 nnz(A)``."""

    matvecs: float
    other_flops: float
    network_flops: float
    matvec_flops: float

    @property
    def matvec_equivalents(self) -> float:
        """Everything in units of one product with A."""
        return self.matvecs + (self.other_flops + self.network_flops) / self.matvec_flops


def iteration_cost(kind: str, n: int, nnz: int, *, directions: int = 1, recompute_every: int = 0,
                   net_flops: int = 0, aux_flops: float = 0.0, smoother_nnz: int = 0) -> IterationCost:
    """The cost of one iteration of solver ``kind`` on a system with ``n`` unknowns and ``nnz`` entries.

    ``kind``: ``"cg"`` (1 product, 5 vector operations of ``2n``); ``"pcg"`` (the same plus the
    preconditioner's ``aux_flops``); ``"dcdm"`` (the authors' step: the network's ``net_flops``,
    A-orthogonalization against ``directions`` directions, 1 product for ``A q`` and 1 for the true
    residual every iteration); ``"fcg-slot"`` (our preconditioner ``z = Q r + s (I - QA) N((I - AQ) r)``
    inside FCG: 3 products with A in the preconditioner and 1 in FCG, the two coarse solves'
    ``aux_flops``, in the slot the network's ``net_flops`` or a symmetric Gauss-Seidel sweep pair over
    ``smoother_nnz`` entries (``4 smoother_nnz``), orthogonalization against ``directions`` directions,
    and a true residual every ``recompute_every`` iterations).

    Examples
    --------
    >>> c = iteration_cost("cg", n=100, nnz=500)  # 1 product and 5 vector operations of 2n flops
    >>> c.matvecs, c.other_flops, c.matvec_equivalents
    (1.0, 1000.0, 2.0)
    """
    if kind not in ("cg", "pcg", "dcdm", "fcg-slot"):
        raise InvalidInputError(f"unknown solver kind {kind!r}")
    vec = 2.0 * n  # one axpy or dot product
    if kind in ("cg", "pcg"):
        return IterationCost(1.0, 5 * vec + aux_flops, 0.0, 2.0 * nnz)
    extra = 1.0 / recompute_every if recompute_every else 0.0
    # FCG: per kept direction a dot product and an axpy; then p.Ap, p.r and the update of x
    orth = directions * 2 * vec + 3 * vec
    if kind == "dcdm":  # the true residual b - A x and its norm, r / ||r|| (norm and scale)
        return IterationCost(2.0, orth + 4 * vec, float(net_flops), 2.0 * nnz)
    # the recursive residual and its norm; in the balanced direction r - A y, n - Q A n, n.An, n.r1, y + s n
    slot = float(net_flops) + 4.0 * smoother_nnz
    return IterationCost(4.0 + extra, orth + 7 * vec + aux_flops, slot, 2.0 * nnz)
