"""Running a :class:`~bandits.space.Config` on one system of a sequence, keeping preconditioners between
steps: the reuse rules of a configuration space (``rebuild=k``, ``rebuild="amortized"``)."""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

import solvers
from solvers.inputs import unwrap_problem

from .space import Config, ConfigSpace

__all__ = ["ConfigRunner", "drift_statistic"]


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


@dataclass
class _Entry:
    solver: Any
    built_step: int = -1
    build_seconds: float = 0.0
    fresh_iterations: int = 0
    excess_seconds: float = 0.0
    diag: Any = None


class ConfigRunner:
    """Solves each system with the configuration the tuner chose, keeping one solver per
    ``Config.pc_key`` (so configurations that differ only in their reuse rule share the preconditioner).

    Before each solve the configuration's rule decides whether the preconditioner is set up on this
    matrix or kept from an earlier one: ``rebuild=k`` rebuilds once it is ``k`` steps old (steps of the
    sequence, whoever used it in between); ``"amortized"`` rebuilds once the extra solve time the kept
    preconditioner has cost (iterations above those right after its build, at the seconds per iteration
    measured) reaches its set-up time. At most ``max_cached`` solvers are kept (least recently used
    dropped), as each holds a preconditioner.

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

    def __init__(self, space: ConfigSpace, max_cached: int = 4, **solve_options: Any):
        self.space = space
        self.max_cached = int(max_cached)
        self.solve_options = dict(solve_options)
        self.cache: OrderedDict[str, _Entry] = OrderedDict()
        self.step = 0

    def _entry(self, config: Config) -> _Entry:
        entry = self.cache.get(config.pc_key)
        if entry is None:
            opts = {k: v for k, v in self.solve_options.items() if k not in ("x0", "backend")}
            entry = _Entry(solvers.make_solver(config.method, pc=config.pc, **config.options, **opts))
            self.cache[config.pc_key] = entry
            while len(self.cache) > self.max_cached:
                self.cache.popitem(last=False)
        self.cache.move_to_end(config.pc_key)
        return entry

    def _rebuild(self, config: Config, entry: _Entry, n: int) -> bool:
        if entry.built_step < 0 or entry.solver.pc is None or entry.solver.n != n:
            return True
        if config.rebuild == "amortized":
            return entry.excess_seconds >= entry.build_seconds
        return self.step - entry.built_step >= int(config.rebuild)

    def run(self, arm: int, A: Any, b: Any, **solve_options: Any) -> tuple[solvers.SolveResult, dict[str, Any]]:
        """Solve ``A x = b`` with configuration ``arm``; returns the result and what happened (rebuilt or
        kept, the preconditioner's age in steps, the drift statistic, seconds)."""
        config = self.space[arm]
        matrix, _ = unwrap_problem(A)
        entry = self._entry(config)
        n = matrix.shape[0]
        rebuild = self._rebuild(config, entry, n)
        diag = matrix.diagonal() if sp.issparse(matrix) or isinstance(matrix, np.ndarray) else None
        drift = 0.0
        if not rebuild and diag is not None and entry.diag is not None:
            drift = drift_statistic(diag, entry.diag)
        solver = entry.solver
        solver.setup(matrix, pc_reuse="rebuild" if rebuild else "keep")
        opts = {**{k: v for k, v in self.solve_options.items() if k in ("x0", "backend")}, **solve_options}
        res = solver.solve(b, x0=opts.get("x0"), backend=opts.get("backend", "auto"))
        if rebuild and solver.pc is not None:
            entry.built_step, entry.build_seconds = self.step, res.setup_time
            entry.fresh_iterations, entry.excess_seconds, entry.diag = res.iterations, 0.0, diag
        elif solver.pc is not None:
            per_iteration = res.solve_time / max(res.iterations, 1)
            entry.excess_seconds += max(res.iterations - entry.fresh_iterations, 0) * per_iteration
        info = {"rebuilt": bool(rebuild), "pc_age": 0 if solver.pc is None else self.step - entry.built_step,
                "drift": drift, "setup_seconds": res.setup_time, "solve_seconds": res.solve_time}
        self.step += 1
        return res, info
