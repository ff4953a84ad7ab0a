"""Training the ``paper`` preset by the authors' protocol (scaled by :func:`~learned.dcdm.protocol.scaled_protocol`).

One matrix (the open box), a fixed data set of Lanczos-Ritz right-hand sides made once, epochs over a fresh
permutation of it in batches of 10, the residual loss, Adam at 1e-4. A checkpoint is written atomically
after every epoch; ``resume`` continues from the last one (exactly, at epoch boundaries).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from solvers import InvalidInputError

from .checkpoint import save_checkpoint
from .data import lanczos_ritz, paper_samples
from .network import PRESETS, DCDMNet
from .protocol import PaperProtocol, scaled_protocol
from .stencil import TorchStencil
from .train import dcdm_loss, restore_training

__all__ = ["train_paper", "paper_checkpoint_name", "paper_data"]


def paper_checkpoint_name(dim: int, grid: int) -> str:
    """``dcdm<dim>d_paper_<grid>.pt``: one model per resolution, the resolution in the name."""
    return f"dcdm{dim}d_paper_{grid}.pt"


def paper_data(protocol: PaperProtocol, seed: int) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """``(operator, samples (count, *grid) float32, info)``: the open box's matrix and the data set."""
    from pde_examples.fluid import fluid_mask, pressure_operator

    shape = (protocol.grid,) * protocol.dim
    op = pressure_operator(fluid_mask(shape, obstacles=0, seed=seed))
    t0 = time.perf_counter()
    values, vectors = lanczos_ritz(op.to_csr(), protocol.ritz, seed=seed)
    t1 = time.perf_counter()
    samples = paper_samples(values, vectors, protocol.samples, protocol.theta, np.random.default_rng(seed + 1))
    info = {"lanczos_seconds": round(t1 - t0, 1), "samples_seconds": round(time.perf_counter() - t1, 1),
            "ritz_values": [float(values[0]), float(values[-1])], "ritz_dropped_below_1e-8": int((values < 1e-8).sum())}
    return op, samples.reshape(protocol.samples, *shape), info


def train_paper(dim: int = 3, grid: int = 32, *, seed: int = 0, epochs: int | None = None,
                out: str | Path | None = None, resume: bool = False, progress: bool = True,
                protocol: PaperProtocol | None = None) -> tuple[DCDMNet, list[float]]:
    """Train the authors' network by their protocol scaled to ``grid^dim``; returns it and the mean loss of
    every epoch.

    Parameters
    ----------
    dim, grid : the training grid (the authors: 3, 64).
    seed : seeds the data (start vector, coefficients), the initialization and the epoch permutations.
    epochs : overrides the scaled protocol's epoch count (recorded in the metadata).
    out : checkpoint path (default none); written after every epoch, with ``.json`` metadata that records
        the protocol, the scale rule and the numbers actually used.
    resume : continue from ``out`` (same arguments): weights, Adam state, random state, epoch.
    protocol : a protocol to use instead of ``scaled_protocol(dim, grid, epochs)`` (tests use tiny ones).

    Examples
    --------
    >>> from learned.dcdm.protocol import PaperProtocol
    >>> tiny = PaperProtocol(dim=2, grid=8, ritz=20, theta=1, samples=20, epochs=2)
    >>> net, losses = train_paper(2, 8, protocol=tiny, progress=False)
    >>> len(losses), bool(np.all(np.isfinite(losses)))
    (2, True)
    """
    protocol = protocol or scaled_protocol(dim, grid, epochs)
    if (protocol.dim, protocol.grid) != (dim, grid):
        raise InvalidInputError("the protocol is for another grid")
    config = PRESETS["paper"](dim)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 2)
    net = DCDMNet(config)
    opt = torch.optim.Adam(net.parameters(), lr=protocol.lr, eps=protocol.adam_eps)
    history: list[float] = []
    start = 0
    if resume:
        state = restore_training(out, dim, net, opt, rng,
                                 matches=lambda meta: meta.get("protocol", {}).get("ritz") == protocol.ritz)
        history, start = list(state["history"]), int(state["epoch"])
    t0 = time.perf_counter()
    op, data, info = paper_data(protocol, seed)
    data_seconds = time.perf_counter() - t0
    A = TorchStencil(op, torch.float32)
    data_t = torch.as_tensor(data)
    batches = protocol.samples // protocol.batch
    net.train()

    def snapshot(epoch: int) -> None:
        if out is None:
            return
        state = {"optimizer": opt.state_dict(), "numpy_rng": rng.bit_generator.state,
                 "torch_rng": torch.get_rng_state(), "history": history, "epoch": epoch}
        save_checkpoint(out, net, {
            "dim": dim, "grid": grid, "resolution": grid, "preset": "paper", "one_model_per_resolution": True,
            "epochs": epoch, "steps": epoch * batches, "batch": protocol.batch, "lr": protocol.lr, "seed": seed,
            "protocol": protocol.to_dict(), "scale_rule": protocol.rule,
            "training_set": (f"one matrix (open box {grid}^{dim}); {protocol.samples} samples over {protocol.ritz} "
                             f"Lanczos Ritz vectors, the first {protocol.ritz // 2 + protocol.theta} weighted "
                             f"{protocol.weight:g}x"),
            "loss_kind": "residual", "loss": history[-1] if history else None, "data": info,
            "train_seconds": round(time.perf_counter() - t0, 1), "data_seconds": round(data_seconds, 1),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "torch": torch.__version__,
        }, state)

    bar = tqdm(desc=f"train dcdm paper {dim}d {grid}", disable=not progress, unit="step",
               initial=start * batches, total=protocol.epochs * batches)
    for epoch in range(start, protocol.epochs):
        perm = torch.as_tensor(rng.permutation(protocol.samples))
        total = 0.0
        for i in range(batches):
            b = data_t[perm[i * protocol.batch:(i + 1) * protocol.batch]]
            q = net(b[:, None])[:, 0]  # input r / ||r||: the samples have unit norm
            value = dcdm_loss(q, b, A)
            opt.zero_grad()
            value.backward()
            opt.step()
            total += float(value.detach())
            bar.update(1)
        history.append(total / batches)
        bar.set_postfix(epoch=epoch + 1, loss=f"{history[-1]:.4f}")
        snapshot(epoch + 1)
    bar.close()
    if out is not None and start >= protocol.epochs:
        snapshot(protocol.epochs)
    net.eval()
    return net, history
