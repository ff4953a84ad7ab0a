"""Evaluating tuners on a sequence: full-information tables, policy runs, totals and ratios."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import solvers

from .tuner import DEFAULT_OMEGAS, Tuner

__all__ = ["full_information_table", "run_policy", "PolicyRun", "summarize"]


def _x0(problem: Any) -> Any:
    return getattr(problem, "meta", {}).get("x0")


def full_information_table(problems: Sequence[Any], method: str = "sor", pc: str | None = None,
                           values: Sequence[float] = DEFAULT_OMEGAS, progress: Callable[[int], None] | None = None,
                           **solve_options: Any) -> np.ndarray:
    """Iterations of every omega on every instance, shape ``(len(problems), len(values))``.

    One set-up per instance; only omega changes between the solves (``set_omega`` on SOR, a new
    SSOR splitting for a preconditioner), so the table costs little more than the solves themselves.

    Examples
    --------
    >>> from pde_examples.sequences import shifted_laplacian_sequence
    >>> table = full_information_table(list(shifted_laplacian_sequence(3, seed=0)), values=[1.0, 1.8])
    >>> table.shape, bool((table[:, 1] < table[:, 0]).all())
    ((3, 2), True)
    """
    table = np.zeros((len(problems), len(values)), dtype=np.int64)
    for i, p in enumerate(problems):
        if method == "sor" and pc is None:
            s = solvers.make_solver("sor", **solve_options).setup(p.A)
            for j, w in enumerate(values):
                s.set_omega(w)
                table[i, j] = s.solve(p.b, x0=_x0(p)).iterations
        else:
            for j, w in enumerate(values):
                table[i, j] = solvers.solve(p.A, p.b, method=method, pc=pc, omega=w, x0=_x0(p),
                                            **solve_options).iterations
        if progress is not None:
            progress(1)
    return table


@dataclass
class PolicyRun:
    """One policy's pass over a sequence."""

    name: str
    costs: np.ndarray
    values: np.ndarray
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return float(self.costs.sum())


def run_policy(problems: Iterable[Any], policy: str, method: str = "sor", pc: str | None = None, seed: int = 0,
               context_range: tuple[float, float] | None = None, policy_options: dict | None = None,
               label: str | None = None, progress: Callable[[int], None] | None = None,
               **solve_options: Any) -> PolicyRun:
    """Run a fresh :class:`Tuner` over the instances (warm starts from ``meta['x0']``)."""
    tuner = Tuner(method, "omega", policy=policy, seed=seed, context_range=context_range, pc=pc,
                  policy_options=policy_options, **solve_options)
    t0 = time.perf_counter()
    for p in problems:
        tuner.solve(p.A, p.b, context=p.meta.get("context"), x0=_x0(p))
        if progress is not None:
            progress(1)
    seconds = time.perf_counter() - t0
    return PolicyRun(label or policy, np.array([h["cost"] for h in tuner.history]),
                     np.array([h["value"] for h in tuner.history], dtype=float), seconds,
                     {"converged": all(h["converged"] for h in tuner.history)})


def summarize(runs: Sequence[PolicyRun], table: np.ndarray, values: Sequence[float] = DEFAULT_OMEGAS) -> list[dict]:
    """Rows with each run's total and its ratios to omega = 1, the best fixed omega and the
    instance-optimal choice (all three read from the full-information ``table``)."""
    values = np.asarray(values, dtype=float)
    omega_one = float(table[:, int(np.argmin(np.abs(values - 1.0)))].sum())
    fixed_totals = table.sum(axis=0)
    best = int(np.argmin(fixed_totals))
    best_fixed = float(fixed_totals[best])
    instance = float(table.min(axis=1).sum())
    rows = [{"policy": "omega = 1", "total": omega_one},
            {"policy": f"best fixed (omega = {values[best]:.2f})", "total": best_fixed},
            {"policy": "instance-optimal", "total": instance}]
    rows += [{"policy": r.name, "total": r.total, "seconds": r.seconds} for r in runs]
    for row in rows:
        row["/ omega=1"] = row["total"] / omega_one
        row["/ best fixed"] = row["total"] / best_fixed
        row["/ instance-opt"] = row["total"] / instance
    return rows
