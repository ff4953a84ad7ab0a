"""Import petsc4py on demand and reach the C entry points petsc4py 3.18 does not wrap."""
from __future__ import annotations

import ctypes
from functools import lru_cache
from types import ModuleType
from typing import Any

from ..errors import MissingDependencyError

__all__ = ["petsc", "clib", "set_pc_failed", "PC_SETUP_ERROR"]

#: ``PCFailedReason`` value PETSc uses for a preconditioner whose set-up failed
PC_SETUP_ERROR = -1


def petsc() -> ModuleType:
    """``petsc4py.PETSc``, initialized; a clear error naming the extra when petsc4py is missing."""
    try:
        import petsc4py
    except ImportError:
        raise MissingDependencyError("petsc", "petsc", "petsc4py") from None
    from petsc4py import PETSc

    return PETSc


@lru_cache(maxsize=1)
def clib() -> Any:
    """libpetsc through ctypes, for the few C functions petsc4py 3.18 does not wrap.

    dlsym on the petsc4py extension module also searches the libpetsc it links to. ``ctypes.CDLL``
    releases the GIL during a call, so a C function that calls back into Python (a ``PCPYTHON``'s
    ``destroy``) takes it again as usual.
    """
    return ctypes.CDLL(petsc().__file__)


def set_pc_failed(pc: Any, reason: int = PC_SETUP_ERROR) -> bool:
    """Mark ``pc`` as failed (``PCSetFailedReason``), so that KSP stops with ``DIVERGED_PC_FAILED``.

    petsc4py 3.18 has no wrapper for it, hence ctypes; returns False where the symbol is not found.
    """
    try:
        fn = clib().PCSetFailedReason
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn(ctypes.c_void_p(pc.handle), int(reason)) == 0
