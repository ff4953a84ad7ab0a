"""Array backends: which namespace (numpy or cupy) an array belongs to, and backend selection."""
from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np

from .errors import InvalidInputError, MissingDependencyError

__all__ = ["array_namespace", "backend_of", "resolve_backend", "to_host", "to_numpy_dtype", "BACKENDS"]

#: The array backends a method may declare (``backend="auto"`` picks the one ``b`` lives on).
BACKENDS = ("numpy", "cupy")


def backend_of(x: Any) -> str:
    """``'cupy'`` for CuPy arrays, else ``'numpy'``.

    Examples
    --------
    >>> import numpy as np
    >>> backend_of(np.zeros(3))
    'numpy'
    """
    return "cupy" if type(x).__module__.split(".")[0] in ("cupy", "cupyx") else "numpy"


def array_namespace(x: Any) -> ModuleType:
    """The module whose functions operate on ``x`` (numpy or cupy)."""
    if backend_of(x) == "cupy":
        return sys.modules["cupy"]
    return np


def to_host(x: Any) -> np.ndarray:
    """A NumPy copy of a CuPy array (``x`` itself when it is already on the host).

    Examples
    --------
    >>> to_host(np.ones(2)).tolist()
    [1.0, 1.0]
    """
    return x.get() if backend_of(x) == "cupy" else np.asarray(x)


def to_numpy_dtype(dtype: Any) -> np.dtype:
    """``dtype`` (NumPy's or CuPy's, a type or a name) as a :class:`numpy.dtype`.

    Examples
    --------
    >>> to_numpy_dtype("float32")
    dtype('float32')
    """
    return np.dtype(dtype)


def resolve_backend(requested: str, b: Any, supported: tuple[str, ...], method: str) -> str:
    """Pick the backend for a solve: ``auto`` follows ``b``; anything unsupported is a clear error."""
    if requested not in ("auto", "petsc") + BACKENDS:
        raise InvalidInputError(f"backend must be 'auto', 'numpy', 'cupy' or 'petsc', got {requested!r}")
    backend = backend_of(b) if requested == "auto" else requested
    if backend == "cupy":
        try:
            import cupy  # noqa: F401
        except ImportError:
            raise MissingDependencyError(method, "gpu", "cupy") from None
    if backend not in supported:
        raise InvalidInputError(f"method {method!r} supports backends {', '.join(supported)}, not {backend!r}; "
                                f"move b (and A) to the host with .get() or pick a method that runs on {backend}")
    if backend != backend_of(b):
        raise InvalidInputError(f"backend={backend!r} but b lives on {backend_of(b)!r}; move b there first "
                                "(solverkit never copies between host and device inside a solve)")
    return backend
