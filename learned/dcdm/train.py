"""Training the DCDM network: Ritz-vector data from several fluid domains, scale-invariant loss, Adam,
atomic periodic checkpoints, exact resume."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from solvers import InvalidInputError

from .checkpoint import load_checkpoint, save_checkpoint
from .data import TrainingDomain, ritz_vectors, sample_batch
from .network import PRESETS, DCDMNet
from .stencil import TorchStencil

__all__ = ["train", "dcdm_loss", "training_domains"]


def dcdm_loss(q: torch.Tensor, b: torch.Tensor, apply_A) -> torch.Tensor:
    """``mean ||b - (q.b / q.Aq) A q||^2``: the residual after an exact line search along ``q``.

    Invariant to the scale of ``q`` (the solver's line search cancels it).
    """
    Aq = apply_A(q)
    dims = tuple(range(1, q.ndim))
    alpha = (q * b).sum(dims, keepdim=True) / (q * Aq).sum(dims, keepdim=True).clamp_min(1e-30)
    return ((b - alpha * Aq) ** 2).sum(dims).mean()


def training_domains(dim: int, grid: int, domains: int, ritz: int, seed: int) -> list[TrainingDomain]:
    """The open box plus ``domains - 1`` boxes with 2 to 6 random obstacles, with their Ritz vectors."""
    from pde_examples.fluid import fluid_mask, pressure_operator

    out = []
    for d in range(domains):
        mask = fluid_mask((grid,) * dim, obstacles=0 if d == 0 else 2 + (d % 5), seed=seed + 1000 * d)
        op = pressure_operator(mask)
        out.append(TrainingDomain(op, ritz_vectors(op.to_csr(), ritz, seed=seed + d)))
    return out


def _forward(net: DCDMNet, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``f(b)`` for unit-norm ``b``: the input is scaled to unit RMS (see ``DirectionModel``)."""
    x = b[:, None] * float(np.sqrt(b[0].numel()))
    if net.config.mask_channel:
        x = torch.cat([x, mask.expand_as(x)], dim=1)
    return net(x)[:, 0] * mask


def train(dim: int = 2, grid: int = 64, preset: str = "deep", *, steps: int = 2000, batch: int = 16,
          lr: float = 1e-3, domains: int = 4, ritz: int = 200, seed: int = 0, out: str | Path | None = None,
          checkpoint_every: int = 200, resume: bool = False, progress: bool = True) -> tuple[DCDMNet, list[float]]:
    """Train a DCDM network; returns it and the loss history (one value per step).

    Parameters
    ----------
    dim, grid : the training grid is ``grid`` cells per axis in ``dim`` dimensions.
    preset : ``"deep"`` (ours: 4 levels in 2-D, 3 in 3-D, mask channel) or ``"paper"``.
    steps, batch, lr : Adam steps, right-hand sides per step, learning rate (the paper: 1e-4).
    domains : training domains (the open box and random-obstacle boxes).
    ritz : Ritz vectors per domain.
    out : checkpoint path (``.pt``; metadata in ``.pt.json``), written every ``checkpoint_every`` steps
        and at the end, atomically.
    resume : continue from ``out`` (same arguments): weights, optimizer, random state and step count.

    Examples
    --------
    >>> net, losses = train(dim=2, grid=16, preset="paper", steps=30, batch=4, domains=1, ritz=20,
    ...                     progress=False)
    >>> len(losses), bool(np.all(np.isfinite(losses)))
    (30, True)
    """
    if dim not in (2, 3):
        raise InvalidInputError("dim must be 2 or 3")
    if preset not in PRESETS:
        raise InvalidInputError(f"preset must be one of {', '.join(PRESETS)}")
    config = PRESETS[preset](dim)
    if grid % (2 ** config.levels) or grid < 2 ** (config.levels + 1):
        raise InvalidInputError(f"grid must be a multiple of {2 ** config.levels} and at least "
                                f"{2 ** (config.levels + 1)} for preset {preset!r}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = DCDMNet(config)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history: list[float] = []
    start = 0
    if resume:
        if out is None or not Path(out).is_file():
            raise InvalidInputError("resume needs an existing checkpoint at out=")
        loaded, _, state = load_checkpoint(out, dim=dim)
        if loaded.config != config or state is None:
            raise InvalidInputError(f"{out} was trained with another configuration; resume needs the same one")
        net.load_state_dict(loaded.state_dict())
        opt.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        history, start = list(state["history"]), int(state["step"])
    t0 = time.perf_counter()
    data = training_domains(dim, grid, domains, ritz, seed)
    data_seconds = time.perf_counter() - t0
    stencils = [TorchStencil(d.op, torch.float32) for d in data]
    masks = [torch.as_tensor(np.ones(d.op.grid_shape) if d.op.mask is None else d.op.mask, dtype=torch.float32)
             for d in data]
    net.train()

    def snapshot(step: int) -> None:
        if out is None:
            return
        state = {"optimizer": opt.state_dict(), "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                 "history": history, "step": step}
        save_checkpoint(out, net, {
            "dim": dim, "grid": grid, "preset": preset, "steps": step, "batch": batch, "lr": lr, "seed": seed,
            "training_set": f"{domains} domains ({grid}^{dim}: open box + random obstacles), {ritz} Ritz vectors each",
            "loss": float(np.mean(history[-50:])) if history else None,
            "train_seconds": round(time.perf_counter() - t0, 1), "data_seconds": round(data_seconds, 1),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "torch": torch.__version__,
        }, state)

    bar = tqdm(range(start, steps), desc=f"train dcdm {dim}d {grid}", disable=not progress, initial=start, total=steps)
    for step in bar:
        d = int(rng.integers(len(data)))
        b = sample_batch(data[d], batch, rng)
        q = _forward(net, b, masks[d])
        loss = dcdm_loss(q, b, stencils[d])
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        bar.set_postfix(loss=f"{np.mean(history[-20:]):.4f}")
        if checkpoint_every and (step + 1) % checkpoint_every == 0:
            snapshot(step + 1)
    snapshot(steps)
    net.eval()
    return net, history


def checkpoint_summary(path: str | Path) -> dict[str, Any]:
    """The metadata of a checkpoint (what the JSON file says)."""
    return load_checkpoint(path)[1]
