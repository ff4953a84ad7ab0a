"""Capped exploration: how long a tuner lets a configuration it is trying solve before it stops it.

On a loop whose best step costs 0.2 s, one step of a configuration whose solve takes 3.8 s costs 18 steps
of the best: playing each arm of a 12-arm space once can cost more than the whole margin a tuner has
against the best fixed configuration (5 % of 300 steps is 15 steps). Algorithm configurators cap such
runs (*adaptive capping*, Hutter, Hoos, Leyton-Brown, Stützle, ParamILS, JAIR 2009): a trial stops once
it has taken longer than the incumbent by a margin, since by then it cannot win.

Here the incumbent is the configuration with the lowest recent mean charged cost per step, and a solve
of any other configuration is stopped once its solve phase has taken ``ratio`` times that cost
(:data:`DEFAULT_CAP`, 2, for :class:`bandits.petsc.KSPTuner`): a solve that alone takes twice the
incumbent's whole step, set-up included, has lost that step, and an arm that slow stays above the
incumbent unless the matrices change a great deal. Its capped step is charged as a failed solve (:data:`bandits.reuse.FAILED_SOLVE_FACTOR`, 10), i.e.
at 10 x ``ratio`` times the incumbent or more (20x at the default), far above the Thompson policy's
pruning bar (4x the cheapest), which keeps it out until the cheapest arm's cost rises about that much:
a capped or failed first play rules an arm out for the rest of a typical loop. The step is then finished by the incumbent
from the iterate reached. (Any step whose solve failed, the incumbent's own included, is finished by the
cheapest other configuration whose last step converged: :meth:`RecentCosts.incumbent` with ``exclude``.) Set-up is not capped (it cannot be interrupted, and a reuse rule spreads it
over the steps it serves). :class:`bandits.petsc.KSPTuner` stops the KSP through a monitor
(:mod:`bandits.petsc_cap`), by default; :class:`bandits.Tuner` stops solverkit's solvers through
:attr:`solvers.methods.base.Method.time_limit` (a deadline in the stopping rule: cg, fcg, bicgstab,
minres and amg test it at every iterate on the CPU, gmres at every restart; the compiled relaxation loops
and the CUDA CG run to their end) when made with ``cap=``.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Iterable

__all__ = ["RecentCosts", "DEFAULT_CAP", "check_cap"]

#: the default ratio of a capped solve's seconds to the incumbent's charged cost per step. Configurators
#: cap a challenger at a small multiple of the incumbent's time (SMAC3's adaptive capping: 1.2x); 2 leaves
#: room for a first solve slowed by a cold start. It was 4 (the Thompson policy's pruning ratio) until
#: paired runs of the PETSc loop (``examples/petsc/config_tuner_loop.py --size 512 --steps 300 --cap R``,
#: 2 ranks, seeds 0-2, both drifts, 2026-11-29) showed what the first tries cost: the capped tries of
#: SSOR and RegistryPC and their finishes took 7.9-16.5 median steps at 2 against 17.3-20.8 at 4, lower
#: in each of the 6 pairs, and no solve was capped after each arm's first try at either ratio. (A tuner file
#: saved without a ``cap``, before capping existed, now loads with 2.)
DEFAULT_CAP = 2.0


def check_cap(cap: float | None) -> float | None:
    """``cap`` as a tuner keeps it: ``None`` (no cap) or a cost ratio > 1 as a float; anything else raises
    :class:`solvers.InvalidInputError` (shared by :class:`bandits.Tuner`, :class:`bandits.petsc.KSPTuner`
    and the PETSc example's ``--cap``).

    >>> check_cap(2), check_cap(None)
    (2.0, None)
    """
    from solvers import InvalidInputError

    if cap is not None and not float(cap) > 1:
        raise InvalidInputError(f"cap must be a cost ratio > 1 (or None), got {cap}")
    return None if cap is None else float(cap)


class RecentCosts:
    """The last ``window`` charged costs of each configuration's own steps (a failed or capped one at its
    charged cost; finishes left out), for the incumbent, the budget of a capped solve and the
    configuration that finishes a step another one left unconverged.

    Examples
    --------
    >>> recent = RecentCosts(window=3)
    >>> for arm, cost in [(0, 1.0), (1, 0.2), (1, 0.3), (2, 5.0)]:
    ...     recent.add(arm, cost)
    >>> recent.incumbent()                  # a solve of arm 0 or 2 may then take 2 x 0.25 s (cap=2)
    (1, 0.25)
    >>> recent.incumbent(exclude=1)         # who finishes a step arm 1 fails
    (0, 1.0)
    >>> recent.add(0, 2.0, converged=False)
    >>> recent.incumbent(exclude=1)         # arm 0's last step failed: arm 2, dearer, converged
    (2, 5.0)
    >>> RecentCosts().incumbent() is None   # nothing to compare with yet: no cap
    True
    """

    def __init__(self, window: int = 10):
        self.window = int(window)
        self.costs: dict[int, deque[float]] = {}
        #: whether each configuration's last own step converged
        self.converged: dict[int, bool] = {}

    def add(self, arm: int, charged: float, converged: bool = True) -> None:
        """Book one completed step of ``arm`` at ``charged`` seconds (``converged``: its solve met the
        tolerance)."""
        self.costs.setdefault(int(arm), deque(maxlen=self.window)).append(float(charged))
        self.converged[int(arm)] = bool(converged)

    def mark_failed(self, arm: int) -> None:
        """``arm`` failed to finish another configuration's step: no finisher (nor incumbent) until one of
        its own steps converges again (its costs are not changed: the finish was not its choice)."""
        self.converged[int(arm)] = False

    @classmethod
    def from_history(cls, history: Iterable[dict[str, Any]], window: int = 10) -> "RecentCosts":
        """Rebuilt from a tuner's history (after :meth:`bandits.petsc.KSPTuner.load`): the entries that
        :func:`counts` keeps."""
        out = cls(window)
        for h in history:
            if counts(h):
                out.add(h["arm"], h["charged"], h.get("converged", True))
            elif h.get("fallback") and not h.get("converged", True):
                out.mark_failed(h["arm"])
        return out

    def incumbent(self, exclude: int | None = None) -> tuple[int, float] | None:
        """``(arm, mean charged cost)`` of the cheapest configuration on its recent steps among those whose
        last step converged (and other than ``exclude``); ``None`` where there is none."""
        arms = [a for a in self.costs if self.converged.get(a, True) and a != exclude]
        if not arms:
            return None
        arm = min(arms, key=lambda a: sum(self.costs[a]) / len(self.costs[a]))
        return arm, sum(self.costs[arm]) / len(self.costs[arm])

    def plan(self, arm: int, ratio: float | None) -> tuple[float | None, int | None]:
        """``(budget, finisher)`` of a step of ``arm``, read before the step joins these costs: the seconds
        its solve may take (``ratio`` times the incumbent's cost; ``None`` for the incumbent itself, before
        any step converged, or with no ``ratio``), and who finishes the step if that solve fails
        (``incumbent(exclude=arm)``'s arm, or ``None``). Shared by both tuners.

        >>> recent = RecentCosts()
        >>> recent.add(0, 1.0); recent.add(1, 0.25)
        >>> recent.plan(0, 4.0), recent.plan(1, 4.0), recent.plan(0, None)
        ((1.0, 1), (None, 0), (None, 1))
        """
        best, finisher = self.incumbent(), self.incumbent(exclude=arm)
        budget = None if ratio is None or best is None or best[0] == int(arm) else float(ratio) * best[1]
        return budget, None if finisher is None else finisher[0]


def counts(entry: dict[str, Any]) -> bool:
    """Whether a history entry is a step of its configuration's own (not the finish of another
    arm's step). Failed and capped steps count at their charged cost (ten times what they took), so an
    incumbent that starts failing loses its title."""
    return not entry.get("fallback") and "charged" in entry
