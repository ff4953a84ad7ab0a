"""A tuner re-mapped to another problem (``Tuner.load`` / ``KSPTuner.load`` with ``remap=True``).

The learned state serves as a prior for the new problem. With a time cost its scale does not carry over:
a 1024^2 step costs about four 512^2 steps. So at the first solve of the new problem the tuner scales what
it learned in cost units (the policy's statistics, the best stretch of ``decide="build"``) by
:func:`remap_cost_scale`, and its recent costs (the capping budgets) count from the new problem's first
step. Both tuners hold a :class:`RemapState`, saved in their files, so that a file saved between the load
and the first solve, or after it, goes on the same way.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RemapState", "remap_cost_scale"]


def remap_cost_scale(learned_on: dict[str, Any] | None, now: dict[str, Any]) -> float:
    """The factor by which a re-mapped tuner scales the costs it learned: the ratio of stored entries of
    the new systems to those learned on (of rows where either count is unknown), as the work of an optimal
    solver (multigrid) grows with them. The arms' relative costs are kept; an arm whose cost grows faster
    than that (IC, SSOR: more iterations on a finer grid) is corrected by the new problem's own solves.
    1.0 when nothing was recorded.

    Examples
    --------
    >>> remap_cost_scale({"n": 512 ** 2, "nnz": 5 * 512 ** 2}, {"n": 1024 ** 2, "nnz": 5 * 1024 ** 2})
    4.0
    >>> remap_cost_scale({"n": 400}, {"n": 1600, "nnz": None})
    4.0
    >>> remap_cost_scale(None, {"n": 100, "nnz": 460})
    1.0
    """
    if not learned_on:
        return 1.0
    if learned_on.get("nnz") and now.get("nnz"):
        return float(now["nnz"]) / float(learned_on["nnz"])
    if learned_on.get("n") and now.get("n"):
        return float(now["n"]) / float(learned_on["n"])
    return 1.0


@dataclass
class RemapState:
    """Where a tuner's current problem starts, and the scaling still to do.

    Attributes
    ----------
    start : int
        Index of the current problem's first entry in the tuner's history: the recent costs (capping
        budgets, finishers) are rebuilt from there, never from another problem's steps.
    pending : dict, optional
        The size learned on (``{"n", "nnz"}``), until the first solve of the new problem scales the costs.
    cost_scale : float
        The factor the policy's costs were scaled by at the last re-map (1.0: none, or the policy keeps its
        state, or the cost is iterations).

    Examples
    --------
    >>> from bandits.policies.simple import UCB
    >>> from bandits.stretch import Stretches
    >>> pol, stretches = UCB(2), Stretches("build")
    >>> pol.update(0, 1.0); pol.update(1, 2.0)
    >>> state = RemapState()
    >>> state.begin(history_length=2, learned_on={"n": 100, "nnz": 460})
    >>> state.apply({"n": 400, "nnz": 1840}, pol, stretches, cost="wall")
    >>> state.cost_scale, [float(m) for m in pol.means()], state.start, state.pending
    (4.0, [4.0, 8.0], 2, None)
    """

    start: int = 0
    pending: dict[str, Any] | None = None
    cost_scale: float = 1.0

    def begin(self, history_length: int, learned_on: dict[str, Any] | None) -> None:
        """The load of a re-mapped tuner: the new problem starts after ``history_length`` entries; its
        costs are scaled at its first solve against ``learned_on`` (or a scaling still pending)."""
        self.pending = learned_on if learned_on else self.pending
        self.start = int(history_length)

    def apply(self, now: dict[str, Any], policy: Any, stretches: Any, cost: str) -> None:
        """At the first solve of the new problem (size ``now``): scale the policy's and the stretches'
        costs (time costs only; iteration counts do not grow with the work per iteration)."""
        if self.pending is None:
            return
        factor = remap_cost_scale(self.pending, now)
        self.pending = None
        if cost == "iterations" or factor == 1.0:
            self.cost_scale = 1.0
            return
        stretches.rescale(factor)
        self.cost_scale = factor if policy.rescale_costs(factor) else 1.0

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> "RemapState":
        """The state :meth:`state_dict` saved; ``None`` (a file from before re-maps were recorded): the
        whole history is the current problem's."""
        return cls() if not state else cls(int(state["start"]), state.get("pending"), float(state["cost_scale"]))
