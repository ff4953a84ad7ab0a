"""ChebCB: the paper's contextual bandit (SquareCB-style inverse-gap weighting over per-arm Chebyshev
regressions of the cost on a scalar context)."""
from __future__ import annotations

import numpy as np
from numpy.polynomial import chebyshev
from scipy.optimize import lsq_linear

from .base import Policy

__all__ = ["ChebCB"]


class ChebCB(Policy):
    """Contextual bandit for a one-dimensional context in ``context_range``.

    Each arm's cost is modelled as a Chebyshev series of degree ``degree`` in the context (mapped to
    [-1, 1]), fitted by least squares on the rounds where the arm was played, with the coefficient bounds
    that the paper's regret analysis uses (bounded least squares when the plain fit leaves them). Arms
    are drawn with inverse-gap weighting ``p_i = 1 / (K + eta (yhat_i - yhat_min))``, ``eta`` growing
    with ``t`` as in the authors' code. Costs are normalized by the largest cost seen.

    Examples
    --------
    >>> pol = ChebCB(2, context_range=(0.0, 1.0), seed=0)
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(300):
    ...     c = rng.random()
    ...     a = pol.select(c)
    ...     pol.update(a, 10 + 20 * (c if a == 0 else 1 - c))
    >>> int(pol.select(0.05)), int(pol.select(0.95))
    (0, 1)
    """

    name = "chebcb"
    contextual = True

    def __init__(self, n_arms: int, *, degree: int = 5, seed: int | None = None,
                 context_range: tuple[float, float] | None = None):
        super().__init__(n_arms, seed=seed, context_range=context_range)
        self.m = int(degree) + 1
        self.theta = np.zeros((self.n_arms, self.m))
        self.features: list[list[float]] = []
        self.losses: list[float] = []
        self.actions: list[int] = []
        self.predicted: list[float] = []
        self.scale = 0.0
        self.eta = 0.0
        self.resnorm = 0.0
        self._pending: tuple[list[float], int, float] | None = None

    def _feature(self, context: float) -> np.ndarray:
        lo, hi = self.context_range
        z = float(np.clip(2.0 * (context - lo) / (hi - lo) - 1.0, -1.0, 1.0))
        return chebyshev.chebvander(np.array([z]), self.m - 1)[0]

    def predict_costs(self, context: float) -> np.ndarray:
        """The fitted (normalized) cost of every arm at ``context``."""
        return self.theta @ self._feature(context)

    def select(self, context: float | None = None) -> int:
        c = self._check_context(context)
        f = self._feature(c)
        yhat = self.theta @ f
        best = int(np.argmin(yhat))
        p = 1.0 / (self.n_arms + self.eta * (yhat - yhat[best]))
        p[best] = 0.0
        p[best] = max(1.0 - p.sum(), 0.0)
        p /= p.sum()
        arm = int(self.rng.choice(self.n_arms, p=p))
        self._pending = (f.tolist(), arm, float(self.theta[arm] @ f))
        return arm

    def update(self, arm: int, loss: float) -> None:
        self._check_update(arm, loss)
        if self._pending is None or self._pending[1] != arm:
            raise ValueError("chebcb: update() must follow select() for the same arm")
        f, _, pred = self._pending
        self._pending = None
        self.features.append(f)
        self.actions.append(arm)
        self.losses.append(float(loss))
        self.predicted.append(pred)
        self.t += 1
        self._refit(arm)

    def _refit(self, arm: int) -> None:
        losses = np.asarray(self.losses)
        K = losses.max()
        spread = (losses.max() - losses.min()) / (self.context_range[1] - self.context_range[0])
        width = self.context_range[1] - self.context_range[0]
        N = 2.0 + 4.0 * width * spread / K * (1.0 + np.log(self.m))
        refit_all = self.scale != K * N
        self.scale = K * N
        ub = np.concatenate([[1.0 / N], 2.0 * width * spread / self.scale / np.arange(1, self.m)])
        F = np.asarray(self.features)
        actions = np.asarray(self.actions)
        target = (losses - 1.0) / self.scale
        for a in range(self.n_arms) if refit_all else (arm,):
            rows = actions == a
            if not rows.any():
                continue
            theta, *_ = np.linalg.lstsq(F[rows], target[rows], rcond=None)
            if np.any(np.abs(theta) > ub + 1e-15):
                theta, self.resnorm = self._bounded_fit(F[rows], target[rows], ub)
            self.theta[a] = theta
        alpha = (np.pi + 2.0 / np.pi * np.log(2.0 * self.m + 1)) / (2.0 * self.scale * (self.m + 1)) * width * spread
        R = float(np.sum((np.asarray(self.predicted) - losses / self.scale) ** 2))
        denom = max(R - self.resnorm + 2.0 * alpha ** 2 * self.t, 1e-12)
        self.eta = 2.0 * self.t * np.sqrt(self.n_arms * self.t / denom)

    @staticmethod
    def _bounded_fit(F: np.ndarray, y: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, float]:
        free = ub > 0  # a zero bound pins its coefficient at zero
        theta = np.zeros(F.shape[1])
        if free.any():
            sol = lsq_linear(F[:, free], y, bounds=(-ub[free], ub[free]), method="bvls")
            theta[free] = sol.x
        resid = F @ theta - y
        return theta, float(resid @ resid)

    def state_dict(self):
        state = super().state_dict()
        state.update(theta=self.theta.tolist(), features=self.features, losses=self.losses, actions=self.actions,
                     predicted=self.predicted, scale=self.scale, eta=self.eta, resnorm=self.resnorm,
                     pending=self._pending)
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.theta = np.asarray(state["theta"], dtype=float)
        self.features = [list(f) for f in state["features"]]
        self.losses, self.actions = list(state["losses"]), [int(a) for a in state["actions"]]
        self.predicted = list(state["predicted"])
        self.scale, self.eta, self.resnorm = state["scale"], state["eta"], state["resnorm"]
        p = state["pending"]
        self._pending = None if p is None else (list(p[0]), int(p[1]), float(p[2]))
