"""Checkpoints: a torch state dict (loaded with ``weights_only=True``) plus JSON metadata beside it.

Writes are atomic (temporary file, fsync, rename): an interrupted training never leaves a half-written
checkpoint, and ``resume`` continues from the last complete one.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from solvers import InvalidInputError

from .network import DCDMNet, NetConfig

__all__ = ["save_checkpoint", "load_checkpoint", "shipped_checkpoint", "FORMAT"]

#: The ``format`` field of a checkpoint's JSON metadata; a checkpoint with another format is refused.
FORMAT = "solverkit-dcdm/1"
SHIPPED = Path(__file__).with_name("checkpoints")


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | os.PathLike, net: DCDMNet, metadata: dict[str, Any],
                    training_state: dict[str, Any] | None = None) -> Path:
    """Write ``path`` (weights, and optimizer/RNG state for resuming) and ``path.json`` (metadata)."""
    path = Path(path)
    payload = {"format": FORMAT, "config": net.config.to_dict(), "state_dict": net.state_dict()}
    if training_state is not None:
        payload["training"] = training_state
    _atomic_write(path, lambda fh: torch.save(payload, fh))
    meta = {"format": FORMAT, "config": net.config.to_dict(), **metadata}
    _atomic_write(path.with_suffix(path.suffix + ".json"), lambda fh: fh.write(json.dumps(meta, indent=2).encode()))
    return path


def load_checkpoint(path: str | os.PathLike, dim: int | None = None) -> tuple[DCDMNet, dict[str, Any], dict | None]:
    """``(network, metadata, training_state)``; clear errors for a missing, corrupt or mismatched file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"DCDM checkpoint {path} does not exist; train one with `solverkit train dcdm`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InvalidInputError(f"DCDM checkpoint {path} is not readable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InvalidInputError(f"{path} is not a solverkit DCDM checkpoint (format {FORMAT})")
    try:
        config = NetConfig(**payload["config"])
        net = DCDMNet(config)
        net.load_state_dict(payload["state_dict"])
    except Exception as exc:
        raise InvalidInputError(f"DCDM checkpoint {path} does not match its network configuration: {exc}") from exc
    if dim is not None and config.dim != dim:
        raise InvalidInputError(f"DCDM checkpoint {path} is for {config.dim}-D grids, the problem is {dim}-D")
    meta_path = path.with_suffix(path.suffix + ".json")
    metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    net.eval()
    return net, metadata, payload.get("training")


def shipped_checkpoint(dim: int, preset: str = "deep") -> Path:
    """The checkpoint that ships with the package for ``dim``-D grids."""
    return SHIPPED / f"dcdm{dim}d_{preset}.pt"
