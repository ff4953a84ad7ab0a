"""Thompson sampling with a shared cost model, for spaces with many arms (beyond the paper).

With a hundred configurations no policy can afford to play every arm many times on a costly loop. This
one models the logarithm of an arm's cost as a sum of effects of its factor levels (``method=cg``,
``pc=amg``, ``amg:strength=0.25``, ``rebuild=3``; :attr:`bandits.space.Config.factors`) plus an effect
of the arm itself, with Gaussian priors, and plays the arm whose cost, drawn from the posterior, is
lowest. One solve with a poor preconditioner thus lowers the odds of every arm that uses it; the
per-arm effect (smaller prior) lets arms part from the additive model once they are played. The noise
level is learned from the residuals, and old observations are discounted (``discount`` per round) so
that the policy follows costs that drift with the simulation.

Arms that have been played and whose modelled cost is more than ``prune`` times the cheapest played arm's
are not drawn (successive elimination on top of the sampling): on a loop whose best step costs 0.2 s,
one more play of an arm measured at 3 s is worth 15 steps, and a Gaussian posterior over a few noisy,
discounted plays still gives such an arm a draw now and then (the PETSc loop replayed a stale GAMG
hierarchy at 6 s and SOR at 1.2 s after a hundred steps). A pruned arm returns when the cheapest
played arm's modelled cost rises to within that factor of it; an arm charged for a failed or capped
solve (ten times its time, :data:`bandits.reuse.FAILED_SOLVE_FACTOR`) is in practice out for good.

With ``try_each=True`` every arm is played once before any is played twice (in the space's order: put
the configuration you would have used first), for small spaces of distinct configurations (one per preconditioner family). There
the sampler's failure is the other way round: after one play of the first arm it met, every other arm's
cost is the prior's guess, and a dear first arm (SSOR at 9x the best step's cost in the PETSc loop) was
drawn again and again before the others were tried, while a tuner that caps trial solves
(:mod:`bandits.capping`) tries each of them for at most a few of the incumbent's steps.
"""
from __future__ import annotations

import numpy as np

from solvers import InvalidInputError

from .base import Policy, TuningTarget

__all__ = ["MAX_SUNK_FRACTION", "SharedThompson"]

#: the largest fraction of an arm's modelled cost that :meth:`SharedThompson.select` takes as already paid
#: (a set-up share larger than the modelled cost - a build that served one step - is not a free step)
MAX_SUNK_FRACTION = 0.5


class SharedThompson(Policy):
    """Thompson sampling over a linear-Gaussian model of log-costs with features shared between arms.

    Parameters
    ----------
    n_arms : int
    factor_scale : float
        Prior standard deviation of each factor level's effect on the log-cost (1: a factor may change
        the cost by a factor e either way).
    arm_scale : float
        Prior standard deviation of each arm's own effect.
    discount : float in (0, 1]
        Weight kept by the past at every round (1: none forgotten).
    noise : float
        Prior guess of the noise of a log-cost (0.3: about 30 % timing noise), updated from residuals.
    prune : float or None
        Ratio of modelled costs beyond which a played arm is no longer drawn (module docstring); ``None``
        draws every arm.
    try_each : bool
        Play every arm once before any twice (module docstring); for spaces of a few arms.
    seed : int, optional

    Notes
    -----
    Features: an intercept (prior standard deviation 10, as the cost's scale is unknown) and one
    indicator per factor level found in the tuner's values (none when they are plain numbers). Each arm's
    own effect is drawn, given the factor part, from its independent posterior (the residuals of that
    arm's observations), which keeps the linear algebra at the number of levels: a round costs one
    Cholesky factorization of a ``(1 + levels)``-square matrix and ``O(arms)`` vector work (about 0.1 ms
    at 100 arms of 24 levels).

    Examples
    --------
    >>> from bandits.space import ConfigSpace
    >>> from bandits.policies.base import TuningTarget
    >>> space = ConfigSpace.grid("cg", "ssor", omega=[1.0, 1.3, 1.6, 1.9])
    >>> pol = SharedThompson(len(space), seed=0)
    >>> pol.bind(TuningTarget(values=tuple(space), param="config"))
    >>> for _ in range(60):
    ...     a = pol.select()
    ...     pol.update(a, [6.0, 5.0, 2.0, 3.0][a])
    >>> int(np.argmin(pol.posterior_mean()))
    2
    >>> [int(a) for a in np.flatnonzero(pol.pruned())]  # modelled at more than 4x arm 2's cost
    []
    >>> pol.update(0, 40.0)
    >>> [int(a) for a in np.flatnonzero(pol.pruned())]
    [0]
    """

    name = "thompson"
    weighs_sunk = True
    _state_fields = ("G", "h", "count", "sums", "sse", "nobs")

    def __init__(self, n_arms: int, *, factor_scale: float = 1.0, arm_scale: float = 0.1, discount: float = 0.995,
                 noise: float = 0.3, prune: float | None = 4.0, try_each: bool = False, seed: int | None = None,
                 context_range=None):
        super().__init__(n_arms, seed=seed)
        if not isinstance(try_each, (bool, np.bool_)):
            raise InvalidInputError(f"try_each must be True or False, got {try_each!r}")
        self.try_each = bool(try_each)
        if prune is not None and not prune > 1:
            raise InvalidInputError(f"prune must be a cost ratio > 1 (or None), got {prune}")
        self.log_prune = None if prune is None else float(np.log(prune))
        if not 0 < discount <= 1:
            raise InvalidInputError(f"discount must lie in (0, 1], got {discount}")
        if not (factor_scale > 0 and arm_scale > 0 and noise > 0):
            raise InvalidInputError("factor_scale, arm_scale and noise must be > 0")
        self.factor_scale, self.arm_scale = float(factor_scale), float(arm_scale)
        self.discount, self.noise0 = float(discount), float(noise)
        self._features([()] * self.n_arms)

    def _features(self, factors: list[tuple[str, ...]]) -> None:
        levels = sorted({f for fs in factors for f in fs})
        index = {f: i for i, f in enumerate(levels)}
        d = 1 + len(levels)
        X = np.zeros((self.n_arms, d))
        X[:, 0] = 1.0
        for arm, fs in enumerate(factors):
            for f in fs:
                X[arm, 1 + index[f]] = 1.0
        self.X = X
        self.levels = levels
        self.prior_precision = 1.0 / np.r_[10.0, np.full(len(levels), self.factor_scale)] ** 2
        self.G = np.zeros((d, d))
        self.h = np.zeros(d)
        self.count = np.zeros(self.n_arms)  # discounted number of observations of each arm
        self.sums = np.zeros(self.n_arms)  # discounted sum of each arm's log-costs
        self.sse, self.nobs = 0.0, 0.0
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def bind(self, target: TuningTarget) -> None:
        """Read the factor levels of the arms (configurations with ``factors``); plain values share
        nothing but the intercept."""
        self._features([tuple(getattr(v, "factors", ())) for v in target.values])

    def _noise_var(self) -> float:
        nu0 = 5.0
        return max((nu0 * self.noise0 ** 2 + self.sse) / (nu0 + self.nobs), 0.05 ** 2)

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean of the factor weights and ``R`` with ``R^T R`` their posterior covariance (the
        inverse Cholesky factor of the precision), cached until the next update."""
        if self._cache is None:
            s2 = self._noise_var()
            P = self.G / s2
            P.flat[:: P.shape[0] + 1] += self.prior_precision
            R = np.linalg.inv(np.linalg.cholesky(P))  # small: 1 + levels square
            self._cache = (R.T @ (R @ (self.h / s2)), R)
        return self._cache

    def _arm_effects(self, factor_part: np.ndarray, draw: bool) -> np.ndarray:
        """Each arm's own effect given the factor part of its log-cost: the posterior of a N(0, arm_scale^2)
        effect from the arm's residuals (independent across arms), its mean or a draw."""
        s2 = self._noise_var()
        shrink = self.count + s2 / self.arm_scale ** 2
        mean = (self.sums - self.count * factor_part) / shrink
        if not draw:
            return mean
        return mean + np.sqrt(s2 / shrink) * self.rng.standard_normal(self.n_arms)

    def posterior_mean(self) -> np.ndarray:
        """The model's log-cost of every arm (its posterior mean)."""
        mean, _ = self._posterior()
        part = self.X @ mean
        return part + self._arm_effects(part, draw=False)

    def pruned(self) -> np.ndarray:
        """Which arms :meth:`select` leaves out: played arms whose own (discounted) mean cost is more than
        ``prune`` times the cheapest played arm's modelled cost (none when that would leave out every
        arm). The arm's own mean, not its posterior: discounting pulls a posterior back to the prior, and
        with it a 7x arm under the bar within a hundred rounds."""
        played = self.count > 0
        if self.log_prune is None or not played.any():
            return np.zeros(self.n_arms, dtype=bool)
        # an arm's own mean log-cost (discounting scales its sum and count alike: no drift to the prior)
        # against the cheapest played arm's modelled cost
        own = np.divide(self.sums, self.count, out=np.zeros(self.n_arms), where=played)
        out = played & (own > self.posterior_mean()[played].min() + self.log_prune)
        return out if not out.all() else np.zeros(self.n_arms, dtype=bool)

    def select(self, context=None, sunk=None) -> int:
        """The arm whose drawn cost is lowest (every untried arm first with ``try_each``).

        ``sunk`` (optional, one value per arm, in the costs' units): the part of each arm's cost already
        paid if it plays now - a kept preconditioner's share of its set-up (:meth:`bandits.Tuner`'s
        ``sunk_setup``). An arm's draw is lowered by that share's fraction of its modelled cost (at most
        :data:`MAX_SUNK_FRACTION`): the step costs it only the rest. Two configurations within a few
        per cent of each other then no longer trade places at every draw, each switch paying a set-up
        that the charged costs spread over steps never served.

        Examples
        --------
        >>> pol = SharedThompson(2, seed=0)
        >>> for _ in range(20):
        ...     pol.update(0, 1.0); pol.update(1, 1.05)
        >>> picks = [pol.select(sunk=[0.0, 0.3]) for _ in range(200)]
        >>> picks.count(1) > 190                 # 1.05 with 0.3 already paid: 0.75 against 1.0
        True
        """
        mean, R = self._posterior()
        w = mean + R.T @ self.rng.standard_normal(mean.size)
        part = self.X @ w
        score = part + self._arm_effects(part, draw=True)
        if sunk is not None:
            sunk = np.asarray(sunk, dtype=float)
            if sunk.shape != (self.n_arms,) or not np.all(np.isfinite(sunk) & (sunk >= 0)):
                raise InvalidInputError(f"sunk must hold {self.n_arms} finite costs >= 0")
            paid = sunk > 0
            if paid.any():
                fraction = np.minimum(sunk[paid] / np.exp(self.posterior_mean()[paid]), MAX_SUNK_FRACTION)
                score[paid] += np.log1p(-fraction)
        score[self.pruned()] = np.inf
        # discounting scales a played arm's count (to 0 only after ~1.5e5 rounds unplayed: then one more try)
        untried = self.count == 0
        if self.try_each and untried.any():
            return int(np.flatnonzero(untried)[0])
        return int(np.argmin(score))

    def update(self, arm: int, loss: float) -> None:
        self._check_update(arm, loss)
        if loss <= 0:
            raise InvalidInputError(f"{self.name} models log-costs: a cost must be > 0, got {loss}")
        y = float(np.log(loss))
        x = self.X[arm]
        if self.nobs > 0:
            self.sse = self.discount * self.sse + (y - self.posterior_mean()[arm]) ** 2
        self.nobs = self.discount * self.nobs + 1.0
        self.G *= self.discount
        self.h *= self.discount
        self.count *= self.discount
        self.sums *= self.discount
        idx = np.flatnonzero(x)  # x is 0/1 with a few ones: a rank-one update of those entries only
        self.G[np.ix_(idx, idx)] += 1.0
        self.h[idx] += y
        self.count[arm] += 1.0
        self.sums[arm] += y
        self.t += 1
        self._cache = None

    def rescale_costs(self, factor: float) -> bool:
        """Shift every log-cost observed so far by ``log(factor)``: the data's contribution to the
        posterior is exactly that of each past cost ``factor`` times larger (the intercept's sufficient
        statistics move, discounting included); the factor and arm effects (the arms' relative costs), the
        noise estimate and the pruning decisions stay. The intercept's N(0, 10^2) prior does not move, so
        the posterior means shift by ``log(factor)`` up to a fraction of a percent.

        Examples
        --------
        >>> pol = SharedThompson(3, seed=0)
        >>> for a, c in [(0, 1.0), (1, 2.0), (2, 8.0)] * 5:
        ...     pol.update(a, c)
        >>> before = pol.posterior_mean()
        >>> pol.rescale_costs(4.0)
        True
        >>> bool(np.allclose(pol.posterior_mean() - before, np.log(4.0), atol=1e-3))
        True
        """
        if not (np.isfinite(factor) and factor > 0):
            raise InvalidInputError(f"a cost scale must be a finite number > 0, got {factor}")
        delta = float(np.log(factor))
        # every observation has the intercept feature (column 0): G[:, 0] is the discounted sum of the
        # observed feature vectors, so h + delta * G[:, 0] is h computed from log-costs shifted by delta
        self.h = self.h + delta * self.G[:, 0]
        self.sums = self.sums + delta * self.count
        self._cache = None
        return True

    def load_state_dict(self, state) -> None:
        super().load_state_dict(state)
        self._cache = None
