"""The DCDM network: a small convolutional U-Net-like model that maps a residual to a search direction.

``preset="paper"`` is Kaneda et al.'s network exactly as their ``src/train.py`` (N = 64 branch) builds it:
16 channels; a linear 3^d convolution; at the fine level 4 ReLU convolutions, the output of the first
added back after the third; average-pool by 2; 6 ReLU convolutions at the coarse level in residual pairs;
nearest upsampling plus the fine level's last output; 4 ReLU convolutions in residual pairs; a plain
linear ``Dense(1)`` (a 1x1 convolution with bias); Glorot-uniform weights, zero biases (Keras' defaults);
input ``r / ||r||``. The file:line correspondence is in ``docs/dcdm_faithful.md``. ``preset="deep"`` is our
variant: the same building blocks, bias-free, with the fluid mask gating the features at every level,
used beside an exact coarse solve on 4^dim-cell aggregates (``coarse_ratio``; see
:mod:`learned.dcdm.coarse`), so the network only handles the scales below a few cells and sees the
same local picture at every resolution. Measured at 64^2 -> 512^2 (trained at 64^2, 2500 steps): three
levels beside 8^2 aggregates went 10 -> 25 iterations, two levels 12 -> 24, one level beside 4^2
aggregates 13 -> 18; 8 channels instead of 16 gave the same counts at 2.6x less time per application.
A small training domain is mostly wall within a large receptive field, so a
network that sees far learns little about the interior that dominates finer grids.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["NetConfig", "DCDMNet", "PRESETS", "input_scale", "parameter_count"]


@dataclass(frozen=True)
class NetConfig:
    """The architecture of a :class:`DCDMNet`: what a checkpoint's metadata stores to rebuild the network.

    ``dim``: 2 or 3; ``channels``: features per convolution; ``levels``: number of coarsenings;
    ``fine_convs``/``coarse_convs``/``up_convs``: convolutions per level on the way down, at the coarsest
    level and on the way up; ``mask_channel``: the fluid mask enters the network, as a second input
    channel or, with ``mask_gate``, multiplying the features at every level; ``identity_skip``: the
    output adds the input residual; ``coarse_ratio`` > 0: the network works beside an exact coarse solve
    on ``coarse_ratio**dim``-cell aggregates; ``bias=False`` makes every convolution bias-free, so that
    ``f(c r) = c f(r)`` for ``c > 0``.

    Examples
    --------
    >>> NetConfig(dim=3).to_dict()["channels"]
    16
    """

    dim: int = 2
    channels: int = 16
    levels: int = 1  # number of coarsenings
    fine_convs: int = 4  # convolutions at each level on the way down (the coarsest gets coarse_convs)
    coarse_convs: int = 6
    up_convs: int = 4  # convolutions at each level on the way up
    mask_channel: bool = False
    identity_skip: bool = True  # output = input residual + network (see DCDMNet)
    coarse_ratio: int = 0  # > 0: the network works beside an exact coarse solve on ratio^dim aggregates
    bias: bool = True  # False: every convolution bias-free, so f(c r) = c f(r) for c > 0 (see DCDMNet)
    mask_gate: bool = False  # with mask_channel: the mask multiplies the features at every level instead
    # of entering the first convolution as a second channel (keeps f positively homogeneous)
    fine_wiring: str = "pairs"  # "pairs": residual pairs at every level (ours); "kaneda": on the way down a
    # lone first convolution, pairs adding the first one's output back, a lone last one (the authors')
    init: str = "torch"  # "torch": PyTorch's default initialization; "keras": Glorot-uniform weights, zero biases
    input_norm: str = "rms"  # "rms": the input is sqrt(N) r / ||r|| (ours); "unit": r / ||r|| (the authors')

    def __post_init__(self) -> None:
        if self.fine_wiring not in ("pairs", "kaneda"):
            raise ValueError(f"fine_wiring must be 'pairs' or 'kaneda', got {self.fine_wiring!r}")
        if self.init not in ("torch", "keras"):
            raise ValueError(f"init must be 'torch' or 'keras', got {self.init!r}")
        if self.input_norm not in ("rms", "unit"):
            raise ValueError(f"input_norm must be 'rms' or 'unit', got {self.input_norm!r}")
        if self.fine_wiring == "kaneda" and (self.fine_convs < 2 or self.fine_convs % 2):
            raise ValueError("fine_wiring='kaneda' needs an even fine_convs >= 2 (a lone first, pairs, a lone last)")

    def to_dict(self) -> dict:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


#: Named configurations, ``dim -> NetConfig``: ``"paper"`` (Kaneda et al.'s network) and ``"deep"`` (ours:
#: bias-free, mask-gated, beside a coarse solve on 4^dim aggregates).
PRESETS = {
    "paper": lambda dim: NetConfig(dim=dim, channels=16, levels=1, fine_convs=4, coarse_convs=6, up_convs=4,
                                   mask_channel=False, identity_skip=False, coarse_ratio=0, bias=True,
                                   mask_gate=False, fine_wiring="kaneda", init="keras", input_norm="unit"),
    "deep": lambda dim: NetConfig(dim=dim, channels=8, levels=1, fine_convs=2, coarse_convs=4, up_convs=2,
                                  mask_channel=True, coarse_ratio=4, bias=False, mask_gate=True),
}


class _ResidualPairs(nn.Module):
    """``count`` ReLU convolutions, added back every two (the paper's residual pairs)."""

    def __init__(self, conv: type, channels: int, count: int, bias: bool = True):
        super().__init__()
        self.convs = nn.ModuleList(conv(channels, channels, 3, padding=1, bias=bias) for _ in range(count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i % 2 == 1:
                x = x + skip
                skip = x
        return x


class _KanedaFine(nn.Module):
    """The authors' fine level (``src/train.py:112-116``): ``a = relu(c1 x)``, then pairs
    ``a = relu(c3 relu(c2 a)) + a``, then ``relu(c_last a)`` (4 convolutions: the skip after the third)."""

    def __init__(self, conv: type, channels: int, count: int, bias: bool = True):
        super().__init__()
        self.convs = nn.ModuleList(conv(channels, channels, 3, padding=1, bias=bias) for _ in range(count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.convs[0](x))
        for i in range(1, len(self.convs) - 1, 2):
            x = F.relu(self.convs[i + 1](F.relu(self.convs[i](x)))) + x
        return F.relu(self.convs[-1](x))


def input_scale(config: NetConfig, n: int) -> float:
    """The factor the residual's unit vector ``r / ||r||`` is multiplied by before the network sees it:
    1 for ``input_norm="unit"`` (the authors'), ``sqrt(n)`` for ``"rms"`` (ours: unit RMS), ``n`` cells.

    Examples
    --------
    >>> input_scale(PRESETS["paper"](3), 4096), input_scale(PRESETS["deep"](3), 4096)
    (1.0, 64.0)
    """
    return 1.0 if config.input_norm == "unit" else float(n) ** 0.5


def parameter_count(config: NetConfig) -> int:
    """The number of trainable parameters of ``DCDMNet(config)``, from the configuration alone.

    ``c`` channels, 3^d kernels, ``L`` levels: the first convolution ``(i c 3^d + c b)`` with ``i`` input
    channels, ``L (fine + up) + coarse`` convolutions of ``c^2 3^d + c b`` each, the last ``c + b``
    (``b`` = 1 with biases, 0 without).

    Examples
    --------
    >>> parameter_count(PRESETS["paper"](3)), parameter_count(PRESETS["paper"](2))
    (97457, 32657)
    """
    c, k, b = config.channels, 3 ** config.dim, int(config.bias)
    inputs = 2 if config.mask_channel and not config.mask_gate else 1
    inner = config.levels * (config.fine_convs + config.up_convs) + config.coarse_convs
    return inputs * c * k + c * b + inner * (c * c * k + c * b) + c + b


class DCDMNet(nn.Module):
    """``q = f(r)`` on a grid: input ``(batch, 1 or 2, *grid)``, output ``(batch, 1, *grid)``.

    Examples
    --------
    >>> import torch
    >>> net = DCDMNet(PRESETS["paper"](2))
    >>> net(torch.zeros(1, 1, 16, 16)).shape
    torch.Size([1, 1, 16, 16])
    >>> sum(p.numel() for p in net.parameters())  # the paper: about 33k in 2-D
    32657
    """

    def __init__(self, config: NetConfig):
        super().__init__()
        if config.dim not in (2, 3):
            raise ValueError("dim must be 2 or 3")
        self.config = config
        conv = nn.Conv2d if config.dim == 2 else nn.Conv3d
        c, bias = config.channels, config.bias
        self.first = conv(2 if config.mask_channel and not config.mask_gate else 1, c, 3, padding=1, bias=bias)
        fine = _KanedaFine if config.fine_wiring == "kaneda" else _ResidualPairs
        self.down = nn.ModuleList(fine(conv, c, config.fine_convs, bias) for _ in range(config.levels))
        self.bottom = _ResidualPairs(conv, c, config.coarse_convs, bias)
        self.up = nn.ModuleList(_ResidualPairs(conv, c, config.up_convs, bias) for _ in range(config.levels))
        self.last = conv(c, 1, 1, bias=bias)  # the authors' Dense(1): a linear map of the channels at each cell
        if config.init == "keras":  # Keras' defaults: glorot_uniform kernels, zero biases
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
        if config.identity_skip:  # start exactly at q = r
            nn.init.zeros_(self.last.weight)
            if bias:
                nn.init.zeros_(self.last.bias)
        self.pool = F.avg_pool2d if config.dim == 2 else F.avg_pool3d

    @property
    def multiple(self) -> int:
        """Grid sizes are padded to a multiple of this."""
        return 2 ** self.config.levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inp = x[:, :1]
        gate = self.config.mask_channel and self.config.mask_gate
        masks = [x[:, 1:2]] if gate else None  # the fluid mask at every level, for the gate
        for _ in range(self.config.levels if gate else 0):
            masks.append(self.pool(masks[-1], 2))

        def gated(t: torch.Tensor, level: int) -> torch.Tensor:
            return t if masks is None else t * masks[level]

        x = gated(self.first(inp if gate else x), 0)  # linear, as in the paper
        skips = []
        for level, block in enumerate(self.down):
            x = gated(block(x), level)
            skips.append(x)
            x = self.pool(x, 2)
        x = gated(self.bottom(x), self.config.levels)
        for level, (block, skip) in zip(reversed(range(self.config.levels)), zip(self.up, reversed(skips))):
            x = F.interpolate(x, scale_factor=2, mode="nearest") + skip
            x = gated(block(x), level)
        out = self.last(x)
        # Beyond the paper: start from the identity (q = r has loss ~0.4 where a fresh network has 1 to 4);
        # without it, training here fell into the trivial q orthogonal to b (loss stuck at 1) at 64^2.
        # Bias-free with the mask as a gate (the deep preset), f(c r) = c f(r) for c > 0: the network acts
        # the same on a residual whatever its local size, which a network with biases, trained on
        # unit-RMS inputs at 64^2, did not (it helped less and less on finer grids: 13 -> 37 iterations
        # from 64^2 to 512^2, measured).
        return out + inp if self.config.identity_skip else out
