"""Baselines: a fixed arm, epsilon-greedy, UCB1 (for losses), and Exp3."""
from __future__ import annotations

import numpy as np

from solvers import InvalidInputError

from .base import Policy, SamplingPolicy

__all__ = ["Fixed", "EpsilonGreedy", "UCB", "Exp3"]


class Fixed(Policy):
    """Always the same arm (``arm``, default 0): the "best fixed value" and "omega = 1" baselines.

    Examples
    --------
    >>> Fixed(5, arm=3).select()
    3
    """

    name = "fixed"

    def __init__(self, n_arms: int, *, arm: int = 0, seed: int | None = None, context_range=None):
        super().__init__(n_arms, seed=seed)
        if not 0 <= arm < n_arms:
            raise InvalidInputError(f"fixed arm {arm} is outside 0..{n_arms - 1}")
        self.arm = int(arm)

    def select(self, context=None):
        return self.arm

    def update(self, arm, loss):
        self._check_update(arm, loss)
        self.t += 1


class _MeanTracker(Policy):
    _state_fields = ("counts", "sums")

    def __init__(self, n_arms, *, seed=None, context_range=None):
        super().__init__(n_arms, seed=seed)
        self.counts = np.zeros(self.n_arms)
        self.sums = np.zeros(self.n_arms)

    def update(self, arm, loss):
        self._check_update(arm, loss)
        self.counts[arm] += 1
        self.sums[arm] += float(loss)
        self.t += 1

    def means(self) -> np.ndarray:
        return np.divide(self.sums, self.counts, out=np.full(self.n_arms, np.inf), where=self.counts > 0)

    def rescale_costs(self, factor: float) -> bool:
        """Scale the summed costs by ``factor`` (every mean with them)."""
        _check_factor(factor)
        self.sums = self.sums * float(factor)
        return True

    def first_untried(self) -> int | None:
        """The lowest arm never played, or ``None``: both baselines play every arm once first."""
        untried = np.flatnonzero(self.counts == 0)
        return int(untried[0]) if untried.size else None


class EpsilonGreedy(_MeanTracker):
    """Explore uniformly with probability ``epsilon / sqrt(t)`` (decaying), else play the best mean.

    Examples
    --------
    >>> pol = EpsilonGreedy(3, seed=1)
    >>> for _ in range(200):
    ...     a = pol.select()
    ...     pol.update(a, [3.0, 1.0, 2.0][a])
    >>> int(np.argmin(pol.means()))
    1
    """

    name = "epsilon-greedy"

    def __init__(self, n_arms, *, epsilon: float = 0.5, seed=None, context_range=None):
        super().__init__(n_arms, seed=seed)
        if not 0 <= epsilon <= 1:
            raise InvalidInputError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = float(epsilon)

    def select(self, context=None):
        arm = self.first_untried()
        if arm is not None:
            return arm
        if self.rng.random() < self.epsilon / np.sqrt(self.t + 1):
            return int(self.rng.integers(self.n_arms))
        return int(np.argmin(self.means()))


class UCB(_MeanTracker):
    """UCB1 for losses: play the arm with the lowest ``mean - c * range * sqrt(2 ln t / n)``, the loss
    range being the spread of losses seen so far.

    Examples
    --------
    >>> pol = UCB(3)
    >>> for _ in range(300):
    ...     a = pol.select()
    ...     pol.update(a, [3.0, 1.0, 2.0][a])
    >>> int(np.argmax(pol.counts))
    1
    """

    name = "ucb"
    _state_fields = ("counts", "sums", "lo", "hi")

    def __init__(self, n_arms, *, c: float = 1.0, seed=None, context_range=None):
        super().__init__(n_arms, seed=seed)
        self.c = float(c)
        self.lo, self.hi = np.inf, -np.inf

    def select(self, context=None):
        arm = self.first_untried()
        if arm is not None:
            return arm
        spread = max(self.hi - self.lo, 1e-12)
        bonus = self.c * spread * np.sqrt(2.0 * np.log(self.t + 1) / self.counts)
        return int(np.argmin(self.means() - bonus))

    def update(self, arm, loss):
        super().update(arm, loss)
        self.lo, self.hi = min(self.lo, float(loss)), max(self.hi, float(loss))

    def rescale_costs(self, factor: float) -> bool:
        """Scale the summed costs and the range of costs seen by ``factor``."""
        super().rescale_costs(factor)
        self.lo, self.hi = self.lo * float(factor), self.hi * float(factor)
        return True


class Exp3(SamplingPolicy):
    """Exp3 with learning rate ``sqrt(2 ln K / (t K))`` on losses divided by the running maximum.

    Examples
    --------
    >>> pol = Exp3(3, seed=0)
    >>> for _ in range(2000):
    ...     a = pol.select()
    ...     pol.update(a, [3.0, 1.0, 2.0][a])
    >>> int(np.argmax(pol.probabilities()))
    1
    """

    name = "exp3"
    _state_fields = ("cum_estimate", "max_loss", "last_prob")

    def __init__(self, n_arms, *, seed=None, context_range=None):
        super().__init__(n_arms, seed=seed)
        self.cum_estimate = np.zeros(self.n_arms)
        self.max_loss = 0.0
        self.last_prob = 1.0 / self.n_arms

    def probabilities(self) -> np.ndarray:
        eta = np.sqrt(2.0 * np.log(max(self.n_arms, 2)) / ((self.t + 1) * self.n_arms))
        scale = self.max_loss if self.max_loss > 0 else 1.0
        w = -eta * self.cum_estimate / scale
        p = np.exp(w - w.max())
        return p / p.sum()

    def update(self, arm, loss):
        self._check_update(arm, loss)
        self.max_loss = max(self.max_loss, float(loss))
        self.cum_estimate[arm] += float(loss) / self.last_prob
        self.t += 1

    def rescale_costs(self, factor: float) -> bool:
        """Scale the cumulative loss estimates and the running maximum by ``factor`` (the probabilities,
        which divide one by the other, stay until new losses come)."""
        _check_factor(factor)
        self.cum_estimate = self.cum_estimate * float(factor)
        self.max_loss *= float(factor)
        return True


def _check_factor(factor: float) -> None:
    if not (np.isfinite(factor) and factor > 0):
        raise InvalidInputError(f"a cost scale must be a finite number > 0, got {factor}")
