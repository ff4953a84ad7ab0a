"""Running a :class:`~bandits.space.Config` on one system of a sequence, keeping preconditioners between
steps: the reuse rules of a configuration space (``rebuild=k``, ``rebuild="amortized"``)."""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

import solvers
from solvers.inputs import unwrap_problem

from .space import Config, ConfigSpace

__all__ = ["ConfigRunner", "FAILED_SOLVE_FACTOR", "KeptPreconditioner", "charged_cost", "check_sunk_setup",
           "drift_statistic", "sunk_setups"]


def drift_statistic(diag_now: np.ndarray, diag_then: np.ndarray) -> float:
    """How far the matrix has moved from the one a preconditioner was built on, cheaply: the relative
    2-norm change of the diagonal, ``||d_now - d_then|| / ||d_then||`` (O(n), no product with A).

    Examples
    --------
    >>> drift_statistic(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    >>> round(drift_statistic(np.array([1.1, 2.2]), np.array([1.0, 2.0])), 6)
    0.1
    """
    den = float(np.linalg.norm(diag_then))
    return float(np.linalg.norm(diag_now - diag_then) / den) if den > 0 else 0.0


#: what a step whose solve did not converge costs the policy, as a multiple of its time: a configuration
#: that stops early (an indefinite preconditioner, a breakdown) must not look cheap for it
FAILED_SOLVE_FACTOR = 10.0
#: the weight of the latest kept step in the running mean of a kept step's own set-up
#: (:attr:`KeptPreconditioner.kept_setup`)
KEPT_SETUP_WEIGHT = 0.2


def charged_cost(kind: str, cost: float, setup_seconds: float, setup_charged: float, converged: bool = True) -> float:
    """What a tuner feeds its policy for a step that cost ``cost``: a time cost (``kind`` ``"time"`` or
    ``"wall"``) with the step's ``setup_seconds`` replaced by ``setup_charged`` (the build's time spread
    over the steps it serves, :meth:`KeptPreconditioner.charged_setup`); an iteration count as it is.
    A step whose solve did not converge is charged :data:`FAILED_SOLVE_FACTOR` times that.
    Shared by :class:`bandits.Tuner` and :class:`bandits.petsc.KSPTuner`.

    Examples
    --------
    >>> charged_cost("wall", 1.5, 0.5, 0.25), charged_cost("iterations", 12.0, 0.5, 0.25)
    (1.25, 12.0)
    >>> charged_cost("wall", 1.5, 0.5, 0.25, converged=False)
    12.5
    """
    charged = cost if kind == "iterations" else cost - setup_seconds + setup_charged
    return charged if converged else FAILED_SOLVE_FACTOR * charged


@dataclass
class KeptPreconditioner:
    """The bookkeeping of one kept preconditioner, shared by :class:`ConfigRunner` and the PETSc tuner's
    configurator: when it was built, what the build cost, the extra solve time it has cost since, and how
    many steps each of its builds served.

    Examples
    --------
    >>> kept = KeptPreconditioner()
    >>> kept.due(3, step=0)                                  # nothing built yet
    True
    >>> kept.record(True, step=0, setup_seconds=0.6, solve_seconds=0.2, iterations=10)
    >>> kept.record(False, step=1, setup_seconds=0.0, solve_seconds=0.3, iterations=15)
    >>> kept.due(3, step=2), kept.due(2, step=2), round(kept.excess_seconds, 3)
    (False, True, 0.1)
    >>> round(kept.setup_share(3), 6)                        # rebuilt every 3 steps: a third per step
    0.2
    >>> kept.record(False, step=2, setup_seconds=0.0, solve_seconds=0.1, iterations=3, converged=False)
    >>> kept.due(3, step=3), kept.due(10, step=3)            # it failed: rebuilt whatever the rule
    (True, True)

    An amortized build that sat idle (other configurations played) for more steps than it has served is
    rebuilt: its extra cost over the idle steps was never measured.

    >>> kept = KeptPreconditioner()
    >>> kept.record(True, step=2, setup_seconds=0.6, solve_seconds=0.2, iterations=10)
    >>> kept.record(False, step=3, setup_seconds=0.0, solve_seconds=0.2, iterations=10)
    >>> kept.due("amortized", step=6), kept.due("amortized", step=7)  # served 2, idle 2 then 3
    (False, True)
    """

    built_step: int = -1
    build_seconds: float = 0.0
    fresh_iterations: int = 0
    excess_seconds: float = 0.0
    #: steps the current build has served (this one included)
    served: int = 0
    #: steps each earlier build served
    lifetimes: list[int] = field(default_factory=list)
    #: the last solve with this build did not converge: it is rebuilt at the next step, whatever the rule
    failed: bool = False
    #: the step of the last solve with this build
    last_step: int = -1
    #: ``age -> (cost, step)``: the latest cost without set-up of a step at each age of a build, and the
    #: step of the sequence it was measured at (:meth:`cycle_cost`)
    rest_by_age: dict[int, tuple[float, int]] = field(default_factory=dict)
    #: the method's own set-up on a step that keeps the build: a running mean over such steps (weight
    #: :data:`KEPT_SETUP_WEIGHT` to the latest), so that a rule refreshing on some kept steps only
    #: (``refresh="amortized"``) is charged its mean, not the latest step's refresh or none (:meth:`cycle_cost`)
    kept_setup: float = 0.0
    #: how many kept steps :attr:`kept_setup` has averaged
    kept_measured: int = 0
    #: what the latest refresh of the build cost (its step's set-up seconds); negative before any
    #: (:meth:`refresh_due`)
    refresh_seconds: float = -1.0
    #: the iterations right after the latest refresh (or the build, before any)
    refresh_iterations: int = 0
    #: the extra solve time since the latest refresh (or the build): iterations above
    #: :attr:`refresh_iterations` at the measured seconds per iteration
    refresh_excess: float = 0.0
    #: the ``Config.refresh`` of the configurations sharing this build (``"amortized"`` changes what
    #: :attr:`excess_seconds` counts: :meth:`record`)
    refresh_rule: bool | str = False

    def due(self, rule: int | str, step: int) -> bool:
        """Whether a configuration with reuse ``rule`` (``k`` or ``"amortized"``) rebuilds at ``step``:
        nothing built yet, the build is ``k`` steps old, or (``"amortized"``) the extra solve time it has
        cost since it was built has reached its set-up time, or the build sat idle (steps of the sequence
        solved by other configurations) for more steps than it has served: the ski-rental rule of
        ``"amortized"`` sees the extra cost only of the steps it solves, and a hierarchy left for a hundred
        steps of a drifting matrix is no longer the one it measured (a 114-step-old GAMG hierarchy took 402
        iterations against 14 fresh in the PETSc loop before this rule). A build that is refreshed on reuse
        (:attr:`refresh_rule`) is not rebuilt for sitting idle: the refresh forms it on the step's matrix,
        and the wear of its interpolation shows in the first solve's iterations. Rebuilt for idling, the
        refreshed arm paid a full set-up on each of its first plays while a tuner tried the others, looked
        dearer than the unrefreshed one, and was dropped in two of three development runs (512^2 slow loop:
        90 s against 81 s where it was kept)."""
        if self.built_step < 0 or self.failed:
            return True
        if rule == "amortized":
            return self.excess_seconds >= self.build_seconds or (self._idle(step) > self.served
                                                                  and not self.refresh_rule)
        return step - self.built_step >= int(rule)

    def _idle(self, step: int) -> int:
        """Steps of the sequence before ``step`` solved by other configurations since this build's last."""
        return step - self.last_step - 1

    def refreshes(self, step: int) -> bool:
        """Whether a build kept at ``step`` (not rebuilt) is refreshed first, by its :attr:`refresh_rule`:
        always (``True``), never (``False``), or when :meth:`refresh_due` (``"amortized"``)."""
        return self.refresh_rule is True or (self.refresh_rule == "amortized" and self.refresh_due(step))

    def refresh_due(self, step: int) -> bool:
        """Whether a build kept under ``refresh="amortized"`` is refreshed at sequence ``step``: once the
        extra solve time since its latest refresh (or its build) has reached what that refresh cost; before
        any refresh has been measured, at the first step with any extra time (which measures one); and
        after it sat idle (steps solved by other configurations), whose drift it never measured.

        Examples
        --------
        >>> kept = KeptPreconditioner()
        >>> kept.record(True, step=0, setup_seconds=0.6, solve_seconds=0.2, iterations=10)
        >>> kept.refresh_due(1)                                  # no extra iterations yet
        False
        >>> kept.record(False, step=1, setup_seconds=0.0, solve_seconds=0.22, iterations=11)
        >>> kept.refresh_due(2)                                  # unmeasured: refresh to measure it
        True
        >>> kept.record(False, step=2, setup_seconds=0.05, solve_seconds=0.2, iterations=10, refreshed=True)
        >>> kept.record(False, step=3, setup_seconds=0.0, solve_seconds=0.22, iterations=11)
        >>> kept.refresh_due(4), round(kept.refresh_excess, 3)   # 0.02 s extra against a 0.05 s refresh
        (False, 0.02)
        >>> kept.refresh_due(5)                                  # step 4 was solved by another configuration
        True
        >>> kept.record(False, step=4, setup_seconds=0.0, solve_seconds=0.24, iterations=12)
        >>> kept.refresh_due(5), round(kept.refresh_excess, 3)
        (True, 0.06)
        """
        return self._idle(step) > 0 or (self.refresh_excess > 0.0 and self.refresh_excess >= self.refresh_seconds)

    def record(self, rebuilt: bool, step: int, setup_seconds: float, solve_seconds: float, iterations: int,
               converged: bool = True, refreshed: bool = False) -> None:
        """Book one solve: a new build (its set-up time, its iterations as the fresh reference), or a solve
        with the kept one (the iterations above the fresh ones, at the measured seconds per iteration);
        ``refreshed``: the kept one was refreshed on this step's matrix first (its set-up seconds are the
        refresh's cost, its iterations the new reference of :meth:`refresh_due`). A solve that did not
        converge makes the build due (:meth:`due`): a kept preconditioner that failed once (GAMG's stale
        eigenvalue bounds giving an indefinite preconditioner, say) is not kept on.

        Under :attr:`refresh_rule` ``"amortized"`` a step that neither rebuilt nor refreshed adds to
        :attr:`excess_seconds` (the rebuild's ski-rental account) only the iterations the latest refresh
        left above the fresh ones, not its own: the rest is drift since that refresh, which the next
        refresh removes at a fraction of a build's cost. Counted in full, it made the build look worn out
        and rebuilt 50 times in the 512^2 fast loop against 13 when refreshed on every step (development
        run, 91.8 s against 80.4 s)."""
        self.failed = not converged
        self.last_step = int(step)
        if rebuilt:
            if self.served:
                self.lifetimes.append(self.served)
            self.built_step, self.build_seconds = int(step), float(setup_seconds)
            self.fresh_iterations, self.excess_seconds, self.served = int(iterations), 0.0, 0
            self.refresh_iterations, self.refresh_excess = int(iterations), 0.0
        else:
            per_iteration = solve_seconds / max(iterations, 1)
            if refreshed:
                self.refresh_seconds = float(setup_seconds)
                self.refresh_iterations, self.refresh_excess = int(iterations), 0.0
            else:
                self.refresh_excess += max(iterations - self.refresh_iterations, 0) * per_iteration
            worn = self.refresh_iterations if self.refresh_rule == "amortized" and not refreshed else iterations
            self.excess_seconds += max(worn - self.fresh_iterations, 0) * per_iteration
        self.served += 1

    def expected_life(self, rule: int | str) -> float:
        """The steps a build is expected to serve under reuse ``rule``: ``k`` for ``rebuild=k``; for
        ``"amortized"`` the mean of the last (up to five) builds' lifetimes, or, before any build has
        ended, the steps this one has served so far."""
        if rule == "amortized":
            recent = self.lifetimes[-5:]
            return max(sum(recent) / len(recent) if recent else 1.0, float(self.served), 1.0)
        return max(float(int(rule)), 1.0)

    def setup_share(self, rule: int | str) -> float:
        """The set-up seconds charged to each step the build serves under reuse ``rule``: the build's time
        over ``k`` for ``rebuild=k``; for ``"amortized"`` over the mean number of steps its last (up to
        five) builds served, or, before any build has ended, the steps this one has served so far.

        A tuner feeds its policy the step's wall time with the set-up replaced by this share (the
        ``charged`` cost): over a build's life the shares add up to its set-up time, while the policy no
        longer sees a reuse rule as a spike of set-up followed by cheap steps - noise that took it many
        plays of each rule to average out."""
        return self.build_seconds / self.expected_life(rule)

    def cycle_cost(self, rule: int | str, age: int, rest: float, step: int, own_setup: float = 0.0) -> float:
        """The mean cost per step of a cycle of this build under reuse ``rule``, estimated at a step of
        ``age`` (steps of the sequence since the build) made at sequence ``step``: the build's share of
        its set-up (:meth:`setup_share`), the method's own set-up of a step that keeps the build (the
        running mean of the ``own_setup`` measured, :attr:`kept_setup`) on the ``life - 1`` steps that do,
        and the mean over the ages ``0 .. life - 1``
        of ``rest``, the cost of a step without any set-up, taken at each age from the latest step measured
        there (this one included). ``life`` is :meth:`expected_life` rounded, or ``age + 1`` if larger.
        Ages not measured: above the oldest measured, the oldest's cost plus a least-squares slope over
        the measured ages (from three of them on, never downwards; before, the oldest's cost); below the
        youngest, the youngest's; between, the nearest younger measurement. Measurements made more than two
        lives before ``step`` are dropped, as the matrix has drifted since.

        A step of ``rebuild=3`` right after its build solves faster than the two that follow, and a policy
        fed each step's own cost sees that as noise (about 20 % of the log-cost in the 512^2 diffusion
        loop, as large as the gap between the configurations it must tell apart). The cycle's mean is
        what the rule costs per step, whichever step of the cycle was just played.

        Examples
        --------
        >>> kept = KeptPreconditioner(build_seconds=0.3)
        >>> round(kept.cycle_cost(3, age=0, rest=0.2, step=0), 6)   # 0.3 / 3 + 0.2 at every age
        0.3
        >>> round(kept.cycle_cost(3, age=1, rest=0.3, step=1, own_setup=0.03), 6)  # 0.1 + 2/3 0.03 + (0.2 + 0.3 + 0.3) / 3
        0.386667
        >>> round(kept.cycle_cost(3, age=2, rest=0.4, step=2, own_setup=0.03), 6)  # ages 0, 1, 2 measured
        0.42
        >>> round(kept.cycle_cost(10, age=2, rest=0.4, step=2, own_setup=0.03), 6)  # ages 3-9: 0.5 .. 1.1
        0.707
        """
        self.rest_by_age[int(age)] = (float(rest), int(step))
        if age > 0:
            w = 1.0 if not self.kept_measured else KEPT_SETUP_WEIGHT
            self.kept_setup += w * (float(own_setup) - self.kept_setup)
            self.kept_measured += 1
        life = max(int(round(self.expected_life(rule))), int(age) + 1)
        for a in [a for a, (_, at) in self.rest_by_age.items() if at < step - 2 * life]:
            del self.rest_by_age[a]
        known = {a: r for a, (r, _) in self.rest_by_age.items()}
        ages = sorted(known)
        young, oldest = ages[0], ages[-1]
        slope = 0.0
        if len(ages) >= 3:  # least squares, in plain Python: a handful of points, every step
            mean_a, mean_r = sum(ages) / len(ages), sum(known.values()) / len(ages)
            slope = max(sum((a - mean_a) * (known[a] - mean_r) for a in ages)
                        / sum((a - mean_a) ** 2 for a in ages), 0.0)

        def cost_at(a: int) -> float:
            if a in known:
                return known[a]
            if a > oldest:
                return known[oldest] + slope * (a - oldest)
            if a < young:
                return known[young]
            return known[max(b for b in ages if b < a)]

        mean_rest = sum(cost_at(a) for a in range(life)) / life
        return self.setup_share(rule) + (life - 1) / life * self.kept_setup + mean_rest

    def sunk_setup(self, rule: int | str, step: int) -> float:
        """The set-up seconds per step already paid for a configuration with reuse ``rule`` that plays this
        build at sequence ``step``: the share of its set-up that step would be charged if the build is kept
        there (not :meth:`due`), else 0 (nothing built, a failed solve, or the rule rebuilds: the next step
        pays a set-up, which its share charges). For ``rebuild=k`` that is :meth:`setup_share`; for
        ``"amortized"`` the step would be the build's ``served + 1``-th, so the share is the set-up over
        ``max(expected_life, served + 1)``.

        Examples
        --------
        >>> kept = KeptPreconditioner()
        >>> kept.sunk_setup(3, step=0)                           # nothing built
        0.0
        >>> kept.record(True, step=0, setup_seconds=0.6, solve_seconds=0.2, iterations=10)
        >>> round(kept.sunk_setup(3, step=1), 6), kept.sunk_setup(1, step=1)   # kept by rebuild=3, not by 1
        (0.2, 0.0)
        >>> round(kept.sunk_setup("amortized", step=1), 6)     # its second step: half the set-up
        0.3
        >>> kept.record(False, step=1, setup_seconds=0.0, solve_seconds=0.2, iterations=10, converged=False)
        >>> kept.sunk_setup(3, step=2)                           # it failed: rebuilt at the next step
        0.0
        """
        if self.built_step < 0 or self.due(rule, step):
            return 0.0
        if rule == "amortized":
            return self.build_seconds / max(self.expected_life(rule), self.served + 1.0)
        return self.setup_share(rule)

    def charged_setup(self, rule: int | str, rebuilt: bool, setup_seconds: float) -> float:
        """The set-up seconds to charge the step just recorded in place of its ``setup_seconds``: the
        build's share (:meth:`setup_share`), plus, on a step that kept the build, its own set-up (the
        method's, not the preconditioner's), which it paid in full."""
        return self.setup_share(rule) + (0.0 if rebuilt else float(setup_seconds))


def sunk_setups(space: ConfigSpace, kept: dict[str, KeptPreconditioner], step: int) -> np.ndarray:
    """Each configuration's :meth:`KeptPreconditioner.sunk_setup` at sequence ``step``, from the builds
    ``kept`` by ``Config.pc_key`` (0 where none is kept); what a tuner with ``sunk_setup=True`` credits a
    kept build with before its policy chooses. Shared by :class:`ConfigRunner` and the PETSc tuner's
    configurator.

    Examples
    --------
    >>> space = ConfigSpace.grid("cg", "ic", rebuild=[1, 4]) + ConfigSpace.grid("cg", "amg", rebuild=[4])
    >>> kept = KeptPreconditioner()
    >>> kept.record(True, step=0, setup_seconds=0.8, solve_seconds=0.2, iterations=10)
    >>> [round(float(s), 6) for s in sunk_setups(space, {space[0].pc_key: kept}, step=1)]  # ic 1 / 4; amg
    [0.0, 0.2, 0.0]
    """
    out = np.zeros(len(space))
    for arm, config in enumerate(space):
        entry = kept.get(config.pc_key)
        if entry is not None:
            out[arm] = entry.sunk_setup(config.rebuild, step)
    return out


def check_sunk_setup(sunk_setup: Any, has_space: bool, cost: str, policy: Any) -> bool:
    """Refuse a tuner's ``sunk_setup=True`` where it has no meaning: without a configuration space, with
    an iteration cost (no set-up is charged), or with a policy whose ``select`` takes no ``sunk`` costs
    (``weighs_sunk = False``). Shared by :class:`bandits.Tuner` and :class:`bandits.petsc.KSPTuner`.

    Examples
    --------
    >>> from bandits.policies.thompson import SharedThompson
    >>> from bandits.policies.tsallis import TsallisINF
    >>> check_sunk_setup(True, has_space=True, cost="wall", policy=SharedThompson(3))
    True
    >>> check_sunk_setup(True, has_space=True, cost="wall", policy=TsallisINF(3))
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: sunk_setup credits kept preconditioners' set-up: it needs a space, a time cost ('wall' or 'time') and a policy that weighs sunk costs (thompson); got cost='wall', policy='tsallis-inf'
    """
    if not isinstance(sunk_setup, (bool, np.bool_)):
        raise solvers.InvalidInputError(f"sunk_setup must be True or False, got {sunk_setup!r}")
    if sunk_setup and not (has_space and cost != "iterations" and policy.weighs_sunk):
        raise solvers.InvalidInputError(
            "sunk_setup credits kept preconditioners' set-up: it needs a space, a time cost ('wall' or 'time') "
            f"and a policy that weighs sunk costs (thompson); got cost={cost!r}, policy={policy.name!r}")
    return bool(sunk_setup)


@dataclass
class _Entry(KeptPreconditioner):
    solver: Any = None
    diag: Any = None


class ConfigRunner:
    """Solves each system with the configuration the tuner chose, keeping one solver per
    ``Config.pc_key`` (so configurations that differ only in their reuse rule share the preconditioner; a
    refreshed configuration has its own, :attr:`Config.pc_key`).

    Before each solve the configuration's rule decides whether the preconditioner is set up on this
    matrix or kept from an earlier one (kept as it is, or refreshed on this matrix where the configuration
    says ``refresh=True``, or ``refresh="amortized"`` and :meth:`KeptPreconditioner.refresh_due`):
    ``rebuild=k`` rebuilds once it is ``k`` steps old (steps of the sequence, whoever used it in between);
    ``"amortized"`` rebuilds once the extra solve time the kept preconditioner has cost (iterations above
    those right after its build, at the seconds per iteration measured) reaches its set-up time. At most
    ``max_cached`` solvers are kept (least recently used dropped), as each holds a preconditioner.

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.sequences import laplacian_delsq
    >>> space = ConfigSpace.grid("cg", "ic", rebuild=[1, 3])
    >>> run = ConfigRunner(space, rtol=1e-8)
    >>> A = laplacian_delsq(10)
    >>> [run.run(1, A * (1 + 0.1 * t), np.ones(A.shape[0]))[1]["pc_age"] for t in range(5)]
    [0, 1, 2, 0, 1]
    """

    def __init__(self, space: ConfigSpace, max_cached: int = 8, **solve_options: Any):
        self.space = space
        self.max_cached = int(max_cached)
        self.solve_options = dict(solve_options)
        self.cache: OrderedDict[str, _Entry] = OrderedDict()
        self.step = 0

    def _entry(self, config: Config) -> _Entry:
        entry = self.cache.get(config.pc_key)
        if entry is None:
            opts = {k: v for k, v in self.solve_options.items() if k not in ("x0", "backend")}
            entry = _Entry(solver=solvers.make_solver(config.method, pc=config.pc, **config.options, **opts),
                           refresh_rule=config.refresh)
            self.cache[config.pc_key] = entry
            while len(self.cache) > self.max_cached:
                self.cache.popitem(last=False)
        self.cache.move_to_end(config.pc_key)
        return entry

    def _rebuild(self, config: Config, entry: _Entry, n: int) -> bool:
        # due() first: it holds while nothing is built, before which the solver has no size
        return entry.due(config.rebuild, self.step) or entry.solver.pc is None or entry.solver.n != n

    def due(self, arm: int) -> bool:
        """Whether configuration ``arm``'s reuse rule would rebuild its preconditioner at the next step
        (also when none is kept).

        Examples
        --------
        >>> from pde_examples.sequences import laplacian_delsq
        >>> run = ConfigRunner(ConfigSpace.grid("cg", "ic", rebuild=[2]), rtol=1e-8)
        >>> A = laplacian_delsq(8)
        >>> flags = []
        >>> for t in range(3):
        ...     _ = run.run(0, A, np.ones(A.shape[0]))
        ...     flags.append(run.due(0))
        >>> flags
        [False, True, False]
        """
        config = self.space[arm]
        entry = self.cache.get(config.pc_key)
        return entry is None or entry.due(config.rebuild, self.step)

    def sunk_setups(self) -> np.ndarray:
        """Each configuration's set-up share already paid if it plays the next step (:func:`sunk_setups`
        over the kept solvers; one without a preconditioner records no build, so it is credited 0)."""
        return sunk_setups(self.space, self.cache, self.step)

    def cycle_cost(self, arm: int, info: dict[str, Any], cost: float) -> float | None:
        """The mean cost per step of configuration ``arm``'s reuse cycle (:meth:`KeptPreconditioner.cycle_cost`)
        after the step that ``run`` just made with it (``info``) cost ``cost`` in all; the build's share of
        its set-up included. ``None`` where the configuration keeps no preconditioner."""
        config = self.space[arm]
        entry = self.cache.get(config.pc_key)
        if entry is None or entry.solver.pc is None:
            return None
        own = 0.0 if info["rebuilt"] else info["setup_seconds"]  # at a build, set-up is the build's (its share)
        return entry.cycle_cost(config.rebuild, info["pc_age"], cost - info["setup_seconds"], entry.last_step, own)

    def run(self, arm: int, A: Any, b: Any, rebuild: bool = False, time_limit: float | None = None,
            advance: bool = True, **solve_options: Any) -> tuple[solvers.SolveResult, dict[str, Any]]:
        """Solve ``A x = b`` with configuration ``arm``; returns the result and what happened (rebuilt or
        kept, the preconditioner's age in steps, the drift statistic, seconds, ``setup_charged``: the
        set-up seconds to charge this step, the build's time spread over the steps it serves, and
        ``capped``: the solve stopped at ``time_limit``).
        ``rebuild=True`` sets the preconditioner up on this matrix whatever the rule says;
        ``time_limit``: seconds the solve phase may take (:attr:`solvers.methods.base.Method.time_limit`);
        ``advance=False``: another solve of the same step may follow (the step count stays; the caller
        advances it)."""
        config = self.space[arm]
        matrix, _ = unwrap_problem(A)
        entry = self._entry(config)
        n = matrix.shape[0]
        rebuild = bool(rebuild) or self._rebuild(config, entry, n)
        diag = matrix.diagonal() if sp.issparse(matrix) or isinstance(matrix, np.ndarray) else None
        drift = 0.0
        if not rebuild and diag is not None and entry.diag is not None:
            drift = drift_statistic(diag, entry.diag)
        solver = entry.solver
        refresh = not rebuild and entry.refreshes(self.step)  # the entry's rule is its pc_key's: config.refresh
        solver.setup(matrix, pc_reuse="rebuild" if rebuild else "refresh" if refresh else "keep")
        opts = {**{k: v for k, v in self.solve_options.items() if k in ("x0", "backend")}, **solve_options}
        solver.time_limit = time_limit
        try:
            res = solver.solve(b, x0=opts.get("x0"), backend=opts.get("backend", "auto"))
        finally:
            solver.time_limit = None
        charged = res.setup_time  # the set-up seconds a policy is charged for this step (KeptPreconditioner.setup_share)
        if solver.pc is not None:
            entry.record(rebuild, self.step, res.setup_time, res.solve_time, res.iterations, bool(res.converged),
                         refreshed=refresh)
            if rebuild:
                entry.diag = diag
            charged = entry.charged_setup(config.rebuild, rebuild, res.setup_time)
        info = {"rebuilt": bool(rebuild), "refreshed": bool(refresh),
                "pc_age": 0 if solver.pc is None else self.step - entry.built_step,
                "drift": drift, "setup_seconds": res.setup_time, "solve_seconds": res.solve_time,
                "setup_charged": charged, "capped": bool(solver.timed_out)}
        self.step += bool(advance)
        return res, info
