"""Which torch device a learned component runs on."""
from __future__ import annotations

from solvers import InvalidInputError

__all__ = ["torch_device"]


def torch_device(name: str) -> str:
    """``"cpu"``, ``"cuda"`` (or ``"cuda:N"``), or ``"auto"`` (CUDA when torch sees a GPU); a clear error for a
    CUDA device that torch cannot use.

    Examples
    --------
    >>> torch_device("cpu")
    'cpu'
    >>> torch_device("tpu")
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'tpu'
    """
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if str(name).startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidInputError(f"device {name!r}: this torch build sees no CUDA GPU (torch {torch.__version__})")
        return name
    raise InvalidInputError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {name!r}")
