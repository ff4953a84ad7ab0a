"""The authors' training protocol for the ``paper`` preset, and the rule that scales it to a smaller grid.

The authors (``src/datasetcreate.py``, ``src/train.py`` of ayano721/2023_DCDM) train one model per
resolution on one matrix at 64^3 (262,144 cells): 10,000 Lanczos Ritz vectors, 20,000 samples, theta
= 500 (the first 5,500 coefficients weighted 9x), batch 10, Adam at 1e-4, 999 epochs (``range(1, 1000)``).
At 64^3 the Ritz basis alone needs 10,000 x 262,144 doubles (21 GB), beyond this project's machines.

**Scale rule.** Train on a grid of ``n`` cells, ``f = n / 64^3 <= 1``, and scale every count that grows
with the problem by ``f``: Ritz vectors ``round(10000 f)``, theta ``round(500 f)``, samples
``round(20000 f)``, epochs ``max(1, round(999 f))``. The fraction of the spectrum the Ritz basis covers,
the 55% weighted share, the samples per Ritz vector (2), the batch, the optimizer and the learning rate
stay the authors'. Examples: 3-D 32^3 (f = 1/8): 1,250 Ritz vectors, theta 62, 2,500 samples, 125 epochs
(31,250 Adam steps); 2-D 128^2 (f = 1/16): 625, 31, 1,250, 62 (7,750 steps).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from solvers import InvalidInputError

__all__ = ["PaperProtocol", "AUTHORS", "scaled_protocol", "SCALE_RULE"]

#: the authors' protocol at 64^3, with where each number is in their repository
AUTHORS = {
    "grid": 64, "dim": 3, "cells": 64 ** 3,
    "ritz": 10000,  # src/datasetcreate.py:19-20 (--number_of_base_ritz_vectors)
    "samples": 20000,  # src/datasetcreate.py:21-22 (--sample_size), src/train.py:183
    "theta": 500,  # src/datasetcreate.py:23-24, cut = m/2 + theta at :90
    "weight": 9.0,  # src/datasetcreate.py:100
    "epochs": 999,  # src/train.py:25-26 (1000) and :187 (range(1, epoch_num))
    "batch": 10,  # src/train.py:31-32
    "lr": 1e-4,  # src/train.py:67, :167
}

#: the scale rule in words, as the checkpoints' metadata records it
SCALE_RULE = ("f = cells / 64^3 (<= 1); ritz = round(10000 f), theta = round(500 f), samples = round(20000 f), "
              "epochs = max(1, round(999 f)); batch 10, Adam lr 1e-4 (eps 1e-7, Keras'), residual loss, "
              "input r/||r||, one matrix (the open box) as the authors")


@dataclass(frozen=True)
class PaperProtocol:
    """The numbers of one paper-preset training run (what the checkpoint's metadata records).

    Examples
    --------
    >>> p = scaled_protocol(3, 32)
    >>> p.ritz, p.theta, p.samples, p.epochs, p.steps
    (1250, 62, 2500, 125, 31250)
    """

    dim: int
    grid: int
    ritz: int
    theta: int
    samples: int
    epochs: int
    batch: int = AUTHORS["batch"]
    lr: float = AUTHORS["lr"]
    adam_eps: float = 1e-7  # Keras' Adam default (the authors compile with optimizer="Adam", src/train.py:166)
    weight: float = AUTHORS["weight"]
    scale: float = 1.0
    rule: str = SCALE_RULE
    authors: dict = field(default_factory=lambda: dict(AUTHORS))

    @property
    def steps(self) -> int:
        """Adam steps in all: ``epochs * samples / batch``."""
        return self.epochs * (self.samples // self.batch)

    def to_dict(self) -> dict:
        """JSON-ready fields (and ``steps``)."""
        return {**asdict(self), "steps": self.steps}


def scaled_protocol(dim: int, grid: int, epochs: int | None = None) -> PaperProtocol:
    """The authors' protocol scaled to a ``grid^dim`` training grid by :data:`SCALE_RULE`.

    ``epochs`` overrides the rule's epoch count (a shorter run, recorded as such in the metadata).

    Examples
    --------
    >>> scaled_protocol(2, 128).to_dict()["steps"], scaled_protocol(3, 64).ritz
    (7750, 10000)
    """
    if dim not in (2, 3):
        raise InvalidInputError("dim must be 2 or 3")
    if grid < 4 or grid % 2:
        raise InvalidInputError(f"grid must be even and at least 4, got {grid}")
    f = min(1.0, grid ** dim / AUTHORS["cells"])
    ritz = max(4, round(AUTHORS["ritz"] * f))
    ritz = min(ritz, grid ** dim)
    proto = PaperProtocol(dim=dim, grid=grid, ritz=ritz, theta=round(AUTHORS["theta"] * f),
                          samples=max(AUTHORS["batch"], round(AUTHORS["samples"] * f)),
                          epochs=max(1, round(AUTHORS["epochs"] * f)), scale=f)
    if epochs is not None:
        if epochs < 1:
            raise InvalidInputError(f"epochs must be >= 1, got {epochs}")
        proto = PaperProtocol(**{**asdict(proto), "epochs": epochs,
                                 "rule": SCALE_RULE + f"; epochs overridden: {epochs}"})
    return proto
