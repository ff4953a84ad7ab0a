"""Keep PETSc's finalization away from the Python callbacks of our ``-pc_type python`` contexts.

Why this exists (petsc4py 3.18 and later): a petsc4py object that Python frees without an explicit
``destroy()`` is not destroyed at once; ``PetscObjectDelayedDestroy`` stashes it in PETSc's garbage,
keyed by its communicator. petsc4py runs ``PetscFinalize`` from ``Py_AtExit``, that is *after* the
interpreter is gone, and ``PetscFinalize`` empties the garbage of ``PETSC_COMM_WORLD``. A KSP that a
program kept in a module-level variable is freed during the interpreter's teardown, lands in that
garbage, and its ``PCPYTHON`` is then reset and destroyed by ``PetscFinalize``: ``PCReset_Python``
acquires the GIL of an interpreter that no longer exists and the process dies with ``SEGV``
(``MPI_ABORT ... errorcode 59``). A C-only preconditioner (``-pc_type gamg``) has no callback and
exits cleanly.

The cure is to leave no ``PCPYTHON`` of ours for ``PetscFinalize`` to destroy: every PC that holds a
:class:`~solvers.petsc.RegistryPC` is recorded here (by handle, so that nothing keeps the PC alive),
and a Python ``atexit`` hook, which runs while the interpreter is intact, switches each PC still
alive to ``PCNONE``. ``PCSetType`` destroys the Python context right then, with Python alive; what
PETSc destroys later is a plain C object. A program that destroys its objects itself has nothing
left here, and the hook does nothing.
"""
from __future__ import annotations

import atexit
import ctypes
import logging
import threading
from typing import Any

from ._lib import clib, petsc

__all__ = ["attach", "detach", "attached", "release_all"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
#: PC handle -> number of our contexts attached to it (1 in practice)
_ATTACHED: dict[int, int] = {}
_hook_registered = False


def attach(pc: Any) -> None:
    """Record that ``pc`` now runs one of our Python contexts (called from the context's ``create``)."""
    global _hook_registered
    with _lock:
        _ATTACHED[int(pc.handle)] = _ATTACHED.get(int(pc.handle), 0) + 1
        if not _hook_registered:
            atexit.register(release_all)
            _hook_registered = True


def detach(pc: Any) -> None:
    """Forget ``pc`` (called from the context's ``destroy``, i.e. when PETSc drops the context)."""
    with _lock:
        handle = int(pc.handle)
        count = _ATTACHED.get(handle, 0) - 1
        if count > 0:
            _ATTACHED[handle] = count
        else:
            _ATTACHED.pop(handle, None)


def attached() -> tuple[int, ...]:
    """Handles of the PCs that still hold one of our contexts.

    Examples
    --------
    >>> from solvers.petsc.lifecycle import attached
    >>> isinstance(attached(), tuple)
    True
    """
    with _lock:
        return tuple(_ATTACHED)


def release_all() -> int:
    """Turn every PC that still runs one of our contexts into ``PCNONE``; returns how many.

    Registered with :mod:`atexit` on first use, so that a program that never calls ``destroy()`` exits
    cleanly; safe to call by hand (for instance before an explicit ``PETSc._finalize()``). A PC
    released this way no longer preconditions: call it only when the solves are over.
    """
    handles = attached()
    if not handles:
        return 0
    PETSc = petsc()
    if not PETSc.Sys.isInitialized() or PETSc.Sys.isFinalized():
        return 0
    fn = clib().PCSetType
    fn.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    fn.restype = ctypes.c_int
    released = 0
    for handle in handles:
        # PCSetType runs PCDestroy_Python now, which calls our context's destroy() and so detach()
        if fn(ctypes.c_void_p(handle), b"none") == 0:
            released += 1
        else:  # pragma: no cover - PETSc refused; leave the record, nothing else can be done at exit
            log.warning("could not release PETSc PC %#x before PETSc finalizes", handle)
        with _lock:
            _ATTACHED.pop(handle, None)
    log.debug("released %d PETSc PC(s) holding a solverkit context before PETSc finalizes", released)
    return released
