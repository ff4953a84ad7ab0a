"""Tsallis-INF (alpha = 1/2) and its discretized-context variant, as in Khodak et al. (ICLR 2024)."""
from __future__ import annotations

import numpy as np

from .base import Policy, SamplingPolicy

__all__ = ["TsallisINF", "BinnedTsallisINF", "tsallis_probabilities"]


def tsallis_probabilities(cum_loss: np.ndarray, eta: float, iterations: int = 20) -> np.ndarray:
    """``p_i = 4 / (eta (L_i - x))^2`` with the normalizer ``x`` found by Newton's method on ``sum p = 1``.

    Examples
    --------
    >>> p = tsallis_probabilities(np.array([0.0, 5.0, 50.0]), eta=1.0)
    >>> bool(abs(p.sum() - 1) < 1e-9 and p[0] > p[1] > p[2])
    True
    """
    x = float(np.min(cum_loss)) - 2.0 / eta  # start left of every loss so that p stays positive
    for _ in range(iterations):
        p = 4.0 / (eta * (cum_loss - x)) ** 2
        x -= (p.sum() - 1.0) / (eta * np.sum(p ** 1.5))
    p = 4.0 / (eta * (cum_loss - x)) ** 2
    return p / p.sum()


class TsallisINF(SamplingPolicy):
    """Tsallis-INF with learning rate ``2 / sqrt(t)`` and importance-weighted loss estimates.

    As in the authors' code, the loss fed to the estimate is ``loss - 1`` (one iteration is the least
    a solve can cost) and cumulative estimates are divided by the running mean of ``loss - 1``, which
    makes the policy invariant to the scale of the costs.

    Examples
    --------
    >>> pol = TsallisINF(3, seed=0)
    >>> for _ in range(300):
    ...     arm = pol.select()
    ...     pol.update(arm, [50.0, 20.0, 80.0][arm])
    >>> int(np.argmax(pol.probabilities()))
    1
    """

    name = "tsallis-inf"
    _state_fields = ("cum_estimate", "loss_sum", "last_prob")

    def __init__(self, n_arms: int, *, seed: int | None = None, context_range=None):
        super().__init__(n_arms, seed=seed)
        self.cum_estimate = np.zeros(self.n_arms)
        self.loss_sum = 0.0
        self.last_prob = 1.0 / self.n_arms

    def probabilities(self) -> np.ndarray:
        eta = 2.0 / np.sqrt(self.t + 1)
        mean = self.loss_sum / self.t - 1.0 if self.t else 1.0
        scale = mean if mean > 0 else 1.0
        return tsallis_probabilities(self.cum_estimate / scale, eta)

    def update(self, arm: int, loss: float) -> None:
        self._check_update(arm, loss)
        self.loss_sum += float(loss)
        self.cum_estimate[arm] += (float(loss) - 1.0) / self.last_prob
        self.t += 1


class BinnedTsallisINF(Policy):
    """The discretized-context baseline: the context interval cut into ``bins`` equal bins, one
    independent Tsallis-INF in each (the paper's Tsallis-INF-CB).

    Examples
    --------
    >>> pol = BinnedTsallisINF(2, bins=2, context_range=(0.0, 1.0), seed=0)
    >>> for t in range(400):
    ...     c = t % 2 * 0.9
    ...     arm = pol.select(c)
    ...     pol.update(arm, 10.0 + (5.0 if (arm == 0) == (c > 0.5) else 0.0))
    >>> int(pol.select(0.1)), int(pol.select(0.9))
    (0, 1)
    """

    name = "binned-tsallis-inf"
    contextual = True

    def __init__(self, n_arms: int, *, bins: int = 5, seed: int | None = None, context_range=None):
        super().__init__(n_arms, seed=seed, context_range=context_range)
        seeds = np.random.SeedSequence(seed).spawn(int(bins))
        self.learners = [TsallisINF(n_arms, seed=int(s.generate_state(1)[0])) for s in seeds]
        lo, hi = self.context_range
        self.centres = lo + (hi - lo) * (np.arange(bins) + 0.5) / bins
        self.active = 0

    def select(self, context: float | None = None) -> int:
        c = self._check_context(context)
        self.active = int(np.argmin(np.abs(self.centres - c)))
        return self.learners[self.active].select()

    def update(self, arm: int, loss: float) -> None:
        self._check_update(arm, loss)
        self.learners[self.active].update(arm, loss)
        self.t += 1

    def state_dict(self):
        state = super().state_dict()
        state["active"] = self.active
        state["learners"] = [learner.state_dict() for learner in self.learners]
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.active = int(state["active"])
        for learner, s in zip(self.learners, state["learners"]):
            learner.load_state_dict(s)
