"""One KSP, many configurations: apply an arm of a :class:`~bandits.petsc_space.PetscSpace` to a KSP, clear
what the previous arm set, and keep or rebuild the preconditioner by the arm's reuse rule.

Options of the previous arm must not leak into the next: when the arm changes its KSP/PC (its
``pc_key``), every option any arm of the space sets is deleted from the options database (under the
KSP's prefix), the arm's options are written, and the KSP type is reset (``KSPPREONLY``) before
``KSPSetFromOptions``, so that it is made anew from the database. A configuration seen for the first time
gets a new PC (``PCNONE``, then its type and options from the database): a value such as
``-pc_sor_omega 1.5`` that an earlier arm wrote into a PCSOR does not survive in another configuration's
PCSOR. A configuration seen before gets its own PC back, with the options it was made with. The
program's own settings (tolerances, norm type, initial guess, options of its command line that no arm
sets) live in the KSP itself or in the database and are kept. Arms that differ only in their reuse rule
share the preconditioner, and each configuration keeps its own PC object while other arms play, as in
:class:`bandits.reuse.ConfigRunner`.

The preconditioner is kept through ``KSPSetReusePreconditioner`` (``PCSetReusePreconditioner``, which is
what it calls): PETSc then does not set the PC up again on the new matrix of the step.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .petsc_space import PetscSpace
from .reuse import KeptPreconditioner, sunk_setups

__all__ = ["KSPConfigurator"]


@dataclass
class _Kept(KeptPreconditioner):
    """One configuration's preconditioner (a PETSc PC object), and what it has cost since it was built."""

    pc: Any = None


class KSPConfigurator:
    """Applies the arms of ``space`` to a KSP, one solve after the other, keeping one PC per
    configuration (its ``pc_key``; at most ``max_cached``, default 8, the least recently used destroyed:
    with 4, the fifth of ``petsc_family_space()``'s families dropped the first one's GAMG hierarchy,
    set up again at 0.3 s when it came back).

    Switching arms swaps the KSP's PC (``KSPSetPC``) rather than re-typing one PC, so that a hierarchy
    built for one configuration survives the steps another one plays in between, as in
    :class:`bandits.reuse.ConfigRunner`. Without that, every switch of a per-step tuner destroyed the
    other configuration's set-up, and an arm with ``rebuild=10`` that came back paid a full set-up
    while being charged a tenth of one.

    The bookkeeping of the reuse rules (the preconditioner's age, its set-up time, the extra solve time it
    has cost) is fed with the same numbers on every rank (iterations, and times reduced with max), so it
    is the same everywhere; :class:`~bandits.petsc.KSPTuner` still takes the decision on rank 0 and
    broadcasts it. PCs are created and destroyed in the same order on every rank (collective calls);
    :meth:`release` destroys the ones not in the KSP.

    Examples
    --------
    >>> from bandits.petsc_space import PetscSpace
    >>> space = PetscSpace.grid("cg", "gamg", rebuild=[1, 3])
    >>> run = KSPConfigurator(space)
    >>> run.rebuild_needed(1), run.step        # nothing is built yet
    (True, 0)
    >>> applied = run.apply(ksp, 1, True)     # doctest: +SKIP
    >>> applied["pc_type"], applied["reuse"]  # doctest: +SKIP
    ('gamg', False)
    """

    def __init__(self, space: PetscSpace, max_cached: int = 8):
        self.space = space
        self.keys = space.option_keys()
        self.max_cached = max(int(max_cached), 1)
        #: pc_key -> its PC and bookkeeping, least recently used first
        self.cache: OrderedDict[str, _Kept] = OrderedDict()
        #: the pc_key whose PC is in the KSP now
        self.current: str | None = None
        self.step = 0

    def rebuild_needed(self, arm: int) -> bool:
        """Whether arm ``arm`` must set its preconditioner up on the next matrix: none is kept for its
        configuration, or the kept one is ``rebuild`` steps old, or (``"amortized"``) the extra solve time
        it has cost since it was built has reached its set-up time."""
        config = self.space[arm]
        entry = self.cache.get(config.pc_key)
        return entry is None or entry.due(config.rebuild, self.step)

    def sunk_setups(self) -> np.ndarray:
        """Each arm's set-up share already paid if it plays the next step: its PC is kept and not due
        (:func:`bandits.reuse.sunk_setups`; the same on every rank, but only rank 0's policy uses it)."""
        return sunk_setups(self.space, self.cache, self.step)

    def make_current(self, key: str) -> tuple[_Kept, bool, list[_Kept]]:
        """The bookkeeping half of :meth:`apply` (no PETSc call): configuration ``key``'s entry becomes the
        current one (a new, empty entry when none is kept); returns it, whether it is new, and the entries
        dropped to stay within ``max_cached`` (least recently used; never the current one), whose PCs the
        caller destroys."""
        entry = self.cache.get(key)
        new = entry is None
        if new:
            entry = self.cache[key] = _Kept()
        self.current = key
        self.cache.move_to_end(key)
        dropped = []
        while len(self.cache) > self.max_cached:
            dropped.append(self.cache.pop(next(iter(self.cache))))
        return entry, new, dropped

    def apply(self, ksp: Any, arm: int, rebuild: bool) -> dict[str, Any]:
        """Set arm ``arm`` on ``ksp`` (collective); returns what is in effect: the KSP and PC types, whether
        the PC is kept, and the space's options as the database now holds them."""
        from solvers.petsc._lib import petsc

        PETSc = petsc()
        config = self.space[arm]
        db = PETSc.Options(ksp.getOptionsPrefix())
        if config.pc_key != self.current:
            first = self.current is None
            A, P = ksp.getOperators()
            entry, new, dropped = self.make_current(config.pc_key)
            for key in self.keys:
                if db.hasName(key):
                    db.delValue(key)
            for key, value in self.space.petsc_options(arm).items():
                db.setValue(key, value)
            if new:
                if first:  # the program's own PC becomes the first configuration's
                    entry.pc = ksp.getPC()
                else:
                    entry.pc = PETSc.PC().create(ksp.getComm())
                    entry.pc.setOptionsPrefix(ksp.getOptionsPrefix())
                    ksp.setPC(entry.pc)
                entry.pc.setType("none")  # drop whatever type and values it had: made anew from the options
                rebuild = True
            else:
                ksp.setPC(entry.pc)
            ksp.setOperators(A, P)  # the step's matrix, for the PC now in the KSP
            ksp.setType("preonly")  # drop the data of the previous KSP type (a restart length ...)
            ksp.setFromOptions()  # the KSP type and, for a new PC, its type and options
            for old in dropped:  # out of the KSP by now
                self._destroy(old.pc)
        else:
            self.cache.move_to_end(config.pc_key)
        pc = ksp.getPC()
        pc.setReusePreconditioner(not rebuild)
        applied: dict[str, Any] = {"ksp_type": ksp.getType(), "pc_type": pc.getType(), "reuse": not rebuild}
        applied.update({key: db.getString(key) for key in self.keys if db.hasName(key)})
        return applied

    @staticmethod
    def _destroy(pc: Any) -> None:
        if pc is None:
            return
        if pc.getType() == "python":  # our Python context goes while Python is alive (solvers.petsc.lifecycle)
            pc.setType("none")
        pc.destroy()

    def release(self) -> None:
        """Destroy every kept PC that is not in the KSP (collective: call it on every rank, e.g. through
        :meth:`bandits.petsc.TunedKSP.destroy`); the KSP's own PC goes with the KSP."""
        for key in [k for k in self.cache if k != self.current]:
            self._destroy(self.cache.pop(key).pc)

    def record(self, rebuilt: bool, setup_seconds: float, solve_seconds: float, iterations: int,
               rule: int | str, converged: bool = True, advance: bool = True) -> dict[str, Any]:
        """Book the solve just made (same numbers on every rank) under reuse ``rule`` (the arm's
        ``rebuild``; a solve that did not converge makes the PC due; ``advance=False``: another solve of
        the same step follows, as after a capped solve); returns whether the PC was built
        for it, its age in steps, and ``setup_charged``: the set-up seconds to charge this step (the
        build's time spread over the steps it serves, :meth:`~bandits.reuse.KeptPreconditioner.setup_share`)."""
        kept = self.cache[self.current]
        kept.record(rebuilt, self.step, setup_seconds, solve_seconds, iterations, converged)
        info = {"rebuilt": bool(rebuilt), "pc_age": self.step - kept.built_step,
                "setup_charged": kept.charged_setup(rule, rebuilt, setup_seconds)}
        self.step += int(bool(advance))
        return info

    def cycle_cost(self, rule: int | str, info: dict[str, Any], setup_seconds: float, cost: float) -> float:
        """The mean cost per step of the current configuration's reuse cycle under ``rule``
        (:meth:`~bandits.reuse.KeptPreconditioner.cycle_cost`), after the solve :meth:`record` just booked
        (``info``, its return) took ``cost`` in all, ``setup_seconds`` of it in ``KSPSetUp``. As
        :meth:`bandits.reuse.ConfigRunner.cycle_cost`: at a build the set-up is the build's (charged as its
        share), on a step that kept the PC it is the KSP's own set-up.

        Examples
        --------
        >>> from bandits.petsc_space import PetscSpace
        >>> run = KSPConfigurator(PetscSpace.grid("cg", "gamg", rebuild=[3]))
        >>> kept, _, _ = run.make_current(run.space[0].pc_key)
        >>> info = run.record(True, 0.3, 0.2, 10, rule=3)         # a build of 0.3 s, then 0.2 s of solve
        >>> round(run.cycle_cost(3, info, 0.3, 0.5), 6)          # 0.3 / 3 + 0.2 at every age
        0.3
        """
        kept = self.cache[self.current]
        own = 0.0 if info["rebuilt"] else float(setup_seconds)
        return kept.cycle_cost(rule, info["pc_age"], float(cost) - float(setup_seconds), kept.last_step, own)
