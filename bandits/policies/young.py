"""Beyond the paper: a tuner that reads the residual history every solve produces.

Young's theory ties SOR's asymptotic convergence factor ``lam`` at relaxation ``omega`` to the Jacobi
spectral radius ``mu`` of the matrix: ``(lam + omega - 1)^2 = lam omega^2 mu^2`` while ``omega`` is below
the optimum. So one residual history reveals ``mu`` of its instance, and ``mu`` gives the optimal
relaxation: ``2 / (1 + sqrt(1 - mu^2))`` for SOR, and ``2 / (1 + sqrt(2 (1 - mu)))`` for SSOR used as a CG
preconditioner (the minimizer of Axelsson's condition-number bound with ``delta = 1 - mu``).

To carry ``mu`` from solved instances to a new one without a user-supplied context, the policy scales
it by a statistic that every matrix gives for free: the Gershgorin ratio ``g = max_i sum_{j != i}
|a_ij| / a_ii`` (an upper bound of ``mu``). For a family of matrices on one grid (diagonal shifts, a
time-varying coefficient) ``kappa = mu / g`` stays nearly constant; the policy learns it from the
residual histories of its first informative solves (Gauss-Seidel, where ``lam = mu^2``) and afterwards
plays ``omega(kappa * g_t)`` for each new matrix, a continuous value rather than a grid arm.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from solvers import InvalidInputError
from solvers.young import jacobi_radius_sq, optimal_omega

from .base import Policy, TuningTarget

__all__ = ["YoungPolicy", "gershgorin_ratio", "jacobi_radius_from_history", "optimal_omega"]


def gershgorin_ratio(A: sp.spmatrix) -> float:
    """``max_i sum_{j != i} |a_ij| / |a_ii|``, an upper bound of the Jacobi spectral radius.

    Examples
    --------
    >>> from pde_examples.sequences import laplacian_delsq
    >>> gershgorin_ratio(laplacian_delsq(5))
    1.0
    """
    A = sp.csr_matrix(A)
    d = np.abs(A.diagonal())
    rows = np.asarray(abs(A).sum(axis=1)).ravel() - d
    return float(np.max(rows / d))


def jacobi_radius_from_history(residual_norms: np.ndarray, omega: float, tail: int = 20) -> float | None:
    """Young's inversion: the Jacobi spectral radius from an SOR residual history at ``omega``.

    Returns ``None`` when the history says nothing (too short, stagnating, or at/over the optimal
    omega, where the observed factor is ``omega - 1`` whatever ``mu`` is).

    Examples
    --------
    >>> import numpy as np, solvers
    >>> from pde_examples.sequences import laplacian_delsq
    >>> A = laplacian_delsq(10)
    >>> res = solvers.solve(A, np.ones(100), method="gauss-seidel", rtol=1e-12)
    >>> round(jacobi_radius_from_history(res.residual_norms, 1.0), 4), round(float(np.cos(np.pi / 11)), 4)
    (0.9595, 0.9595)
    """
    r = np.asarray(residual_norms, dtype=float)
    k = min(tail, (len(r) - 1) // 3)
    if k < 3 or r[-1 - k] <= 0 or r[-1] <= 0:
        return None
    # least-squares slope of log ||r|| over the tail: robust to the oscillation of complex eigenvalues
    lam = float(np.exp(np.polyfit(np.arange(k + 1), np.log(r[-1 - k:]), 1)[0]))
    if not (omega - 1.0 + 1e-3 < lam < 1.0):
        return None
    mu2 = float(jacobi_radius_sq(lam, float(omega)))
    if not 0 < mu2 < 1:
        return None
    mu = float(np.sqrt(mu2))
    # a history taken at (or over) the optimum decays like omega - 1 plus non-normal transients, which
    # can pass for an under-relaxed one; such an estimate implies an optimum at omega itself: discard it
    if optimal_omega(mu, "sor") <= omega + 0.02:
        return None
    return mu


class YoungPolicy(Policy):
    """Chooses omega per instance from ``kappa * g(A)`` (see the module docstring).

    Parameters
    ----------
    n_arms : int
    values : sequence of float, optional
        The omega grid (only its range is used: chosen values are clipped into it). A tuner gives it
        through :meth:`bind`; pass it only to use the policy without a tuner.
    kind : {"sor", "ssor"}, optional
        Which optimum formula applies (SOR iterations, or SSOR as the preconditioner of CG). :meth:`bind`
        derives it from the tuner's method and preconditioner.
    warmup : int
        Number of informative residual histories to average ``kappa`` over before trusting it.
    min_ratio : float
        Instances whose Gershgorin ratio is below this say too little about ``mu``: Gauss-Seidel converges
        in a handful of iterations, before its residual norms settle on the asymptotic factor (the
        iteration matrix is far from normal). They are solved with omega = 1 and not used for learning.

    It reads each matrix (``needs_matrix = True``): the tuner calls :meth:`choose_value` with the matrix,
    :meth:`observe` with each result and, when :meth:`wants_probe` says so, runs a short Gauss-Seidel
    probe of the instance (counted in its cost) and passes it to :meth:`observe_probe`.

    Examples
    --------
    >>> from pde_examples.sequences import laplacian_delsq
    >>> pol = YoungPolicy(3, values=[1.0, 1.5, 1.9], kind="sor", warmup=1)
    >>> pol.kappas = [0.9595]                   # as if learned: mu = kappa * g(A)
    >>> A = laplacian_delsq(10)                 # g(A) = 1, and mu = cos(pi / 11) = 0.9595
    >>> round(pol.choose_value(A), 4), pol.select()
    (1.5604, 1)
    """

    name = "young"
    needs_matrix = True
    _state_fields = ("kappas",)

    def __init__(self, n_arms: int, *, values=None, kind: str | None = None, warmup: int = 3,
                 min_ratio: float = 0.7, seed: int | None = None, context_range=None):
        super().__init__(n_arms, seed=seed)
        if values is not None and len(values) != n_arms:
            raise InvalidInputError(f"young has {n_arms} arms but {len(values)} omega values")
        if kind not in (None, "sor", "ssor"):
            raise InvalidInputError(f"young tunes omega of 'sor' or of an 'ssor' preconditioner, not {kind!r}")
        self.values = None if values is None else np.asarray(values, dtype=float)
        self.kind = kind
        self.warmup = int(warmup)
        self.min_ratio = float(min_ratio)
        self.kappas: list[float] = []
        self._g = 0.0
        self._omega = 1.0

    def bind(self, target: TuningTarget) -> None:
        """Take the omega grid and derive the formula (``kind``) from the tuner's method and
        preconditioner; refuse anything but omega of ``sor``, or of ``pc='ssor'`` with cg/fcg."""
        if target.param != "omega":
            raise InvalidInputError(f"the young policy tunes omega only, not {target.param!r}")
        if target.method == "sor" and target.pc is None:
            kind = "sor"
        elif target.pc == "ssor" and target.method in ("cg", "fcg"):
            kind = "ssor"
        else:
            raise InvalidInputError("the young policy tunes omega of method='sor', or of pc='ssor' with cg/fcg, "
                                    f"not method={target.method!r}, pc={target.pc!r}")
        if self.kind is not None and self.kind != kind:
            raise InvalidInputError(f"young was made with kind={self.kind!r} but the tuner's "
                                    f"method={target.method!r}, pc={target.pc!r} needs {kind!r}")
        values = np.asarray(target.values, dtype=float)
        if self.values is not None and not np.array_equal(self.values, values):
            raise InvalidInputError("young was made with other omega values than the tuner's")
        self.values, self.kind = values, kind

    @property
    def learned(self) -> bool:
        return len(self.kappas) >= self.warmup

    def kappa(self) -> float:
        return float(np.median(self.kappas)) if self.kappas else 1.0

    def wants_probe(self) -> bool:
        """Whether the tuner should run a Gauss-Seidel probe on the current instance (SSOR case)."""
        return self.kind == "ssor" and not self.learned and self._g >= self.min_ratio

    def choose_value(self, A, context=None) -> float:
        if self.values is None or self.kind is None:
            raise InvalidInputError("young has no omega values or kind: give them, or let a tuner bind it")
        if A is None:
            raise InvalidInputError("young reads the matrix of every instance; this tuner gave none")
        self._g = gershgorin_ratio(A)
        if not self.learned:
            self._omega = 1.0
        else:
            omega = optimal_omega(self.kappa() * self._g, self.kind)
            self._omega = float(np.clip(omega, self.values.min(), self.values.max()))
        return self._omega

    def select(self, context=None) -> int:
        return int(np.argmin(np.abs(self.values - self._omega)))

    def _learn(self, residual_norms, omega) -> None:
        if self.learned or self._g < self.min_ratio:
            return
        mu = jacobi_radius_from_history(residual_norms, omega)
        if mu is not None:  # g bounds mu from above, so kappa <= 1; a larger estimate is residual-norm bias
            self.kappas.append(min(mu / self._g, 1.0))

    def observe(self, arm: int, result) -> None:
        if self.kind == "sor":
            self._learn(result.residual_norms, float(result.options.get("omega", self._omega)))

    def observe_probe(self, result) -> None:
        self._learn(result.residual_norms, 1.0)

    def update(self, arm: int, loss: float) -> None:
        self._check_update(arm, loss)
        self.t += 1
