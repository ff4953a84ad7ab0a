"""``RegistryPC``: any registered preconditioner as a PETSc ``-pc_type python`` plugin."""
from __future__ import annotations

import sys
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import registry
from ..errors import InvalidInputError
from ..options import coerce_value
from . import lifecycle
from ._lib import petsc, set_pc_failed

__all__ = ["RegistryPC"]


class RegistryPC:
    """The Python context of a PETSc ``PCPYTHON`` that applies a solverkit preconditioner.

    Options (with the PC's prefix): ``-registry_pc_type NAME`` (any name in ``solverkit list``, default
    ``amg``) and ``-registry_pc_<option> VALUE`` for that preconditioner's options
    (``-registry_pc_omega 1.5``, ``-registry_pc_amg_type rs`` ...).

    On several MPI ranks each rank applies the preconditioner to its diagonal block of the matrix, as
    PETSc's block Jacobi does (so the preconditioner is block diagonal and changes with the number of
    ranks); a component that declares ``block_jacobi_safe = False`` (one that needs the whole grid) is
    refused there with a clear message. A set-up failure is reported through PETSc: the PC is marked
    failed and KSP returns ``DIVERGED_PC_FAILED``; the rank keeps running.

    Life cycle: PETSc sets the component up again whenever the PC's matrix changes (``setOperators``
    with a new matrix, or new values in the same one) or after ``pc.reset()``, and when one of its
    options changes in the options database followed by ``setFromOptions`` (a tuner's omega).
    ``view()`` (``-ksp_view``) prints the component, its options and its set-up state. A program may
    leave its KSP to Python's garbage collector: every PC holding this context is released before
    PETSc finalizes (:mod:`solvers.petsc.lifecycle`), so the process exits cleanly.

    Examples
    --------
    From the command line of any petsc4py program that calls ``ksp.setFromOptions()``::

        mpiexec -n 2 python prog.py -ksp_type fcg -pc_type python \\
            -pc_python_type solvers.petsc.RegistryPC -registry_pc_type amg

    From Python (``pc.setPythonContext`` works too):

    >>> from petsc4py import PETSc                                   # doctest: +SKIP
    >>> pc = PETSc.PC().createPython(RegistryPC(), comm=PETSc.COMM_SELF)  # doctest: +SKIP
    """

    def __init__(self, name: str | None = None, **options: Any):
        self.name = name
        self.options = dict(options)
        self.component: Any = None
        self.error: str | None = None
        self.n_local = -1
        self.setups = 0
        self.stale = False

    # -- PETSc's Python-context protocol ----------------------------------------------------------
    def create(self, pc: Any) -> None:
        self.component = None
        lifecycle.attach(pc)  # so that PETSc never has to call back into a finalized interpreter

    def setFromOptions(self, pc: Any) -> None:  # noqa: N802 - PETSc's name
        PETSc = petsc()
        opts = PETSc.Options(pc.getOptionsPrefix())
        name = opts.getString("registry_pc_type", self.name or "amg")
        factory = registry.get("pc", name)  # UnknownComponentError says what exists
        options = {} if name != self.name else dict(self.options)
        for key, default in getattr(factory, "defaults", {}).items():
            if opts.hasName(f"registry_pc_{key}"):
                options[key] = _typed(opts.getString(f"registry_pc_{key}"), default, key)
        changed = (name, options) != (self.name, self.options)
        self.name, self.options = name, options
        if changed and self.component is not None:
            # PETSc sets a PC up again only when its matrix changes: a new option (a tuner's omega) on
            # the same matrix would otherwise never reach the component. Rebuilt at the next apply
            # unless a new matrix makes PETSc call setUp first.
            self.stale = True

    def setUp(self, pc: Any) -> None:  # noqa: N802 - called by PCSetUp on a new matrix or new values
        try:
            if self.name is None:
                self.setFromOptions(pc)
            factory = registry.get("pc", self.name)
            _, P = pc.getOperators()
            size = P.getComm().getSize()
            if size > 1 and not getattr(factory, "block_jacobi_safe", True):
                raise InvalidInputError(f"preconditioner {self.name!r} needs the whole operator and cannot run on "
                                        f"{size} MPI ranks as a block-Jacobi plug-in; run it on one rank")
            local = P.getDiagonalBlock() if size > 1 else P
            self.component = None
            component = factory(**self.options)
            matrix = _to_scipy(local)
            if getattr(factory, "wants_grid", False):  # a learned pc: rebuild the grid from the DMDA
                matrix = _grid_of(P, matrix)
            component.setup(matrix)
            self.component = component
            self.stale = False
            self.n_local = local.getSize()[0]
            self.setups += 1
            self.error = None
        except Exception as exc:  # reported through PETSc, not as a traceback that kills the rank
            self.component = None
            self.error = f"{type(exc).__name__}: {exc}"
            rank = pc.getComm().getRank()
            print(f"solverkit RegistryPC({self.name}) set-up failed on rank {rank}: {self.error}", file=sys.stderr,
                  flush=True)
            set_pc_failed(pc)

    def apply(self, pc: Any, x: Any, y: Any) -> None:
        if self.stale:
            self.setUp(pc)
        if self.component is None:  # failed set-up: NaN plus the failed flag -> KSP_DIVERGED_PC_FAILED
            set_pc_failed(pc)
            y.set(np.nan)
            return
        r = x.getArray(readonly=True)
        if r.shape[0] != self.n_local:
            raise InvalidInputError(f"RegistryPC({self.name}): vector has {r.shape[0]} local entries, the matrix "
                                    f"block {self.n_local} rows")
        y.getArray()[:] = self.component.apply(np.asarray(r))

    def applyTranspose(self, pc: Any, x: Any, y: Any) -> None:  # noqa: N802
        if not getattr(self.component, "symmetric", False):
            raise InvalidInputError(f"RegistryPC({self.name}) has no transpose")
        self.apply(pc, x, y)

    def view(self, pc: Any, viewer: Any) -> None:
        """What ``-ksp_view`` / ``pc.view()`` print: the component, its options and its set-up state."""
        for line in self.describe():
            viewer.printfASCII(f"  {line}\n")

    def reset(self, pc: Any) -> None:
        self.component = None  # PCReset also clears PETSc's set-up flag: the next solve sets up again
        self.n_local = -1
        self.stale = False

    def destroy(self, pc: Any) -> None:
        self.component = None
        self.n_local = -1
        self.stale = False
        lifecycle.detach(pc)

    # -- ours -------------------------------------------------------------------------------------
    def describe(self) -> list[str]:
        """The lines :meth:`view` prints.

        Examples
        --------
        >>> RegistryPC("ssor", omega=1.3).describe()[:2]
        ["solverkit registry preconditioner 'ssor' (omega=1.3)", 'options in effect: its=1, omega=1.3']
        """
        given = ", ".join(f"{k}={v}" for k, v in sorted(self.options.items())) or "defaults"
        lines = [f"solverkit registry preconditioner {self.name!r} ({given})"]
        try:
            defaults = dict(getattr(registry.get("pc", self.name), "defaults", {})) if self.name else {}
        except Exception:  # an unknown name: setFromOptions/setUp report it
            defaults = {}
        effective = {**defaults, **self.options}
        if effective:
            lines.append("options in effect: " + ", ".join(f"{k}={v}" for k, v in sorted(effective.items())))
        if self.component is not None:
            lines.append(f"set up {self.setups} time(s); component {type(self.component).__name__} on "
                         f"{self.n_local} local rows")
        else:
            lines.append("not set up")
        if self.error:
            lines.append(f"set-up failed: {self.error}")
        return lines


def _grid_of(P: Any, matrix: sp.csr_matrix) -> Any:
    from ..grid import GridOperator

    dm = P.getDM() if hasattr(P, "getDM") else None
    if dm is None or not hasattr(dm, "getSizes"):
        raise InvalidInputError("this preconditioner needs the grid: create the matrix from a DMDA "
                                "(da.createMatrix()) so that its shape is known")
    sizes = tuple(dm.getSizes())
    return GridOperator.from_csr(matrix, tuple(reversed(sizes)))  # DMDA numbers x fastest


def _to_scipy(mat: Any) -> sp.csr_matrix:
    indptr, indices, data = mat.getValuesCSR()
    return sp.csr_matrix((data, indices, indptr), shape=mat.getSize())


def _typed(text: str, default: Any, key: str) -> Any:
    """An option string converted to the type of the option's default."""
    if isinstance(default, bool):
        return coerce_value(text) if text else True
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            return type(default)(float(text)) if isinstance(default, float) else int(text)
        except ValueError:
            raise InvalidInputError(f"-registry_pc_{key} must be a number, got {text!r}") from None
    return text
