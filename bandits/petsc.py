"""Tuning inside PETSc programs: learn a PETSc option (``pc_sor_omega`` ...), or a whole configuration (KSP
type, PC type, their options, preconditioner reuse), across a time-stepping loop.

The PETSc program keeps its solver code: it wraps its KSP once (``ksp = KSPTuner(...).wrap(ksp)``) and
goes on calling ``ksp.solve(b, x)``. Before each solve the tuner writes the chosen value into the
options database under the KSP's prefix and calls ``ksp.setFromOptions()``; after it, the cost is
``KSPGetIterationNumber`` (or the solve's wall time).

Under MPI every rank must use the same value: **rank 0 decides and broadcasts** the arm (the policy's
random draws happen on rank 0 only, so a shared seed is not needed and ranks cannot drift apart), and
rank 0 alone updates the policy. The iteration count is a global quantity, the same on all ranks;
wall time is reduced with max.

The policy's ``observe`` receives a ``SolveResult`` made from the KSP (reason, iterations, the residual
norms the KSP monitored, ``x`` the solution ``Vec``); for that the tuner turns on the KSP's residual
history, reset at every solve.

Over a configuration space (``KSPTuner(space=...)``, a :class:`~bandits.petsc_space.PetscSpace`) each arm
is a set of PETSc options plus a reuse rule; :class:`~bandits.petsc_config.KSPConfigurator` applies it
(clearing the previous arm's options) and keeps or rebuilds the preconditioner. The cost is then the
wall time of the whole tuned step - the decision and its broadcast, applying the options, ``KSPSetUp``
and ``KSPSolve`` - reduced with max over the ranks, as the slowest rank sets the pace. Every rank
keeps the same history (arms, the options in effect, times); the policy lives on rank 0.
:meth:`KSPTuner.save` / :meth:`KSPTuner.load` persist it across jobs (rank 0 writes atomically; every
rank receives what rank 0 read), refusing a file made for another space.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import solvers
from solvers import InvalidInputError

from .capping import DEFAULT_CAP, RecentCosts, check_cap, counts
from .petsc_cap import KSPSolveCap
from .petsc_config import KSPConfigurator
from .petsc_space import PetscSpace
from .reuse import charged_cost, check_sunk_setup
from .policies import TuningTarget, make_policy
from .stretch import Stretches
from .remap import RemapState
from .tuner import check_tuner_setup, other_systems_error, write_json_atomic

__all__ = ["KSPTuner", "TunedKSP", "FORMAT"]

#: the ``format`` field of a saved KSPTuner
FORMAT = "solverkit-ksptuner/1"


class _ConfigStep(NamedTuple):
    """A configuration solve between ``choose`` and ``learn``: what rank 0 decided (broadcast) and when."""

    arm: int
    applied: dict[str, Any]
    t0: float
    context: float | None
    t_applied: float
    stretch_step: int
    #: seconds the solve may take before it is capped (None: not capped)
    budget: float | None
    #: who finishes the step if this solve fails: the cheapest other configuration whose last step
    #: converged, when the arm was chosen (the incumbent, for any arm but the incumbent; None: none known)
    finisher: int | None
    #: this solve finishes a step another arm's solve left unconverged
    fallback: bool


class KSPTuner:
    """A bandit over the values of one PETSc option, or over a space of PETSc configurations.

    Parameters
    ----------
    option : str
        PETSc option without the dash and without the KSP's prefix (``"pc_sor_omega"``,
        ``"pc_gamg_threshold"``, ``"ksp_gmres_restart"`` ...).
    values : sequence, optional
        The arms; default for ``*_omega`` options: the paper's 20 values on [1, 1.95].
    policy : str
        A policy registered in ``solvers.registry`` under kind ``"tuner"`` (``bandits.POLICIES``), built-in
        or plug-in. Policies that declare ``needs_matrix`` (``young``) are refused: the matrix stays in
        the PETSc program. Continuous values (:meth:`~bandits.Policy.choose_value`, called with ``A=None``)
        are decided on rank 0 and broadcast like arms; probes are not run here.
    cost : {"iterations", "time", "wall"}, optional
        The KSP's iteration count; the seconds of the solve (with a space: ``KSPSetUp`` plus ``KSPSolve``);
        or (with a space) the wall seconds of the whole tuned step, tuner included. Times are the
        maximum over the ranks. Default: ``"wall"`` with a space, else ``"iterations"``.
    seed : int, optional
        Seeds rank 0's policy.
    context_range : (low, high), optional
        For contextual policies; pass the context with ``tuned.context = c`` before each solve.
    policy_options : dict, optional
        Extra arguments of the policy.
    space : bandits.petsc_space.PetscSpace, optional
        Tune whole configurations: each arm sets the KSP type, the PC type and their options and decides
        whether the preconditioner set up on an earlier matrix is kept (``option``/``values`` are then
        unused). The KSP and PC types are checked against this PETSc build when the tuner is made.
    problem_signature : str, optional
        A label of the problem, saved with the tuner: :meth:`load` refuses a file saved for another one.
    decide : {"build", "step"}
        With a space: decide at every step (default) or once per reuse cycle (``"build"``: a choice runs
        from a fresh build until its rule rebuilds, at most ``max_stretch`` steps, and the policy learns
        the cycle's mean cost per step), as :class:`bandits.Tuner` (:class:`bandits.stretch.Stretches`).
        Rank 0 keeps the stretch and broadcasts each step's choice.
    max_stretch : int
        With ``decide="build"``: the longest stretch one choice runs (default 10).
    cap : float or None
        With a space, ``decide="step"`` and a time cost, in :meth:`solve`: the solve of a configuration
        other than the incumbent (the lowest recent mean cost per step) is stopped once it has taken
        ``cap`` times the incumbent's cost (default :data:`bandits.capping.DEFAULT_CAP`, 2), charged as
        a failed solve, and the step is finished by the incumbent from the iterate reached
        (:mod:`bandits.capping`). The history then holds two entries for that step, ``capped`` and
        ``fallback``; the policy learns from the first. ``None``: no cap. (Any solve that did not
        converge, capped or not, is finished the same way, by the cheapest other configuration whose last
        step converged - the incumbent, unless the incumbent itself failed: a tuned step leaves the
        program an unconverged solution only where that finish fails too, or where no other
        configuration has converged yet. A solve that may be finished runs with the KSP's
        error-if-not-converged flag off, the finish with the program's setting, so under
        ``-ksp_error_if_not_converged`` only a step nothing known could solve raises.)
    charge : {"step", "cycle"}
        With a space, ``decide="step"`` and a time cost: what the policy is charged for a converged step,
        as :class:`bandits.Tuner`'s ``charge``. ``"step"`` (default): the step's own cost with the set-up
        replaced by the build's share (:func:`bandits.reuse.charged_cost`). ``"cycle"``: the mean cost per
        step of the configuration's reuse cycle - the build's share, the latest ``KSPSetUp`` of a step that
        kept the PC on the steps that keep it, plus at each age of the kept preconditioner the latest cost
        without set-up measured there (this step's included; unmeasured ages extrapolated) - from the same
        numbers on every rank
        (:meth:`bandits.petsc_config.KSPConfigurator.cycle_cost`). A step that did not converge, a capped
        trial and its finish are charged as with ``"step"``.
    sunk_setup : bool
        With a space, a time cost and the ``thompson`` policy: a configuration whose PC is kept for the
        next step has its drawn cost lowered by the set-up share its charged costs include, as that set-up
        is paid (rank 0, from :meth:`bandits.petsc_config.KSPConfigurator.sunk_setups`), as
        :class:`bandits.Tuner`'s ``sunk_setup``; the policy then switches between near-equal
        configurations where the kept one's build ends, not at every draw. Default ``False``;
        ``examples/petsc/config_tuner_loop.py`` turns it on. Development runs of that example (512^2,
        2 ranks, 300 steps, one run each): fast drift 54.8 s with it against 67.4 s without (59 switches
        of configuration against 139), 48.9 against 60.2 s with seed 1; slow drift 41.4 against 49.5 s
        (seed 0) and 41.4 against 38.8 s (seed 1, 9 switches against 11).

    Examples
    --------
    >>> from petsc4py import PETSc                           # doctest: +SKIP
    >>> ksp = PETSc.KSP().create(); ksp.setType("cg")        # doctest: +SKIP
    >>> ksp.getPC().setType("sor"); ksp.setFromOptions()     # doctest: +SKIP
    >>> ksp = KSPTuner("pc_sor_omega", seed=0).wrap(ksp)     # doctest: +SKIP
    >>> for step in range(100):                              # doctest: +SKIP
    ...     ksp.setOperators(A_step); ksp.solve(b, x)        # the simulation's own code, unchanged

    Over configurations; a later job warm-starts from the file the first one saved (second line):

    >>> from bandits.petsc_space import petsc_family_space
    >>> space = petsc_family_space()                         # hypre only where the build has it
    >>> tuner = KSPTuner(space=space, policy="thompson", seed=0,
    ...                  policy_options={"try_each": True})  # doctest: +SKIP
    >>> tuner = KSPTuner.load("tuner.json", space=space)    # doctest: +SKIP
    >>> ksp = tuner.wrap(ksp)                                # doctest: +SKIP
    >>> for step in range(100):                              # doctest: +SKIP
    ...     ksp.setOperators(A_step); ksp.solve(b, x)
    >>> tuner.save("tuner.json")                             # doctest: +SKIP
    """

    def __init__(self, option: str = "pc_sor_omega", values: Any = None, policy: str = "tsallis-inf",
                 cost: str | None = None, seed: int | None = None, context_range: tuple[float, float] | None = None,
                 policy_options: dict | None = None, *, space: PetscSpace | None = None,
                 problem_signature: str | None = None, decide: str = "step", max_stretch: int = 10,
                 cap: float | None = DEFAULT_CAP, charge: str = "step", sunk_setup: bool = False):
        if space is not None:
            if not isinstance(space, PetscSpace):
                raise InvalidInputError(f"space must be a bandits.petsc_space.PetscSpace, got {type(space).__name__}")
            space.check_available()
            option = "config"
        option = option.lstrip("-")
        if not option:
            raise InvalidInputError("option must name a PETSc option, e.g. 'pc_sor_omega'")
        cost = cost if cost is not None else ("wall" if space is not None else "iterations")
        values = check_tuner_setup(cost, space if space is not None else values, option, option.endswith("omega"))
        if option.endswith("sor_omega"):
            for v in values:
                solvers.inputs.check_omega(float(v))
        self.option, self.values, self.cost, self.seed = option, values, cost, seed
        self.space, self.problem_signature = space, problem_signature
        self.policy_name, self.context_range = policy, context_range
        self.policy_options = dict(policy_options or {})
        target = TuningTarget(values=tuple(values), param=option, has_matrix=False)
        self.policy = make_policy(policy, target, seed=seed, context_range=context_range, options=policy_options)
        self.sunk_setup = check_sunk_setup(sunk_setup, space is not None, cost, self.policy)
        self.configurator = KSPConfigurator(space) if space is not None else None
        self.history: list[dict[str, Any]] = []
        #: global number of rows of the systems learned on (set at the first solve)
        self.matrix_size: int | None = None
        self._check_size_on_next_solve = False
        #: where the current problem starts in the history, and a re-map's scaling (bandits.remap; the
        #: ratio of global rows)
        self.remap = RemapState()
        self._pending: tuple | None = None
        #: with a space: when rank 0's policy decides (bandits.stretch)
        self.stretches = Stretches(decide, max_stretch)
        self.cap = check_cap(cap)
        if charge not in ("step", "cycle"):
            raise InvalidInputError(f"charge must be 'step' or 'cycle', got {charge!r}")
        if charge == "cycle" and (space is None or cost == "iterations" or decide != "step"):
            raise InvalidInputError("charge='cycle' averages a time cost over the reuse cycles of a space's "
                                    "configurations: it needs a space, a time cost ('wall' or 'time') and "
                                    f"decide='step' (got space={'a space' if space is not None else None}, "
                                    f"cost={cost!r}, decide={decide!r})")
        self.charge = charge
        self._recent: RecentCosts | None = None  # built from the history when first needed
        self._solve_cap = KSPSolveCap()
        self._trial = False  # in solve(): a finish may follow the solve under way

    def wrap(self, ksp: Any) -> "TunedKSP":
        """A stand-in for ``ksp`` whose ``solve(b, x)`` is tuned; everything else goes to ``ksp``."""
        return TunedKSP(ksp, self)

    def choose(self, ksp: Any, context: float | None = None) -> Any:
        """Pick the value (or configuration) for the next solve (rank 0 decides, every rank receives it) and
        set it on ``ksp``; returns the value, or with a space the options now in effect."""
        from petsc4py import PETSc

        t0 = time.perf_counter()
        self._check_size(ksp)
        if self.space is not None:
            return self._choose_config(ksp, context, t0)
        comm = ksp.getComm().tompi4py()
        box: list = []
        decision = self._decide(context, box) if comm.rank == 0 else None
        arm, value, error = comm.bcast(decision, root=0)
        _raise_everywhere(error, box)  # so that no rank is left waiting in a collective call
        PETSc.Options(ksp.getOptionsPrefix())[self.option] = value
        ksp.setFromOptions()
        # the policy may read the residual history (observe): keep it, reset at every solve
        ksp.setConvergenceHistory(reset=True)
        self._pending = (arm, value, time.perf_counter(), context)
        return value

    def _check_size(self, ksp: Any) -> None:
        """Record the size of the systems; a loaded tuner refuses systems of another size (every rank
        sees the same global size, so every rank raises)."""
        A, _ = ksp.getOperators()
        n = int(A.getSize()[0]) if A.handle else 0
        if n <= 0:  # no operators yet: KSPSolve will say so
            return
        if self._check_size_on_next_solve and self.matrix_size not in (None, n):
            raise other_systems_error(f"of {self.matrix_size} rows", f"{n} rows")
        self._check_size_on_next_solve = False
        if self.matrix_size is None:
            self.matrix_size = n
            # every rank scales alike (the same global sizes; rank 0's policy is the one that decides)
            self.remap.apply({"n": n}, self.policy, self.stretches, self.cost)

    def _choose_config(self, ksp: Any, context: float | None, t0: float, fallback: int | None = None) -> dict[str, Any]:
        comm = ksp.getComm().tompi4py()
        box: list = []
        decision = self._decide_config(context, box, fallback) if comm.rank == 0 else None
        arm, rebuild, stretch_step, budget, finisher, error = comm.bcast(decision, root=0)
        _raise_everywhere(error, box)  # so that no rank is left waiting in a collective call
        applied = self.configurator.apply(ksp, arm, rebuild)
        ksp.setConvergenceHistory(reset=True)
        self._pending = _ConfigStep(arm, applied, t0, context, time.perf_counter(), stretch_step, budget, finisher,
                                    fallback is not None)
        return applied

    def _decide_config(self, context: float | None, box: list,
                       fallback: int | None = None) -> tuple[int, bool, int, float | None, int | None, str | None]:
        """Rank 0: ``(arm, rebuild, step in the stretch, budget of a capped solve or None, the finisher or
        None, None)``, or ``(-1, False, 0, None, None, message)`` with the exception put in ``box``.
        ``fallback``: the arm that finishes a step another arm left unconverged (no policy draw)."""
        try:
            if fallback is not None:
                return fallback, bool(self.configurator.rebuild_needed(fallback)), 0, None, None, None
            arm, fresh = self.stretches.arm, False
            if arm is None:  # between stretches (at every step with decide="step"): the policy chooses
                arm = self._policy_arm(context)
                fresh = self.stretches.begin(arm)
            capping = self.stretches.decide == "step" and self.cost != "iterations"
            budget, finisher = self.recent.plan(arm, self.cap if capping else None)
            return (arm, fresh or bool(self.configurator.rebuild_needed(arm)), self.stretches.steps, budget,
                    finisher, None)
        except Exception as exc:  # noqa: BLE001 - re-raised on rank 0, reported on the others
            box.append(exc)
            return (-1, False, 0, None, None,
                    f"policy {self.policy_name!r} failed on rank 0: {type(exc).__name__}: {exc}")

    @property
    def recent(self) -> RecentCosts:
        """The recent costs of each configuration's completed steps (:class:`bandits.capping.RecentCosts`)."""
        if self._recent is None:
            self._recent = RecentCosts.from_history(self.history[self.remap.start:])
        return self._recent

    @property
    def cost_scale(self) -> float:
        """The factor the policy's costs were scaled by at the last re-map (:class:`bandits.remap.RemapState`;
        1.0 when none was)."""
        return self.remap.cost_scale

    def _policy_arm(self, context: float | None) -> int:
        """Rank 0: the policy's choice of configuration, refused (InvalidInputError) when unusable here."""
        value = self.policy.choose_value(None, context)
        if value is not None:
            raise InvalidInputError(f"policy {self.policy_name!r} chose a continuous value, but a configuration "
                                    "space has only its arms")
        arm = int(self.policy.select(context, sunk=self.stretches.kept_credits(self.configurator.sunk_setups()))
                  if self.sunk_setup else self.policy.select(context))
        if not 0 <= arm < len(self.values):
            raise InvalidInputError(f"policy {self.policy_name!r} selected arm {arm} of {len(self.values)}")
        if self.policy.wants_probe():
            raise InvalidInputError(f"policy {self.policy_name!r} asks for a probe solve, which KSPTuner "
                                    "does not run; use bandits.Tuner for it")
        return arm

    def _decide(self, context: float | None, box: list) -> tuple[int, Any, str | None]:
        """Rank 0: ``(arm, value, None)``, or ``(-1, None, message)`` with the exception put in ``box`` when
        the policy fails or decides something unusable (every rank raises then)."""
        try:
            value = self.policy.choose_value(None, context)
            arm = int(self.policy.select(context))
            if not 0 <= arm < len(self.values):
                raise InvalidInputError(f"policy {self.policy_name!r} selected arm {arm} of {len(self.values)}")
            if value is None:
                value = self.values[arm]
            elif self.option.endswith("sor_omega"):
                solvers.inputs.check_omega(float(value))
            if self.policy.wants_probe():
                raise InvalidInputError(f"policy {self.policy_name!r} asks for a probe solve, which KSPTuner "
                                        "does not run; use bandits.Tuner for it")
        except Exception as exc:  # noqa: BLE001 - re-raised on rank 0, reported on the others
            box.append(exc)
            return -1, None, f"policy {self.policy_name!r} failed on rank 0: {type(exc).__name__}: {exc}"
        return arm, _plain(value), None

    def learn(self, ksp: Any, setup_seconds: float | None = None) -> float:
        """Feed the cost of the solve just done back to the policy (rank 0) and record it (all ranks).

        ``setup_seconds``: this rank's time in ``ksp.setUp()`` when the caller timed it apart from the
        solve (:meth:`solve` does); otherwise the set-up is counted in the solve."""
        if self._pending is None:
            raise InvalidInputError("learn() without choose(): call choose(ksp) before ksp.solve")
        if self.space is not None:
            return self._learn_config(ksp, setup_seconds)
        arm, value, t0, context = self._pending
        self._pending = None
        comm = ksp.getComm().tompi4py()
        its = int(ksp.getIterationNumber())
        seconds = comm.allreduce(time.perf_counter() - t0, op=_mpi_max())
        cost = float(its) if self.cost == "iterations" else float(seconds)
        reason = int(ksp.getConvergedReason())
        rhs = ksp.getRhs()
        b_norm = float(rhs.norm()) if rhs is not None and rhs.handle else 1.0  # collective: on every rank
        self._feed(comm, arm, cost, lambda: solvers.SolveResult(
            x=ksp.getSolution(), reason=solvers.Reason(reason), iterations=its,
            residual_norms=np.array(ksp.getConvergenceHistory(), dtype=np.float64), solve_time=seconds,
            method=f"petsc:{ksp.getType()}", options={self.option: _plain(value)}, b_norm=b_norm))
        self.history.append({"t": len(self.history), "arm": arm, "value": _plain(value), "cost": cost,
                             "iterations": its, "seconds": seconds, "converged": reason > 0,
                             "reason": solvers.Reason(reason).name,
                             "context": None if context is None else float(context)})
        return cost

    def _feed(self, comm: Any, arm: int, cost: float, result: Any, due: bool | None = None) -> None:
        """Rank 0 gives the policy the solve's result and cost; a failure there (a cost the policy cannot
        take ...) is raised on every rank, so that none is left waiting in the next collective call.
        ``due`` (with a space: whether the arm's rule rebuilds at the next step): the cost is booked in
        the stretch, and the policy learns the stretch's mean when it ends."""
        error, box = None, []
        if comm.rank == 0:
            try:
                self.policy.observe(arm, result())
                learned = cost if due is None else self.stretches.book(cost, due)
                if learned is not None:
                    self.policy.update(arm, learned)
            except Exception as exc:  # noqa: BLE001 - re-raised on rank 0, reported on the others
                error = f"policy {self.policy_name!r} failed on rank 0: {type(exc).__name__}: {exc}"
                box.append(exc)
        if comm.size > 1:
            error = comm.bcast(error, root=0)
        _raise_everywhere(error, box)

    def _learn_config(self, ksp: Any, setup_seconds: float | None) -> float:
        from mpi4py import MPI

        arm, applied, t0, context, t_applied, stretch_step, budget, _, fallback = self._pending
        self._pending = None
        comm = ksp.getComm().tompi4py()
        its, reason = int(ksp.getIterationNumber()), int(ksp.getConvergedReason())
        capped = self._solve_cap.disarm(ksp) and reason == -3  # KSP_DIVERGED_ITS at the cap's iterate
        # solve() finishes a trial that did not converge: that finish is the same step of the sequence
        finish_follows = self._trial and reason <= 0
        now = time.perf_counter()
        setup = 0.0 if setup_seconds is None else float(setup_seconds)
        local = np.array([now - t0, setup, now - t_applied - setup, t_applied - t0])
        worst = np.empty_like(local)
        comm.Allreduce(local, worst, op=MPI.MAX)  # the slowest rank sets the pace
        seconds, setup, solve_seconds, overhead = (float(v) for v in worst)
        rebuilt = not applied["reuse"]
        info = self.configurator.record(rebuilt, setup, solve_seconds, its, rule=self.space[arm].rebuild,
                                        converged=reason > 0, advance=not finish_follows)
        cost = (float(its) if self.cost == "iterations" else setup + solve_seconds if self.cost == "time"
                else seconds)
        charged = charged_cost(self.cost, cost, setup, info["setup_charged"], converged=reason > 0)
        if self.charge == "cycle" and reason > 0 and not fallback:
            # the same numbers on every rank (times reduced with max), so the same charge everywhere
            charged = self.configurator.cycle_cost(self.space[arm].rebuild, info, setup, cost)
        rhs = ksp.getRhs()
        b_norm = float(rhs.norm()) if rhs is not None and rhs.handle else 1.0  # collective: on every rank
        if not fallback:  # the step the policy chose; a fallback's cost is the capped step's, not a choice
            self._feed(comm, arm, charged, lambda: solvers.SolveResult(
                x=ksp.getSolution(), reason=solvers.Reason(reason), iterations=its,
                residual_norms=np.array(ksp.getConvergenceHistory(), dtype=np.float64), setup_time=setup,
                solve_time=solve_seconds, method=f"petsc:{applied['ksp_type']}", options=dict(applied), b_norm=b_norm),
                due=bool(self.configurator.rebuild_needed(arm)))
        entry = {"t": len(self.history), "arm": arm, "config": self.space[arm].name, "cost": cost,
                 "charged": charged, "iterations": its, "seconds": seconds, "setup_seconds": setup,
                 "solve_seconds": solve_seconds, "overhead": overhead, "converged": reason > 0,
                 "reason": solvers.Reason(reason).name, "stretch_step": stretch_step, **info,
                 "context": None if context is None else float(context), "options": applied,
                 "budget": budget if self._trial else None, "capped": capped, "fallback": fallback}
        recent = self.recent  # built from the history before this entry joins it
        self.history.append(entry)
        if counts(entry):
            recent.add(arm, charged, converged=reason > 0)
        elif reason <= 0:  # a finish that failed
            recent.mark_failed(arm)
        return cost

    def solve(self, ksp: Any, b: Any, x: Any, context: float | None = None) -> Any:
        """``choose``, ``ksp.setUp()`` (timed apart with a space), ``ksp.solve(b, x)``, ``learn``; returns
        the value used (with a space, the options in effect). With a space, a solve that was capped or
        did not converge is finished by the cheapest other configuration whose last step converged
        (``cap``)."""
        value = self.choose(ksp, context)
        if self.space is None:
            ksp.solve(b, x)
            self.learn(ksp)
            return value
        t = time.perf_counter()
        ksp.setUp()
        setup_seconds = time.perf_counter() - t
        step = self._pending
        # another configuration known to converge can finish this step if its solve fails (rank 0's, broadcast)
        trial = step.finisher is not None
        nonzero = ksp.getInitialGuessNonzero()
        # the step's initial iterate, kept while a finish may follow (one O(n) copy)
        start = x.copy() if trial and nonzero else None
        # -ksp_error_if_not_converged is the program's rule for the step, not for a trial: a trial that is
        # capped or fails does not raise, the finish runs under the program's setting
        raise_on_failure = ksp.getErrorIfNotConverged()
        try:
            if step.budget is not None:  # the same on every rank (broadcast with the arm)
                self._solve_cap.arm(ksp, step.budget)
            self._trial = trial
            if trial:
                ksp.setErrorIfNotConverged(False)
            ksp.solve(b, x)
            self.learn(ksp, setup_seconds)
            self._trial = False
            last = self.history[-1]
            if not last["converged"] and trial:
                # capped: the finisher goes on from the iterate reached; failed (an indefinite stale GAMG,
                # a divergence ...): it starts over from the step's initial iterate
                if not last["capped"]:
                    if start is not None:
                        start.copy(x)
                    else:
                        x.set(0.0)
                t0 = time.perf_counter()
                value = self._choose_config(ksp, context, t0, fallback=step.finisher)
                t = time.perf_counter()
                ksp.setUp()
                setup_seconds = time.perf_counter() - t
                ksp.setInitialGuessNonzero(True)
                ksp.setErrorIfNotConverged(raise_on_failure)
                try:
                    ksp.solve(b, x)
                finally:  # booked also when it raises (-ksp_error_if_not_converged), before the error goes on
                    ksp.setInitialGuessNonzero(nonzero)
                    self.learn(ksp, setup_seconds)
        finally:  # also when a solve raises (-ksp_error_if_not_converged ...): max_it restored, no leak
            self._trial = False
            self._solve_cap.disarm(ksp)
            ksp.setErrorIfNotConverged(raise_on_failure)
            if start is not None:
                start.destroy()
        return value

    # -- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """What :meth:`save` writes: the set-up, rank 0's policy state and the (shared) history."""
        return {"format": FORMAT, "option": self.option, "values": None if self.space is not None else
                [_plain(v) for v in self.values], "space": None if self.space is None else self.space.to_list(),
                "space_signature": None if self.space is None else self.space.signature(),
                "policy": self.policy_name, "cost": self.cost, "seed": self.seed,
                "context_range": self.context_range, "policy_options": self.policy_options,
                "policy_state": self.policy.state_dict(), "history": self.history,
                "problem_signature": self.problem_signature, "matrix_size": self.matrix_size,
                "stretches": self.stretches.state_dict(), "cap": self.cap, "charge": self.charge,
                "sunk_setup": self.sunk_setup,
                "remap": self.remap.state_dict()}

    def save(self, path: str | os.PathLike, comm: Any = None) -> Path:
        """Write the tuner as JSON, atomically, from rank 0 (collective: call it on every rank; an error on
        rank 0 is raised on every rank). ``comm``: the program's communicator (default
        ``PETSc.COMM_WORLD``)."""
        comm = _mpi_comm(comm)
        error, box = None, []
        if comm.rank == 0:
            try:
                write_json_atomic(path, self.state_dict())
            except Exception as exc:  # noqa: BLE001 - re-raised on rank 0, reported on the others
                error = f"{type(exc).__name__}: {exc}"
                box.append(exc)
        error = comm.bcast(error, root=0)
        _raise_everywhere(error, box, "saving the tuner failed on rank 0: ")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, space: PetscSpace | None = None, problem_signature: str | None = None,
             *, comm: Any = None, remap: bool = False) -> "KSPTuner":
        """Resume a tuner saved with :meth:`save` (collective: rank 0 reads the file, every rank receives it,
        so every rank holds the same state and raises the same error).

        A warm start of a new job: pass the job's ``space``; a file saved for another space (other arms,
        or another order) is refused with what differs, as the policy's state is indexed by arm, and so is
        a file saved for another ``problem_signature`` label and, at the first solve, a system of another
        size (``remap=True`` accepts another problem and keeps the learned state as a prior, its time costs
        scaled at the first solve by the ratio of global rows, recorded in :attr:`cost_scale`). The kept
        preconditioner is not saved: the first solve of the new job sets one up.
        """
        comm = _mpi_comm(comm)
        text, error = None, None
        if comm.rank == 0:
            try:
                text = Path(path).read_text()
            except OSError as exc:
                error = f"{path}: not a readable tuner file ({exc})"
        text, error = comm.bcast((text, error), root=0)
        if error is not None:
            raise InvalidInputError(error)
        try:
            state = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}: not a readable tuner file ({exc})") from exc
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise InvalidInputError(f"{path}: not a solverkit KSPTuner file (format {FORMAT!r})")
        saved_space = None if state["space"] is None else PetscSpace.from_list(state["space"])
        if space is not None:
            if saved_space is None:
                raise InvalidInputError(f"{path}: this tuner tunes the option {state['option']!r}, not a "
                                        "configuration space")
            if space.signature() != saved_space.signature():
                raise InvalidInputError(f"{path}: saved for another configuration space ({saved_space.difference(space)}"
                                        "); its learned state is indexed by arm and cannot be reused: start a new "
                                        "tuner or load it with the space it was saved with")
        saved_label = state.get("problem_signature")
        if problem_signature is not None and saved_label is not None and problem_signature != saved_label \
                and not remap:
            raise InvalidInputError(f"{path}: learned on problem {saved_label!r}, not {problem_signature!r}; start a "
                                    "new tuner, or pass remap=True to keep the learned state as a prior")
        cr = state["context_range"]
        tuner = cls(state["option"], state["values"], state["policy"], state["cost"], state["seed"],
                    tuple(cr) if cr is not None else None, state["policy_options"], space=saved_space,
                    problem_signature=problem_signature if problem_signature is not None else saved_label,
                    decide=(state.get("stretches") or {}).get("decide", "step"), cap=state.get("cap", DEFAULT_CAP),
                    charge=state.get("charge", "step"), sunk_setup=state.get("sunk_setup", False))
        tuner.policy.load_state_dict(state["policy_state"])
        tuner.history = state["history"]
        # a stretch in progress goes on with the same configuration (its preconditioner is set up again)
        tuner.stretches = Stretches.from_state(state.get("stretches"))
        tuner.matrix_size = None if remap else state.get("matrix_size")
        tuner.remap = RemapState.from_state(state.get("remap"))
        if remap:  # the costs are scaled at the first solve; another problem's costs are no capping budget
            tuner.remap.begin(len(tuner.history), {"n": state["matrix_size"]} if state.get("matrix_size") else None)
        tuner._check_size_on_next_solve = not remap
        return tuner

    @property
    def total_cost(self) -> float:
        return float(sum(h["cost"] for h in self.history))

    def release(self) -> None:
        """Destroy the preconditioners kept for configurations not in the KSP now (collective; with a
        space only, a no-op otherwise). :meth:`TunedKSP.destroy` calls it before destroying the KSP."""
        if self.configurator is not None:
            self.configurator.release()


class TunedKSP:
    """``ksp`` with a tuned ``solve``; set ``context`` before a solve for contextual policies."""

    def __init__(self, ksp: Any, tuner: KSPTuner):
        object.__setattr__(self, "ksp", ksp)
        object.__setattr__(self, "tuner", tuner)
        object.__setattr__(self, "context", None)

    def solve(self, b: Any, x: Any) -> None:
        self.tuner.solve(self.ksp, b, x, self.context)

    def destroy(self) -> None:
        """Destroy the PCs the tuner keeps for other configurations (:meth:`KSPTuner.release`), then the
        KSP (collective)."""
        self.tuner.release()
        self.ksp.destroy()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ksp, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("context",):
            object.__setattr__(self, name, value)
        else:
            setattr(self.ksp, name, value)


def _raise_everywhere(error: str | None, box: list, prefix: str = "") -> None:
    """Raise on every rank what failed on rank 0: there its own exception (taken out of ``box``), elsewhere
    an ``InvalidInputError`` with its message. No frame keeps the exception in a variable, as a reference
    cycle (frame -> exception -> traceback -> frame) would keep the frames' PETSc objects alive until a
    garbage collection on one rank only, and that rank's PETSc finalization would then wait for the others."""
    if error is None:
        return
    failure = box.pop() if box else InvalidInputError(prefix + error)
    try:
        raise failure
    finally:
        del failure


def _mpi_comm(comm: Any) -> Any:
    """An mpi4py communicator from a PETSc one, an mpi4py one, or ``None`` (``PETSc.COMM_WORLD``)."""
    if comm is None:
        from solvers.petsc._lib import petsc

        comm = petsc().COMM_WORLD
    return comm.tompi4py() if hasattr(comm, "tompi4py") else comm


def _mpi_max() -> Any:
    from mpi4py import MPI

    return MPI.MAX


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
