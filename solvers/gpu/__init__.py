"""CuPy paths. Importing this package does not import CuPy; the functions here do, on first use."""
from __future__ import annotations

import importlib.util

__all__ = ["cupy_available", "gpu_available"]


def cupy_available() -> bool:
    """CuPy is installed (it is not imported)."""
    return importlib.util.find_spec("cupy") is not None


def gpu_available() -> bool:
    """CuPy is installed and sees at least one CUDA device."""
    if not cupy_available():
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device
        return False
