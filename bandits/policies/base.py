"""The policy protocol: ``select(context=None) -> arm``, ``update(arm, loss)``, ``state_dict()``."""
from __future__ import annotations

from typing import Any

import numpy as np

from solvers import InvalidInputError

__all__ = ["Policy", "SamplingPolicy", "rng_state", "set_rng_state"]


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    return rng.bit_generator.state


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = state


class Policy:
    """Base class of arm-choosing policies over ``n_arms`` arms, minimizing losses (costs).

    Subclasses implement ``select`` and ``update`` and list their learned state in ``_state_fields``
    (numpy arrays or plain numbers) so that ``state_dict()`` / ``load_state_dict()`` round-trip exactly:
    a resumed policy makes the same choices as one that never stopped.
    """

    name = ""
    contextual = False
    _state_fields: tuple[str, ...] = ()

    def __init__(self, n_arms: int, *, seed: int | None = None, context_range: tuple[float, float] | None = None):
        if int(n_arms) < 1:
            raise InvalidInputError(f"a policy needs at least one arm, got {n_arms}")
        self.n_arms = int(n_arms)
        self.rng = np.random.default_rng(seed)
        self.t = 0  # rounds completed
        if self.contextual:
            if context_range is None or not context_range[0] < context_range[1]:
                raise InvalidInputError(f"{self.name} is contextual: give context_range=(low, high) with low < high")
        self.context_range = None if context_range is None else (float(context_range[0]), float(context_range[1]))

    def select(self, context: float | None = None) -> int:
        raise NotImplementedError

    def update(self, arm: int, loss: float) -> None:
        raise NotImplementedError

    def _check_update(self, arm: int, loss: float) -> None:
        if not 0 <= arm < self.n_arms:
            raise InvalidInputError(f"arm {arm} is outside 0..{self.n_arms - 1}")
        if not np.isfinite(loss):
            raise InvalidInputError(f"loss must be finite, got {loss}")

    def _check_context(self, context: float | None) -> float:
        if not self.contextual:
            return 0.0
        if context is None or not np.isfinite(context):
            raise InvalidInputError(f"{self.name} needs a finite context for every instance, got {context!r}")
        return float(context)

    def state_dict(self) -> dict[str, Any]:
        state = {"name": self.name, "n_arms": self.n_arms, "t": self.t, "rng": rng_state(self.rng)}
        for f in self._state_fields:
            v = getattr(self, f)
            state[f] = v.tolist() if isinstance(v, np.ndarray) else v
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name or state.get("n_arms") != self.n_arms:
            raise InvalidInputError(f"state is for {state.get('name')!r} with {state.get('n_arms')} arms, "
                                    f"not {self.name!r} with {self.n_arms}")
        self.t = int(state["t"])
        set_rng_state(self.rng, state["rng"])
        for f in self._state_fields:
            cur = getattr(self, f)
            setattr(self, f, np.asarray(state[f], dtype=cur.dtype) if isinstance(cur, np.ndarray) else state[f])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_arms={self.n_arms}, t={self.t})"


class SamplingPolicy(Policy):
    """A policy that draws its arm from ``probabilities()`` and remembers the drawn arm's probability
    (``last_prob``) for the importance-weighted update (Tsallis-INF, Exp3)."""

    last_prob: float

    def probabilities(self) -> np.ndarray:
        raise NotImplementedError

    def select(self, context: float | None = None) -> int:
        p = self.probabilities()
        arm = int(self.rng.choice(self.n_arms, p=p))
        self.last_prob = float(p[arm])
        return arm
