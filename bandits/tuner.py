"""`Tuner`: learn a solver option across the sequence of systems a simulation solves."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import solvers
from solvers import InvalidInputError
from solvers.inputs import unwrap_problem

from .capping import RecentCosts, check_cap
from .remap import RemapState
from .policies import TuningTarget, make_policy
from .reuse import ConfigRunner, charged_cost, check_sunk_setup
from .space import ConfigSpace
from .stretch import Stretches

__all__ = ["Tuner", "DEFAULT_OMEGAS", "check_tuner_setup", "matrix_signature", "other_systems_error",
           "write_json_atomic"]

#: the paper's arms: 20 values of omega on [1, 1.95]
DEFAULT_OMEGAS = tuple(float(w) for w in np.linspace(1.0, 1.95, 20))
#: iterations; set-up + solve seconds; wall seconds of the whole tuner step (policy and bookkeeping too)
COSTS = ("iterations", "time", "wall")


def matrix_signature(A: Any) -> dict[str, Any]:
    """What a saved tuner remembers of the systems it learned on: size, stored entries and dtype.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> matrix_signature(sp.eye(4, format="csr"))
    {'n': 4, 'nnz': 4, 'dtype': 'float64'}
    """
    matrix, _ = unwrap_problem(A)
    nnz = getattr(matrix, "nnz", None)
    return {"n": int(matrix.shape[0]), "nnz": None if nnz is None else int(nnz),
            "dtype": str(getattr(matrix, "dtype", "unknown"))}


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically: a temporary file in the same folder, flushed to disk,
    then renamed over ``path``, so that a crash leaves the old file or the complete new one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_json_atomic(folder / "state.json", {"t": 3}).read_text()
    '{"t": 3}'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _finite_or_none(value: float) -> float | None:
    """``value`` as a float, or ``None`` where it is NaN or infinite (JSON has no such numbers)."""
    value = float(value)
    return value if np.isfinite(value) else None


def check_tuner_setup(cost: str, values: Any, what: str, is_omega: bool) -> list:
    """Validate a tuner's cost and return its arms (the paper's omegas by default).

    Examples
    --------
    >>> len(check_tuner_setup("iterations", None, "omega", True))
    20
    """
    if cost not in COSTS:
        raise InvalidInputError(f"cost must be one of {COSTS}, got {cost!r}")
    if isinstance(values, ConfigSpace):
        return list(values)
    if values is None:
        if not is_omega:
            raise InvalidInputError(f"give the values to try for {what!r}")
        values = DEFAULT_OMEGAS
    values = list(values)
    if not values:
        raise InvalidInputError("a tuner needs at least one value")
    return values


def other_systems_error(learned: str, this: str) -> InvalidInputError:
    """The error a loaded tuner (``Tuner`` or ``KSPTuner``) raises on systems unlike those it learned on.

    Examples
    --------
    >>> str(other_systems_error("of 100 rows", "200"))[:44]
    'this tuner was loaded from a file learned on'
    """
    return InvalidInputError(f"this tuner was loaded from a file learned on systems {learned}, and this system has "
                             f"{this}: its knowledge does not carry over. Start a new tuner, or load with "
                             "remap=True to keep the learned state as a prior")


class Tuner:
    """Wraps a registered method and learns one of its options (or the method itself) from the cost of
    each solve.

    Parameters
    ----------
    method : str
        Registered method (``"sor"``, ``"cg"`` ...). With ``param="method"`` it is ignored.
    param : str
        The option to tune: ``"omega"`` (SOR, SSOR, or an SSOR preconditioner), ``"strength"`` (AMG),
        ``"restart"`` (GMRES), ... or ``"method"`` to choose the method itself.
    values : sequence
        The arms. Default for omega: the paper's 20 values on [1, 1.95]. Every value is checked when the
        tuner is made (an omega of 2.5 is refused).
    policy : str
        A policy registered in ``solvers.registry`` under kind ``"tuner"`` (``bandits.POLICIES`` lists
        them): a built-in name, or a plug-in's (entry point ``solverkit.tuners`` or
        ``@solvers.registry.register("tuner", name)`` on a :class:`bandits.Policy` subclass).
    cost : {"iterations", "time", "wall"}, optional
        What a solve costs the policy: its iteration count, its set-up plus solve seconds, or the wall
        seconds of the whole tuner step (the policy's choice, the set-up, the solve and the bookkeeping).
        Default: ``"wall"`` with a ``space``, else ``"iterations"``.
    seed : int, optional
    context_range : (low, high), optional
        Needed by contextual policies (``chebcb``, ``binned-tsallis-inf``).
    pc : str, optional
        Preconditioner passed to every solve (``"ssor"`` to tune SSOR-PCG's omega).
    policy_options : dict, optional
        Extra arguments of the policy (``{"degree": 5}`` for ChebCB, ``{"arm": 3}`` for fixed ...).
    space : bandits.space.ConfigSpace, optional
        Tune whole configurations instead of one option: every arm is a :class:`bandits.space.Config`
        (method, preconditioner, options, preconditioner reuse rule), ``method``/``param``/``values``/
        ``pc`` are then unused. Solvers are kept between solves (:class:`bandits.reuse.ConfigRunner`), so
        a configuration may keep a preconditioner set up on an earlier matrix; ``history`` records
        whether it was rebuilt, its age and the drift statistic.
    problem_signature : str, optional
        A label of the problem (``"diffusion 512^2 drift=slow"``), saved with the tuner: :meth:`load`
        refuses a file saved with another label, and a loaded tuner refuses a first system whose size,
        stored entries or dtype differ from those it learned on (see :meth:`load` to re-map instead).
    max_cached : int
        With a ``space``: how many solvers (each holding a preconditioner) are kept (default 8, so that
        the families of :func:`~bandits.space.family_space` all keep theirs: with 4, the fifth family
        tried dropped the least recently used one's hierarchy, rebuilt when that family came back).
    decide : {"build", "step"}
        With a ``space``: when the policy chooses. ``"step"`` (default): a choice and an update at every
        step; a reuse rule then runs on whatever build the configurations sharing its preconditioner
        left. ``"build"``: a chosen configuration runs from a fresh preconditioner until its reuse rule
        rebuilds (or ``max_stretch`` steps), and the policy learns the mean cost per step of that stretch
        - what the rule costs as a whole, set-up and aging preconditioner included. Measured in
        ``python -m benchmarks.compare tuning-loops``, ``"build"`` lost in both runs (1.26x / 1.36x the
        best fixed configuration against 0.96x / 1.24x at 512^2 with the slow drift; 1.20x / 1.30x
        against 1.23x / 1.17x with the fast one; at 9fbb2f5 1.19x against 1.17x, and 1.19x against 1.19x).
    max_stretch : int
        With ``decide="build"``: the longest stretch one choice runs (default 10). A stretch cut by it
        keeps the build if the policy chooses the same configuration again; a stretch is also cut once
        its mean cost per step is twice the best completed stretch's (:class:`bandits.stretch.Stretches`).
    cap : float, optional
        With a ``space``, ``decide="step"`` and a time cost: the solve of a configuration other than the
        incumbent (the lowest recent mean charged cost per step, :class:`bandits.capping.RecentCosts`)
        stops once it has taken ``cap`` times the incumbent's cost (4 is the Thompson policy's pruning
        ratio; :class:`bandits.petsc.KSPTuner`'s default is 2, :data:`bandits.capping.DEFAULT_CAP`), through
        :attr:`solvers.methods.base.Method.time_limit`: on the CPU, cg, fcg, bicgstab, minres and amg
        test it at every iterate, gmres at every restart; the compiled relaxation loops and the CUDA CG
        run to their own end. Without a time cost or with ``decide="build"`` the cap has no effect.
        Default ``None``: no cap (the ``tuning-loops`` report runs ``cap=4``; one run of it does not show
        that the cap helps at 512^2, README). With or without a
        cap, a solve that does not converge (capped, or an indefinite stale preconditioner ...) is
        charged as a failed step and the step is finished by the cheapest other configuration whose last
        step converged (the incumbent, unless the incumbent itself failed): from the iterate reached if
        capped, else from the step's initial guess. The history then holds two entries for that step, the
        second marked ``fallback`` (the policy learns from the first), and the result returned is the
        finish's: unconverged only where the finish fails too or no other configuration has converged.
    charge : {"step", "cycle"}
        With a ``space``, ``decide="step"`` and a time cost: what the policy is charged for a converged
        step. ``"step"`` (default): the step's cost with its preconditioner's set-up replaced by the
        build's share (:func:`bandits.reuse.charged_cost`). ``"cycle"``: the build's share plus the mean
        cost of a step over the reuse cycle the rule expects, from the latest cost measured at each age
        of the kept preconditioner, this step's included (:meth:`bandits.reuse.KeptPreconditioner.cycle_cost`):
        a reuse rule's cost per step without the spread between the fresh and the aged steps of its
        cycle. Steps that did not converge are charged as with ``"step"``. One run of ``tuning-loops``
        (9fbb2f5): 1.11x / 1.15x the best fixed configuration at 512^2 (slow / fast drift) against
        1.17x / 1.19x with ``"step"``, within the spread of single runs; ``"step"`` stays the default.
    sunk_setup : bool
        With a ``space``, a time cost and the ``thompson`` policy: before each choice, a configuration
        whose preconditioner is kept for the next step (built, not due under its reuse rule) has its
        drawn cost lowered by the set-up share its charged costs include, as that set-up is paid
        (:func:`bandits.reuse.sunk_setups`, :meth:`bandits.policies.thompson.SharedThompson.select`). The
        policy then switches between configurations within that share of each other where the kept one's
        build ends, not at every draw (each switch back paying a new set-up). Default ``False``. It pays
        where near-equal configurations alternate: in the 512^2 PETSc loop (:class:`bandits.petsc.KSPTuner`,
        whose example turns it on). In this Python loop the tuner switched little without it (13 times in
        300 steps) and one development run per drift was 5 % slower with it (106.6 / 109.1 s against
        101.2 / 103.8 s, fast / slow, seed 0, inside the machine's run-to-run noise; measured before
        9194673 lowered the credit of an amortized build in its first life): not the default here.
    **solve_options
        Passed to every ``solvers.solve`` call (``rtol``, ``maxiter`` ...).

    Examples
    --------
    >>> import numpy as np
    >>> from bandits import Tuner
    >>> from pde_examples.sequences import shifted_laplacian_sequence
    >>> tuner = Tuner("sor", "omega", policy="tsallis-inf", seed=0)
    >>> for p in shifted_laplacian_sequence(20, seed=0):
    ...     res = tuner.solve(p.A, p.b)
    >>> len(tuner.history), all(h["converged"] for h in tuner.history)
    (20, True)

    Over a space of configurations, with wall time as the cost:

    >>> from bandits.space import ConfigSpace
    >>> space = ConfigSpace.grid("cg", "ic", rebuild=[1, 4]) + ConfigSpace.grid("cg", "ssor", omega=[1.2, 1.6])
    >>> tuner = Tuner(space=space, policy="thompson", seed=0, rtol=1e-8)
    >>> for p in shifted_laplacian_sequence(10, seed=0):
    ...     res = tuner.solve(p.A, p.b)
    >>> tuner.cost, len(tuner.history), sorted(tuner.history[0])[:4]
    ('wall', 10, ['arm', 'budget', 'capped', 'charged'])
    """

    def __init__(self, method: str = "sor", param: str = "omega", values: Any = None, policy: str = "tsallis-inf",
                 cost: str | None = None, seed: int | None = None, context_range: tuple[float, float] | None = None,
                 *, pc: str | None = None, policy_options: dict | None = None, space: ConfigSpace | None = None,
                 problem_signature: str | None = None, max_cached: int = 8, decide: str = "step",
                 max_stretch: int = 10, cap: float | None = None, charge: str = "step", sunk_setup: bool = False,
                 **solve_options: Any):
        if space is not None and not isinstance(space, ConfigSpace):
            raise InvalidInputError(f"space must be a bandits.space.ConfigSpace, got {type(space).__name__}")
        cost = cost if cost is not None else ("wall" if space is not None else "iterations")
        self.space = space
        if space is not None:
            method, param, pc = "", "config", None
        values = check_tuner_setup(cost, space if space is not None else values, param, param == "omega")
        self.method, self.param, self.values, self.cost, self.pc = method, param, values, cost, pc
        self.policy_name, self.seed, self.context_range = policy, seed, context_range
        self.policy_options = dict(policy_options or {})
        self.solve_options = solve_options
        self.problem_signature, self.max_cached = problem_signature, int(max_cached)
        if cap is not None and space is None:
            raise InvalidInputError("cap bounds the solves of the configurations of a space; pass space=...")
        self.cap = check_cap(cap)
        if charge not in ("step", "cycle"):
            raise InvalidInputError(f"charge must be 'step' or 'cycle', got {charge!r}")
        if charge == "cycle" and (space is None or cost == "iterations" or decide != "step"):
            raise InvalidInputError("charge='cycle' averages a time cost over the reuse cycles of a space's "
                                    "configurations: pass space=..., a time cost ('wall' or 'time') and "
                                    "decide='step'")
        self.charge = charge
        self._recent: RecentCosts | None = None
        #: with a space: when the policy decides (bandits.stretch)
        self.stretches = Stretches(decide, max_stretch)
        #: the size / entries / dtype of the systems learned on (set by the first solve)
        self.matrix_signature: dict[str, Any] | None = None
        self._check_matrix_on_next_solve = False
        #: where the current problem starts in the history, and a re-map's scaling (bandits.remap)
        self.remap = RemapState()
        if space is None:
            for v in values:  # refuse a bad value now, not in the middle of a simulation
                self._options_for(v, check=True)
            self.runner = None
        else:  # the space validated its arms; solve options are checked with the first of them
            solvers.make_solver(**{**space[0].solve_options(), **{k: v for k, v in solve_options.items()
                                                                  if k not in ("backend", "x0")}})
            self.runner = ConfigRunner(space, max_cached=max_cached, **solve_options)
        target = TuningTarget(values=tuple(values), param=param, method=None if param in ("method", "config") else
                              method, pc=pc)
        self.policy = make_policy(policy, target, seed=seed, context_range=context_range, options=self.policy_options)
        self.sunk_setup = check_sunk_setup(sunk_setup, space is not None, cost, self.policy)
        self.history: list[dict[str, Any]] = []

    def _options_for(self, value: Any, check: bool = False) -> dict[str, Any]:
        method = value if self.param == "method" else self.method
        opts = {"method": method, "pc": self.pc, **self.solve_options}
        if self.param != "method":
            opts[self.param] = value
        if check:
            solvers.make_solver(**{k: v for k, v in opts.items() if k != "backend"})  # raises InvalidInputError / UnknownComponentError
        return opts

    def _check_matrix(self, A: Any) -> None:
        sig = matrix_signature(A)
        if self._check_matrix_on_next_solve and self.matrix_signature not in (None, sig):
            raise other_systems_error(f"with {self.matrix_signature}", str(sig))
        self._check_matrix_on_next_solve = False
        if self.matrix_signature is None:
            self.matrix_signature = sig
            self.remap.apply(sig, self.policy, self.stretches, self.cost)

    def solve(self, A: Any, b: Any, context: float | None = None, **solve_options: Any) -> solvers.SolveResult:
        """Pick a value, solve ``A x = b`` with it, feed the cost back; returns the ``SolveResult``."""
        if self._check_matrix_on_next_solve or self.matrix_signature is None:
            self._check_matrix(A)
        if self.space is not None:
            return self._solve_space(A, b, context, solve_options)
        t0 = time.perf_counter()
        probe_its = 0
        value = self.policy.choose_value(unwrap_problem(A)[0], context)
        arm = self.policy.select(context)
        if value is None:
            value = self.values[arm]
        if self.policy.wants_probe():
            # stop well above the rounding floor: a stagnating tail would fake a slow factor
            probe = solvers.solve(A, b, method="sor", omega=1.0, rtol=1e-10, maxiter=60, x0=solve_options.get("x0"))
            probe_its = probe.iterations
            self.policy.observe_probe(probe)
        opts = {**self._options_for(value), **solve_options}
        res = solvers.solve(A, b, **opts)
        elapsed = time.perf_counter() - t0
        cost = (float(res.iterations + probe_its) if self.cost == "iterations" else elapsed if self.cost == "wall"
                else res.setup_time + res.solve_time)
        self.policy.observe(arm, res)
        self.policy.update(arm, cost)
        self.history.append({"t": len(self.history), "arm": arm, "value": value if not isinstance(value, np.generic)
                             else value.item(), "cost": cost, "iterations": res.iterations, "probe_iterations": probe_its,
                             "seconds": elapsed, "converged": bool(res.converged),
                             "context": None if context is None else float(context)})
        return res

    @property
    def recent(self) -> RecentCosts:
        """The recent charged costs of each configuration's own steps (:class:`bandits.capping.RecentCosts`)."""
        if self._recent is None:
            self._recent = RecentCosts.from_history(self.history[self.remap.start:])
        return self._recent

    @property
    def cost_scale(self) -> float:
        """The factor the policy's costs were scaled by at the last re-map (:class:`bandits.remap.RemapState`;
        1.0 when none was)."""
        return self.remap.cost_scale

    def _solve_space(self, A: Any, b: Any, context: float | None, solve_options: dict) -> solvers.SolveResult:
        t0 = time.perf_counter()
        arm, fresh = self.stretches.arm, False
        if arm is None:
            arm = (self.policy.select(context, sunk=self.stretches.kept_credits(self.runner.sunk_setups()))
                   if self.sunk_setup else self.policy.select(context))
            fresh = self.stretches.begin(arm)
        stretch_step = self.stretches.steps
        capping = self.stretches.decide == "step" and self.cost != "iterations"
        budget, finisher = self.recent.plan(arm, self.cap if capping else None)
        trial = finisher is not None  # a finish may follow
        t1 = time.perf_counter()
        res, info = self.runner.run(arm, A, b, rebuild=fresh, time_limit=budget, advance=not trial,
                                    **solve_options)
        t2 = time.perf_counter()
        record = self._record(arm, res, info, context, stretch_step, budget, fallback=False)
        t3 = time.perf_counter()
        elapsed = t3 - t0
        cost, charged = self._costs(res, info, elapsed)
        if self.charge == "cycle" and res.converged:
            cycle = self.runner.cycle_cost(arm, info, cost)
            charged = charged if cycle is None else cycle
        if trial and res.converged:
            self.runner.step += 1  # the step the trial began is done (before due(): the next step's rule)
        self.policy.observe(arm, res)
        mean = self.stretches.book(charged, due=self.runner.due(arm))
        if mean is not None:  # the stretch ended: the policy learns its mean cost per step
            self.policy.update(arm, mean)
        self.recent.add(arm, charged, converged=bool(res.converged))
        # the tuner's own time: the policy's choice and update, and the bookkeeping around the solve
        record.update(cost=cost, charged=charged, seconds=elapsed,
                      overhead=(t1 - t0) + (t3 - t2) + (time.perf_counter() - t3))
        if not trial or res.converged:
            return res
        return self._finish(finisher, A, b, res, info, context, solve_options)

    def _finish(self, finisher: int, A: Any, b: Any, trial: solvers.SolveResult, info: dict[str, Any],
                context: float | None, solve_options: dict) -> solvers.SolveResult:
        """``finisher`` finishes a step another configuration left unconverged: from that solve's iterate
        if it was capped, else from the step's initial guess; recorded as a ``fallback`` entry, not fed to
        the policy."""
        t0 = time.perf_counter()
        options = dict(solve_options)
        if info["capped"]:
            options["x0"] = trial.x
        t1 = time.perf_counter()
        res, finish = self.runner.run(finisher, A, b, **options)
        t2 = time.perf_counter()
        record = self._record(finisher, res, finish, context, 0, None, fallback=True)
        if not res.converged:
            self.recent.mark_failed(finisher)
        t3 = time.perf_counter()
        elapsed = t3 - t0
        cost, charged = self._costs(res, finish, elapsed)
        record.update(cost=cost, charged=charged, seconds=elapsed,
                      overhead=(t1 - t0) + (t3 - t2) + (time.perf_counter() - t3))
        return res

    def _record(self, arm: int, res: solvers.SolveResult, info: dict[str, Any], context: float | None,
                stretch_step: int, budget: float | None, fallback: bool) -> dict[str, Any]:
        record = {"t": len(self.history), "arm": arm, "config": self.space[arm].name, "iterations": res.iterations,
                  "converged": bool(res.converged), "residual_norm": _finite_or_none(res.residual_norms[-1]),
                  "context": None if context is None else float(context), "stretch_step": stretch_step, **info,
                  "budget": budget, "fallback": fallback}
        self.history.append(record)
        return record

    def _costs(self, res: solvers.SolveResult, info: dict[str, Any], elapsed: float) -> tuple[float, float]:
        """``(cost, charged)``: what the step took, and what the policy is charged (``charged_cost``)."""
        cost = (float(res.iterations) if self.cost == "iterations" else elapsed if self.cost == "wall"
                else res.setup_time + res.solve_time)
        return cost, charged_cost(self.cost, cost, res.setup_time, info["setup_charged"], converged=bool(res.converged))

    @property
    def total_cost(self) -> float:
        return float(sum(h["cost"] for h in self.history))

    # -- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        values = self.values if self.space is None else None  # a space is saved as "space"
        return {"format": "solverkit-tuner/1", "method": self.method, "param": self.param, "values": values,
                "policy": self.policy_name, "cost": self.cost, "seed": self.seed,
                "context_range": self.context_range, "pc": self.pc, "policy_options": self.policy_options,
                "solve_options": self.solve_options, "policy_state": self.policy.state_dict(),
                "history": self.history, "space": None if self.space is None else self.space.to_list(),
                "space_signature": None if self.space is None else self.space.signature(),
                "problem_signature": self.problem_signature, "matrix_signature": self.matrix_signature,
                "max_cached": self.max_cached, "stretches": self.stretches.state_dict(), "cap": self.cap,
                "charge": self.charge, "sunk_setup": self.sunk_setup,
                "remap": self.remap.state_dict()}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the tuner (configuration, policy state, history) as JSON, atomically: the file is either
        the old one or the complete new one, never half-written."""
        return write_json_atomic(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike, space: ConfigSpace | None = None, problem_signature: str | None = None,
             *, remap: bool = False) -> "Tuner":
        """Resume a tuner saved with :meth:`save`; it makes the choices an uninterrupted one would (with a
        ``space`` and ``decide="build"``: when saved between two stretches; saved within one, the resumed
        tuner finishes that stretch with the same configuration on a new build, whose length and cost may
        differ from the uninterrupted one's).

        The policy is looked up by its recorded name in ``solvers.registry``, so a plug-in policy must be
        registered (its distribution installed, or its module imported) before loading.

        A warm start of a new job: pass the job's ``space`` and ``problem_signature``; a file saved for
        another space (other arms) or another problem label is refused with what differs, and so is a
        first system of another size, number of entries or dtype than those learned on. With
        ``remap=True`` a different problem is accepted (the learned state serves as a prior; with a time
        cost, the policy takes the costs learned as scaled to the new systems' size at their first solve,
        :func:`bandits.remap.remap_cost_scale`, recorded in :attr:`cost_scale`); a space is never re-mapped, as the
        policy's state is indexed by arm.

        Preconditioners are not saved: a resumed tuner builds its first one again."""
        try:
            state = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"{path}: not a readable tuner file ({exc})") from exc
        if state.get("format") != "solverkit-tuner/1":
            raise InvalidInputError(f"{path}: not a solverkit tuner file")
        cr = state["context_range"]
        saved_space = None if state.get("space") is None else ConfigSpace.from_list(state["space"])
        if space is not None:
            if saved_space is None:
                raise InvalidInputError(f"{path}: this tuner tunes {state['param']!r}, not a configuration space")
            if space.signature() != saved_space.signature():
                raise InvalidInputError(f"{path}: saved for another configuration space ({saved_space.difference(space)}"
                                        f"); its learned state is indexed by arm and cannot be reused: start a new "
                                        "tuner or load it with the space it was saved with")
        saved_label = state.get("problem_signature")
        if problem_signature is not None and saved_label is not None and problem_signature != saved_label \
                and not remap:
            raise InvalidInputError(f"{path}: learned on problem {saved_label!r}, not {problem_signature!r}; start a "
                                    "new tuner, or pass remap=True to keep the learned state as a prior")
        values = saved_space if saved_space is not None else state["values"]
        kwargs = dict(pc=state["pc"], policy_options=state["policy_options"], space=saved_space,
                      problem_signature=problem_signature if problem_signature is not None else saved_label,
                      max_cached=state.get("max_cached", 8), cap=state.get("cap"), charge=state.get("charge", "step"),
                      sunk_setup=state.get("sunk_setup", False), **state["solve_options"])
        tuner = cls(state["method"], state["param"], None if saved_space is not None else values, state["policy"],
                    state["cost"], state["seed"], tuple(cr) if cr is not None else None, **kwargs)
        tuner.policy.load_state_dict(state["policy_state"])
        tuner.history = state["history"]
        # a stretch in progress goes on with the same configuration (its preconditioner is built again)
        tuner.stretches = Stretches.from_state(state.get("stretches"))
        tuner.matrix_signature = state.get("matrix_signature")
        tuner._check_matrix_on_next_solve = not remap
        tuner.remap = RemapState.from_state(state.get("remap"))
        if remap:  # the costs are scaled at the first solve; another problem's costs are no capping budget
            tuner.remap.begin(len(tuner.history), tuner.matrix_signature)
            tuner.matrix_signature = None
        return tuner

    def __repr__(self) -> str:
        if self.space is not None:
            return (f"Tuner(space={len(self.space)} configurations, policy={self.policy_name!r}, cost={self.cost!r}, "
                    f"solves={len(self.history)})")
        return (f"Tuner(method={self.method!r}, param={self.param!r}, policy={self.policy_name!r}, "
                f"arms={len(self.values)}, solves={len(self.history)})")
