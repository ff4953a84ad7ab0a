"""One KSP, many configurations: apply an arm of a :class:`~bandits.petsc_space.PetscSpace` to a KSP, clear
what the previous arm set, and keep or rebuild the preconditioner by the arm's reuse rule.

Options of the previous arm must not leak into the next: when the arm changes its KSP/PC (its
``pc_key``), every option any arm of the space sets is deleted from the options database (under the
KSP's prefix), the arm's options are written, and the KSP and PC types are reset (``PCNONE``, ``KSPPREONLY``)
before ``KSPSetFromOptions``, so that their objects are made anew from the database: a value such as
``-pc_sor_omega 1.5`` that an earlier arm wrote into a PCSOR does not survive in the next PCSOR. The
program's own settings (tolerances, norm type, initial guess, options of its command line that no arm
sets) live in the KSP itself or in the database and are kept. Arms that differ only in their reuse rule
share the preconditioner, as in :class:`bandits.reuse.ConfigRunner`.

The preconditioner is kept through ``KSPSetReusePreconditioner`` (``PCSetReusePreconditioner``, which is
what it calls): PETSc then does not set the PC up again on the new matrix of the step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .petsc_space import PetscSpace
from .reuse import KeptPreconditioner

__all__ = ["KSPConfigurator"]


@dataclass
class _Kept(KeptPreconditioner):
    """The preconditioner in the KSP now: which configuration built it (``key``), when, and what it has
    cost since."""

    key: str | None = None


class KSPConfigurator:
    """Applies the arms of ``space`` to a KSP, one solve after the other.

    The bookkeeping of the reuse rules (the preconditioner's age, its set-up time, the extra solve time it
    has cost) is fed with the same numbers on every rank (iterations, and times reduced with max), so it
    is the same everywhere; :class:`~bandits.petsc.KSPTuner` still takes the decision on rank 0 and
    broadcasts it.

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

    def __init__(self, space: PetscSpace):
        self.space = space
        self.keys = space.option_keys()
        self.kept = _Kept()
        self.step = 0

    def rebuild_needed(self, arm: int) -> bool:
        """Whether arm ``arm`` must set its preconditioner up on the next matrix: another configuration's
        PC is in the KSP (or none yet), or the kept one is ``rebuild`` steps old, or (``"amortized"``) the
        extra solve time it has cost since it was built has reached its set-up time."""
        config = self.space[arm]
        return self.kept.key != config.pc_key or self.kept.due(config.rebuild, self.step)

    def apply(self, ksp: Any, arm: int, rebuild: bool) -> dict[str, Any]:
        """Set arm ``arm`` on ``ksp`` (collective); returns what is in effect: the KSP and PC types, whether
        the PC is kept, and the space's options as the database now holds them."""
        from solvers.petsc._lib import petsc

        PETSc = petsc()
        config = self.space[arm]
        db = PETSc.Options(ksp.getOptionsPrefix())
        pc = ksp.getPC()
        if config.pc_key != self.kept.key:
            for key in self.keys:
                if db.hasName(key):
                    db.delValue(key)
            for key, value in self.space.petsc_options(arm).items():
                db.setValue(key, value)
            pc.setType("none")  # drop the previous arm's PC, and every value its options left in it
            ksp.setType("preonly")  # the same for the data of the KSP type (a restart length ...)
            ksp.setFromOptions()
            self.kept = _Kept(key=config.pc_key)
            rebuild = True
        pc.setReusePreconditioner(not rebuild)
        applied: dict[str, Any] = {"ksp_type": ksp.getType(), "pc_type": pc.getType(), "reuse": not rebuild}
        applied.update({key: db.getString(key) for key in self.keys if db.hasName(key)})
        return applied

    def record(self, rebuilt: bool, setup_seconds: float, solve_seconds: float, iterations: int,
               rule: int | str) -> dict[str, Any]:
        """Book the solve just made (same numbers on every rank) under reuse ``rule`` (the arm's
        ``rebuild``); returns whether the PC was built for it, its age in steps, and ``setup_charged``: the
        set-up seconds to charge this step (the build's time spread over the steps it serves,
        :meth:`~bandits.reuse.KeptPreconditioner.setup_share`)."""
        kept = self.kept
        kept.record(rebuilt, self.step, setup_seconds, solve_seconds, iterations)
        info = {"rebuilt": bool(rebuilt), "pc_age": self.step - kept.built_step,
                "setup_charged": kept.charged_setup(rule, rebuilt, setup_seconds)}
        self.step += 1
        return info
