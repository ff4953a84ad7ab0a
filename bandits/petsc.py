"""Tuning inside PETSc programs: learn a PETSc option (``pc_sor_omega`` ...) across a time-stepping loop.

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
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

import solvers
from solvers import InvalidInputError

from .policies import TuningTarget, make_policy
from .tuner import check_tuner_setup

__all__ = ["KSPTuner", "TunedKSP"]


class KSPTuner:
    """A bandit over the values of one PETSc option, fed by the KSP's iteration counts.

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
    cost : {"iterations", "time"}
    seed : int, optional
        Seeds rank 0's policy.
    context_range : (low, high), optional
        For contextual policies; pass the context with ``tuned.context = c`` before each solve.

    Examples
    --------
    >>> from petsc4py import PETSc                           # doctest: +SKIP
    >>> ksp = PETSc.KSP().create(); ksp.setType("cg")        # doctest: +SKIP
    >>> ksp.getPC().setType("sor"); ksp.setFromOptions()     # doctest: +SKIP
    >>> ksp = KSPTuner("pc_sor_omega", seed=0).wrap(ksp)     # doctest: +SKIP
    >>> for step in range(100):                              # doctest: +SKIP
    ...     ksp.setOperators(A_step); ksp.solve(b, x)        # the simulation's own code, unchanged
    """

    def __init__(self, option: str = "pc_sor_omega", values: Any = None, policy: str = "tsallis-inf",
                 cost: str = "iterations", seed: int | None = None, context_range: tuple[float, float] | None = None,
                 policy_options: dict | None = None):
        option = option.lstrip("-")
        if not option:
            raise InvalidInputError("option must name a PETSc option, e.g. 'pc_sor_omega'")
        values = check_tuner_setup(cost, values, option, option.endswith("omega"))
        if option.endswith("sor_omega"):
            for v in values:
                solvers.inputs.check_omega(float(v))
        self.option, self.values, self.cost, self.seed = option, values, cost, seed
        self.policy_name = policy
        target = TuningTarget(values=tuple(values), param=option, has_matrix=False)
        self.policy = make_policy(policy, target, seed=seed, context_range=context_range, options=policy_options)
        self.history: list[dict[str, Any]] = []
        self._pending: tuple[int, Any, float, float | None] | None = None

    def wrap(self, ksp: Any) -> "TunedKSP":
        """A stand-in for ``ksp`` whose ``solve(b, x)`` is tuned; everything else goes to ``ksp``."""
        return TunedKSP(ksp, self)

    def choose(self, ksp: Any, context: float | None = None) -> Any:
        """Pick the value for the next solve (rank 0 decides, every rank receives it) and set it on ``ksp``."""
        from petsc4py import PETSc

        comm = ksp.getComm().tompi4py()
        decision, failure = self._decide(context) if comm.rank == 0 else (None, None)
        arm, value, error = comm.bcast(decision, root=0)
        if error is not None:  # raised on every rank, so that none is left waiting in a collective call
            if failure is not None:
                raise failure
            raise InvalidInputError(error)
        PETSc.Options(ksp.getOptionsPrefix())[self.option] = value
        ksp.setFromOptions()
        # the policy may read the residual history (observe): keep it, reset at every solve
        ksp.setConvergenceHistory(reset=True)
        self._pending = (arm, value, time.perf_counter(), context)
        return value

    def _decide(self, context: float | None) -> tuple[tuple[int, Any, str | None], Exception | None]:
        """Rank 0: ``((arm, value, None), None)``, or ``((-1, None, message), exception)`` when the policy
        fails or decides something unusable (every rank raises then)."""
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
            return (-1, None, f"policy {self.policy_name!r} failed on rank 0: {type(exc).__name__}: {exc}"), exc
        return (arm, _plain(value), None), None

    def learn(self, ksp: Any) -> float:
        """Feed the cost of the solve just done back to the policy (rank 0) and record it (all ranks)."""
        if self._pending is None:
            raise InvalidInputError("learn() without choose(): call choose(ksp) before ksp.solve")
        arm, value, t0, context = self._pending
        self._pending = None
        comm = ksp.getComm().tompi4py()
        its = int(ksp.getIterationNumber())
        seconds = comm.allreduce(time.perf_counter() - t0, op=_mpi_max())
        cost = float(its) if self.cost == "iterations" else float(seconds)
        reason = int(ksp.getConvergedReason())
        rhs = ksp.getRhs()
        b_norm = float(rhs.norm()) if rhs is not None and rhs.handle else 1.0  # collective: on every rank
        if comm.rank == 0:
            result = solvers.SolveResult(
                x=ksp.getSolution(), reason=solvers.Reason(reason), iterations=its,
                residual_norms=np.array(ksp.getConvergenceHistory(), dtype=np.float64), solve_time=seconds,
                method=f"petsc:{ksp.getType()}", options={self.option: _plain(value)}, b_norm=b_norm)
            self.policy.observe(arm, result)
            self.policy.update(arm, cost)
        self.history.append({"t": len(self.history), "arm": arm, "value": _plain(value), "cost": cost,
                             "iterations": its, "seconds": seconds, "converged": reason > 0,
                             "reason": solvers.Reason(reason).name,
                             "context": None if context is None else float(context)})
        return cost

    def solve(self, ksp: Any, b: Any, x: Any, context: float | None = None) -> Any:
        """``choose``, ``ksp.solve(b, x)``, ``learn``; returns the value used."""
        value = self.choose(ksp, context)
        ksp.solve(b, x)
        self.learn(ksp)
        return value

    @property
    def total_cost(self) -> float:
        return float(sum(h["cost"] for h in self.history))


class TunedKSP:
    """``ksp`` with a tuned ``solve``; set ``context`` before a solve for contextual policies."""

    def __init__(self, ksp: Any, tuner: KSPTuner):
        object.__setattr__(self, "ksp", ksp)
        object.__setattr__(self, "tuner", tuner)
        object.__setattr__(self, "context", None)

    def solve(self, b: Any, x: Any) -> None:
        self.tuner.solve(self.ksp, b, x, self.context)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ksp, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("context",):
            object.__setattr__(self, name, value)
        else:
            setattr(self.ksp, name, value)


def _mpi_max() -> Any:
    from mpi4py import MPI

    return MPI.MAX


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
