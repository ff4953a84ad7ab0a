"""When a tuner over a configuration space decides: once per reuse cycle (a *stretch*) or at every step.

Shared by :class:`bandits.Tuner` and :class:`bandits.petsc.KSPTuner`, so that both run the same rule.
"""
from __future__ import annotations

from typing import Any

from solvers import InvalidInputError

__all__ = ["Stretches", "DECIDE"]

#: ``"build"``: one decision per reuse cycle; ``"step"``: one decision per step
DECIDE = ("build", "step")


class Stretches:
    """The stretches a tuner's choices run.

    With ``decide="build"`` a chosen configuration runs from a fresh preconditioner until its reuse rule
    rebuilds, and the policy learns the stretch's mean cost per step: what the rule costs as a whole,
    set-up and aging preconditioner included. A stretch is cut at ``max_stretch`` steps (a new stretch of
    the same configuration then keeps the build), or after any step once its mean cost per step is more
    than twice the lowest mean of a completed stretch, so that exploring a poor configuration costs one
    step, not a whole reuse cycle. With ``decide="step"`` every step is a stretch of its own, on whatever
    build the configurations sharing its preconditioner left.

    Examples
    --------
    >>> s = Stretches("build")
    >>> s.arm is None                    # between stretches: the policy chooses
    True
    >>> s.begin(2)                       # a stretch starts on a fresh build
    True
    >>> s.book(10.0, due=False), s.book(14.0, due=True)   # the rule rebuilds after the second step
    (None, 12.0)
    >>> s.arm, s.best
    (None, 12.0)
    >>> _ = s.begin(0); s.book(30.0, due=False)           # more than twice the best stretch: cut
    30.0
    >>> s.begin(0)                       # the same configuration again: its build is kept
    False
    """

    def __init__(self, decide: str = "step", max_stretch: int = 10):
        if decide not in DECIDE:
            raise InvalidInputError(f"decide must be 'build' or 'step', got {decide!r}")
        if int(max_stretch) < 1:
            raise InvalidInputError(f"max_stretch must be at least 1, got {max_stretch!r}")
        self.decide, self.max_stretch = decide, int(max_stretch)
        #: the stretch in progress, ``{"arm", "steps", "charged"}``, or None between stretches
        self.current: dict[str, Any] | None = None
        #: the arm of the last stretch if it was cut (its build may be kept by the next one)
        self.cut_arm: int | None = None
        #: the lowest mean cost per step of a completed stretch so far
        self.best = float("inf")

    @property
    def arm(self) -> int | None:
        """The configuration of the stretch in progress; None when the policy is to choose."""
        return None if self.current is None else int(self.current["arm"])

    @property
    def steps(self) -> int:
        """Steps the stretch in progress has run (0 between stretches)."""
        return 0 if self.current is None else int(self.current["steps"])

    def begin(self, arm: int) -> bool:
        """Start a stretch of ``arm``; returns whether it must start on a fresh build (with
        ``decide="build"``, unless it goes on with the build of a cut stretch of the same arm)."""
        self.current = {"arm": int(arm), "steps": 0, "charged": 0.0}
        return self.decide == "build" and arm != self.cut_arm

    def book(self, charged: float, due: bool) -> float | None:
        """Book a step of the stretch in progress at cost ``charged``; ``due``: whether its rule rebuilds at
        the next step. Returns the stretch's mean cost per step when it ends here (what the policy learns),
        else None."""
        cur = self.current
        cur["steps"] += 1
        cur["charged"] += float(charged)
        mean = cur["charged"] / cur["steps"]
        cut = self.decide == "build" and not due and (cur["steps"] >= self.max_stretch or mean > 2 * self.best)
        if not (self.decide == "step" or due or cut):
            return None
        if not cut:
            self.best = min(self.best, mean)
        self.current, self.cut_arm = None, (cur["arm"] if cut else None)
        return mean

    def kept_credits(self, sunk: Any) -> Any:
        """The sunk set-up credits (:func:`bandits.reuse.sunk_setups`) that hold for the next choice: all
        of them with ``decide="step"``; with ``"build"`` only the cut stretch's arm's, as every other
        choice starts its stretch on a fresh build (:meth:`begin`), whatever is kept.

        Examples
        --------
        >>> import numpy as np
        >>> s = Stretches("build", max_stretch=1)
        >>> s.kept_credits(np.array([0.1, 0.2])).tolist()                   # no stretch cut yet
        [0.0, 0.0]
        >>> _ = s.begin(1); _ = s.book(1.0, due=False)                     # cut at max_stretch
        >>> s.kept_credits(np.array([0.1, 0.2])).tolist()
        [0.0, 0.2]
        >>> Stretches("step").kept_credits(np.array([0.1, 0.2])).tolist()
        [0.1, 0.2]
        """
        if self.decide == "step":
            return sunk
        out = sunk * 0.0
        if self.cut_arm is not None:
            out[self.cut_arm] = sunk[self.cut_arm]
        return out

    def rescale(self, factor: float) -> None:
        """Take the costs booked so far as ``factor`` times larger (a tuner re-mapped to a problem of another
        size, :class:`bandits.remap.RemapState`): the best stretch's mean and the stretch in progress."""
        self.best *= float(factor)
        if self.current is not None:
            self.current["charged"] *= float(factor)

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state (a tuner's file holds it)."""
        return {"decide": self.decide, "max_stretch": self.max_stretch, "current": self.current,
                "cut_arm": self.cut_arm, "best": None if self.best == float("inf") else self.best}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> "Stretches":
        """The stretches :meth:`state_dict` saved; ``None`` (a file written before stretches existed):
        decisions at every step, as then."""
        if state is None:
            return cls("step")
        out = cls(state["decide"], state["max_stretch"])
        out.current, out.cut_arm = state["current"], state["cut_arm"]
        out.best = float("inf") if state["best"] is None else float(state["best"])
        return out
