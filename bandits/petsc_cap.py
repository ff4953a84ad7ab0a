"""Stopping a PETSc solve that runs past its time budget, the same iterate on every rank
(:mod:`bandits.capping` says when and why).

A KSP monitor (added once, next to the program's own monitors) does nothing until :meth:`KSPSolveCap.arm`
gives it a budget. Then, at each iteration, it takes the solve's elapsed seconds, reduced with max over
the ranks - one ``MPI_Allreduce`` of a double, next to the two a CG iteration does anyway - so every rank
takes the same decision at the same iterate; past the budget it lowers the KSP's ``max_it`` to the
current iteration, and the Krylov loop ends there with ``KSP_DIVERGED_ITS`` (checked for CG, FCG, GMRES
and BiCGStab in PETSc 3.18). :meth:`KSPSolveCap.disarm` restores ``max_it``. PETSc offers no time limit
of its own to do this with.
"""
from __future__ import annotations

import time
from typing import Any

__all__ = ["KSPSolveCap"]


class KSPSolveCap:
    """The monitor that stops a capped solve.

    Examples
    --------
    >>> cap = KSPSolveCap()
    >>> cap.active, cap.hit
    (False, False)
    >>> cap.arm(ksp, budget=0.8)    # doctest: +SKIP
    >>> ksp.solve(b, x)             # doctest: +SKIP
    >>> stopped = cap.disarm(ksp)   # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._budget: float | None = None
        self._start = 0.0
        self._comm: Any = None
        self._max_it = 0
        #: the last armed solve was stopped by the cap
        self.hit = False

    @property
    def active(self) -> bool:
        return self._budget is not None

    def arm(self, ksp: Any, budget: float) -> None:
        """Give the next ``ksp.solve`` ``budget`` seconds from now (collective)."""
        from mpi4py import MPI

        if not any(entry[0] == self._monitor for entry in ksp.getMonitor() or ()):
            ksp.setMonitor(self._monitor)
        self._budget, self._start, self.hit = float(budget), time.perf_counter(), False
        self._comm, self._op = ksp.getComm().tompi4py(), MPI.MAX
        self._max_it = int(ksp.getTolerances()[3])

    def disarm(self, ksp: Any) -> bool:
        """End the armed solve: restore ``max_it``; returns whether the cap stopped it."""
        if self._budget is None:
            return False
        self._budget = None
        if self.hit:
            ksp.setTolerances(max_it=self._max_it)
        return self.hit

    def _monitor(self, ksp: Any, its: int, rnorm: float) -> None:
        if self._budget is None or its == 0 or self.hit:
            return
        elapsed = self._comm.allreduce(time.perf_counter() - self._start, op=self._op)
        if elapsed > self._budget:
            ksp.setTolerances(max_it=its)
            self.hit = True
