"""Checkpoints: a torch state dict (loaded with ``weights_only=True``) plus JSON metadata beside it.

Writes are atomic (temporary file, fsync, rename): an interrupted training never leaves a half-written
checkpoint, and ``resume`` continues from the last complete one.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from solvers import InvalidInputError

from .network import DCDMNet, NetConfig

__all__ = ["save_checkpoint", "load_checkpoint", "shipped_checkpoint", "check_resolution", "ResolutionWarning",
           "FORMAT"]

log = logging.getLogger(__name__)

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


class ResolutionWarning(UserWarning):
    """A paper-preset network (one model per resolution, as the authors train them) used on a grid of
    another size."""


def check_resolution(metadata: dict[str, Any], shape: Sequence[int], path: str | os.PathLike = "") -> bool:
    """Warn (:class:`ResolutionWarning`) when a one-model-per-resolution checkpoint meets a grid of another
    size; return whether the sizes match.

    We warn rather than refuse: the network is fully convolutional and the authors themselves run models
    on grids they were not trained on (``model_N128_from64`` in their data; ``src/test_all_cg.py:26-27,
    61-65``), but the paper's figures are for the model of the test's resolution, so a mismatch is said.

    Examples
    --------
    >>> check_resolution({"one_model_per_resolution": True, "resolution": 32, "dim": 3}, (32, 32, 32))
    True
    """
    if not metadata.get("one_model_per_resolution"):
        return True
    res = int(metadata["resolution"])
    if tuple(shape) == (res,) * len(shape):
        return True
    warnings.warn(ResolutionWarning(
        f"DCDM checkpoint {path} is the paper preset trained for {res}^{len(shape)} grids (one model per "
        f"resolution, as the authors); this grid is {'x'.join(map(str, shape))}. Train one for it with "
        f"`solverkit train dcdm --preset paper --dim {len(shape)} --grid {max(shape)}`"), stacklevel=3)
    return False


_LEGACY_SAID: set[int] = set()  # dimensions whose legacy fallback was logged (once each)
_PAPER = re.compile(r"dcdm(\d)d_paper_(\d+)\.pt$")


def shipped_checkpoint(dim: int, preset: str = "deep", grid: int | None = None) -> Path:
    """The checkpoint that ships with the package for ``dim``-D grids.

    ``deep``: ``dcdm<dim>d_deep.pt``. ``paper``: one model per resolution, ``dcdm<dim>d_paper_<grid>.pt``;
    for a ``grid`` without one, the shipped paper model of the nearest resolution (its use warns, see
    :func:`check_resolution`); where no faithful paper model ships yet, ``dcdm<dim>d_paper_legacy.pt``
    (our modified network of before issue 18, logged as such).
    """
    if preset != "paper":
        return SHIPPED / f"dcdm{dim}d_{preset}.pt"
    sizes = sorted(int(m.group(2)) for f in SHIPPED.glob(f"dcdm{dim}d_paper_*.pt")
                   if (m := _PAPER.search(f.name)) and int(m.group(1)) == dim)
    if not sizes:
        if dim not in _LEGACY_SAID:
            _LEGACY_SAID.add(dim)
            log.warning("no faithful paper-preset DCDM checkpoint ships for %d-D yet; using %s, our modified network "
                        "of before issue 18 (train the faithful one: solverkit train dcdm --preset paper)",
                        dim, f"dcdm{dim}d_paper_legacy.pt")
        return SHIPPED / f"dcdm{dim}d_paper_legacy.pt"
    best = sizes[-1] if grid is None else min(sizes, key=lambda g: (abs(math.log(g / grid)), g))
    return SHIPPED / f"dcdm{dim}d_paper_{best}.pt"
