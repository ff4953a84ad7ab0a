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

from .policies import TuningTarget, make_policy

__all__ = ["Tuner", "DEFAULT_OMEGAS", "check_tuner_setup"]

#: the paper's arms: 20 values of omega on [1, 1.95]
DEFAULT_OMEGAS = tuple(float(w) for w in np.linspace(1.0, 1.95, 20))
COSTS = ("iterations", "time")


def check_tuner_setup(cost: str, values: Any, what: str, is_omega: bool) -> list:
    """Validate a tuner's cost and return its arms (the paper's omegas by default).

    Examples
    --------
    >>> len(check_tuner_setup("iterations", None, "omega", True))
    20
    """
    if cost not in COSTS:
        raise InvalidInputError(f"cost must be one of {COSTS}, got {cost!r}")
    if values is None:
        if not is_omega:
            raise InvalidInputError(f"give the values to try for {what!r}")
        values = DEFAULT_OMEGAS
    values = list(values)
    if not values:
        raise InvalidInputError("a tuner needs at least one value")
    return values


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
    cost : {"iterations", "time"}
        What a solve costs the policy: its iteration count or its set-up plus solve seconds.
    seed : int, optional
    context_range : (low, high), optional
        Needed by contextual policies (``chebcb``, ``binned-tsallis-inf``).
    pc : str, optional
        Preconditioner passed to every solve (``"ssor"`` to tune SSOR-PCG's omega).
    policy_options : dict, optional
        Extra arguments of the policy (``{"degree": 5}`` for ChebCB, ``{"arm": 3}`` for fixed ...).
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
    """

    def __init__(self, method: str = "sor", param: str = "omega", values: Any = None, policy: str = "tsallis-inf",
                 cost: str = "iterations", seed: int | None = None, context_range: tuple[float, float] | None = None,
                 *, pc: str | None = None, policy_options: dict | None = None, **solve_options: Any):
        values = check_tuner_setup(cost, values, param, param == "omega")
        self.method, self.param, self.values, self.cost, self.pc = method, param, values, cost, pc
        self.policy_name, self.seed, self.context_range = policy, seed, context_range
        self.policy_options = dict(policy_options or {})
        self.solve_options = solve_options
        for v in values:  # refuse a bad value now, not in the middle of a simulation
            self._options_for(v, check=True)
        target = TuningTarget(values=tuple(values), param=param, method=None if param == "method" else method, pc=pc)
        self.policy = make_policy(policy, target, seed=seed, context_range=context_range, options=self.policy_options)
        self.history: list[dict[str, Any]] = []

    def _options_for(self, value: Any, check: bool = False) -> dict[str, Any]:
        method = value if self.param == "method" else self.method
        opts = {"method": method, "pc": self.pc, **self.solve_options}
        if self.param != "method":
            opts[self.param] = value
        if check:
            solvers.make_solver(**{k: v for k, v in opts.items() if k != "backend"})  # raises InvalidInputError / UnknownComponentError
        return opts

    def solve(self, A: Any, b: Any, context: float | None = None, **solve_options: Any) -> solvers.SolveResult:
        """Pick a value, solve ``A x = b`` with it, feed the cost back; returns the ``SolveResult``."""
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
        cost = float(res.iterations + probe_its) if self.cost == "iterations" else res.setup_time + res.solve_time
        self.policy.observe(arm, res)
        self.policy.update(arm, cost)
        self.history.append({"t": len(self.history), "arm": arm, "value": value if not isinstance(value, np.generic)
                             else value.item(), "cost": cost, "iterations": res.iterations, "probe_iterations": probe_its,
                             "seconds": elapsed, "converged": bool(res.converged),
                             "context": None if context is None else float(context)})
        return res

    @property
    def total_cost(self) -> float:
        return float(sum(h["cost"] for h in self.history))

    # -- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"format": "solverkit-tuner/1", "method": self.method, "param": self.param, "values": self.values,
                "policy": self.policy_name, "cost": self.cost, "seed": self.seed,
                "context_range": self.context_range, "pc": self.pc, "policy_options": self.policy_options,
                "solve_options": self.solve_options, "policy_state": self.policy.state_dict(),
                "history": self.history}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the tuner (configuration, policy state, history) as JSON, atomically: the file is either
        the old one or the complete new one, never half-written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.state_dict(), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Tuner":
        """Resume a tuner saved with :meth:`save`; it makes the choices an uninterrupted one would.

        The policy is looked up by its recorded name in ``solvers.registry``, so a plug-in policy must be
        registered (its distribution installed, or its module imported) before loading."""
        try:
            state = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"{path}: not a readable tuner file ({exc})") from exc
        if state.get("format") != "solverkit-tuner/1":
            raise InvalidInputError(f"{path}: not a solverkit tuner file")
        cr = state["context_range"]
        tuner = cls(state["method"], state["param"], state["values"], state["policy"], state["cost"], state["seed"],
                    tuple(cr) if cr is not None else None, pc=state["pc"], policy_options=state["policy_options"],
                    **state["solve_options"])
        tuner.policy.load_state_dict(state["policy_state"])
        tuner.history = state["history"]
        return tuner

    def __repr__(self) -> str:
        return (f"Tuner(method={self.method!r}, param={self.param!r}, policy={self.policy_name!r}, "
                f"arms={len(self.values)}, solves={len(self.history)})")
