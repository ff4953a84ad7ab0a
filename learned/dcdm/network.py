"""The DCDM network: a small convolutional U-Net-like model that maps a residual to a search direction.

``preset="paper"`` is Kaneda et al.'s configuration (16 channels, first convolution linear, 4 convolutions
at the fine level, average-pool by 2, 6 at the coarse level, nearest upsampling plus a skip-add, 4 more
convolutions, a final 1x1 linear convolution; no mask channel, one coarsening). ``preset="deep"`` is our
variant: the same building blocks over more levels (a V-shaped hierarchy like multigrid), with the
fluid mask as a second input channel.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["NetConfig", "DCDMNet", "PRESETS"]


@dataclass(frozen=True)
class NetConfig:
    dim: int = 2
    channels: int = 16
    levels: int = 1  # number of coarsenings
    fine_convs: int = 4  # convolutions at each level on the way down (the coarsest gets coarse_convs)
    coarse_convs: int = 6
    up_convs: int = 4  # convolutions at each level on the way up
    mask_channel: bool = False
    identity_skip: bool = True  # output = input residual + network (see DCDMNet)

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    "paper": lambda dim: NetConfig(dim=dim, channels=16, levels=1, fine_convs=4, coarse_convs=6, up_convs=4,
                                   mask_channel=False),
    "deep": lambda dim: NetConfig(dim=dim, channels=16, levels=4 if dim == 2 else 3, fine_convs=2, coarse_convs=4,
                                  up_convs=2, mask_channel=True),
}


class _ResidualPairs(nn.Module):
    """``count`` ReLU convolutions, added back every two (the paper's residual pairs)."""

    def __init__(self, conv: type, channels: int, count: int):
        super().__init__()
        self.convs = nn.ModuleList(conv(channels, channels, 3, padding=1) for _ in range(count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i % 2 == 1:
                x = x + skip
                skip = x
        return x


class DCDMNet(nn.Module):
    """``q = f(r)`` on a grid: input (batch, 1 or 2, *grid), output (batch, 1, *grid).

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
        c = config.channels
        self.first = conv(2 if config.mask_channel else 1, c, 3, padding=1)
        self.down = nn.ModuleList(_ResidualPairs(conv, c, config.fine_convs) for _ in range(config.levels))
        self.bottom = _ResidualPairs(conv, c, config.coarse_convs)
        self.up = nn.ModuleList(_ResidualPairs(conv, c, config.up_convs) for _ in range(config.levels))
        self.last = conv(c, 1, 1)
        if config.identity_skip:  # start exactly at q = r
            nn.init.zeros_(self.last.weight)
            nn.init.zeros_(self.last.bias)
        self.pool = F.avg_pool2d if config.dim == 2 else F.avg_pool3d

    @property
    def multiple(self) -> int:
        """Grid sizes are padded to a multiple of this."""
        return 2 ** self.config.levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inp = x[:, :1]
        x = self.first(x)  # linear, as in the paper
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x, 2)
        x = self.bottom(x)
        for block, skip in zip(self.up, reversed(skips)):
            x = F.interpolate(x, scale_factor=2, mode="nearest") + skip
            x = block(x)
        out = self.last(x)
        # Beyond the paper: start from the identity (q = r has loss ~0.4 where a fresh network has 1 to 4);
        # without it, training here fell into the trivial q orthogonal to b (loss stuck at 1) at 64^2.
        return out + inp if self.config.identity_skip else out
