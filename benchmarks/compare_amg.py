"""``python -m benchmarks.compare amg``: our smoothed-aggregation AMG (``implementation="solverkit"``)
against PyAMG's ``smoothed_aggregation_solver``, set-up and CG solve on the same matrices in one run.

For each matrix: set-up time, CG iterations to a relative residual of 1e-8 (both stop on
``||b - A x|| <= 1e-8 ||b||``), set-up + solve time (medians of alternated runs, each run a fresh
set-up), and peak traced memory (tracemalloc, one separate run each, set-up + solve). The goals of issue
20 are set-up <= 0.5x, iterations <= 1.2x, set-up + solve <= 0.7x and peak memory <= 1x PyAMG's.
"""
from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import numpy as np

import solvers
from pde_examples import anisotropic, diffusion, poisson

from .timing import alternate

__all__ = ["run_amg", "cases"]

RTOL = 1e-8


def cases(quick: bool) -> list[tuple[str, Any, Any]]:
    """``(name, A, B)``: Poisson 2-D and 3-D, a FEM matrix of PyAMG's gallery (Q1 linear elasticity with
    its rigid-body modes as B), an anisotropic and a variable-coefficient (log-normal) diffusion."""
    import pyamg.gallery

    side2, side3, side_fem, side_var = (300, 40, 100, 200) if quick else (1000, 100, 300, 500)
    out = [(f"2-D Poisson {side2}^2", poisson((side2, side2)).A.tocsr(), None)]
    if not quick:  # the second 2-D size: 4M unknowns
        out.append(("2-D Poisson 2000^2", poisson((2000, 2000)).A.tocsr(), None))
    out.append((f"3-D Poisson {side3}^3", poisson((side3, side3, side3)).A.tocsr(), None))
    A, B = pyamg.gallery.linear_elasticity((side_fem, side_fem), format="csr")
    out.append((f"FEM elasticity {side_fem}^2 (pyamg.gallery, B = rigid-body modes)", A.tocsr(), B))
    out.append((f"anisotropic eps=1e-2 {side_var}^2", anisotropic((side_var, side_var), epsilon=1e-2).A.tocsr(),
                None))
    out.append((f"log-normal diffusion sigma=1 {side_var}^2",
                diffusion((side_var, side_var), sigma=1.0, seed=1).A.tocsr(), None))
    return out


def _ours(A: Any, B: Any, b: np.ndarray) -> Callable[[], dict]:
    def run() -> dict:
        t0 = time.perf_counter()
        pc = solvers.registry.get("pc", "amg")(implementation="solverkit").setup(A, B)
        t1 = time.perf_counter()
        # the set-up is done: CG takes the set-up preconditioner as it is
        s = solvers.make_solver("cg", pc=_Ready(pc), rtol=RTOL, maxiter=1000).setup(A)
        res = s.solve(b)
        t2 = time.perf_counter()
        return {"setup": t1 - t0, "solve": t2 - t1, "its": res.iterations, "converged": res.converged,
                "levels": len(pc.hierarchy.levels), "complexity": pc.hierarchy.operator_complexity()}
    return run


class _Ready:
    """A preconditioner whose set-up is already done (``setup`` is a no-op), for timing the solve alone."""

    symmetric = True
    name = "amg"

    def __init__(self, pc: Any):
        self.pc = pc

    def setup(self, A: Any) -> "_Ready":
        return self

    def apply(self, r: np.ndarray) -> np.ndarray:
        return self.pc.apply(r)


def _pyamg(A: Any, B: Any, b: np.ndarray) -> Callable[[], dict]:
    import pyamg

    def run() -> dict:
        t0 = time.perf_counter()
        ml = pyamg.smoothed_aggregation_solver(A, B=B)
        t1 = time.perf_counter()
        res: list[float] = []
        ml.solve(b, tol=RTOL, accel="cg", residuals=res, maxiter=1000)
        t2 = time.perf_counter()
        return {"setup": t1 - t0, "solve": t2 - t1, "its": len(res) - 1,
                "converged": res[-1] <= RTOL * np.linalg.norm(b), "levels": len(ml.levels),
                "complexity": ml.operator_complexity()}
    return run


def _peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run_amg(quick: bool = False, out: Path | None = None, repeats: int | None = None) -> tuple[list[dict], list[str]]:
    repeats = repeats or (1 if quick else 2)
    rows, notes = [], []
    # load (or compile) the numba kernels outside the timings: the serial builds on a small matrix, the
    # threaded ones (for 100k stored entries and more) on a larger one
    for side in (30, 160):
        warm = poisson((side, side)).A.tocsr()
        _ours(warm, None, np.ones(side * side))()
    for name, A, B in cases(quick):
        b = np.random.default_rng(0).standard_normal(A.shape[0])
        t = alternate({"ours": _ours(A, B, b), "pyamg": _pyamg(A, B, b)}, repeats)
        o, p = t["ours"]["result"], t["pyamg"]["result"]
        # medians of the set-up and solve parts over the runs are not kept by alternate(): the parts of the
        # last run and the median of the whole are reported
        mem_o, mem_p = _peak_mib(_ours(A, B, b)), _peak_mib(_pyamg(A, B, b))
        rows.append({
            "case": name, "unknowns": A.shape[0],
            "setup ours [s]": o["setup"], "setup pyamg [s]": p["setup"], "setup ratio (<= 0.5)": o["setup"] / p["setup"],
            "its ours": o["its"], "its pyamg": p["its"], "its ratio (<= 1.2)": o["its"] / p["its"],
            "total ours [s]": t["ours"]["median"], "total pyamg [s]": t["pyamg"]["median"],
            "total ratio (<= 0.7)": t["ours"]["median"] / t["pyamg"]["median"],
            "peak ours [MiB]": mem_o, "peak pyamg [MiB]": mem_p, "peak ratio (<= 1)": mem_o / mem_p,
            "levels ours/pyamg": f"{o['levels']}/{p['levels']}",
            "op. complexity ours/pyamg": f"{o['complexity']:.2f}/{p['complexity']:.2f}",
            "converged": bool(o["converged"] and p["converged"]),
        })
    defaults = solvers.registry.get("pc", "amg")(implementation="solverkit").options
    notes.append(f"ours: pc='amg', implementation='solverkit' (defaults: MIS(2) aggregation, {defaults['smoother']} "
                 f"degree {defaults['degree']} smoothing, {defaults['cycle']}-cycle), CG from solvers.make_solver; "
                 "PyAMG: smoothed_aggregation_solver(A, B) with its defaults (V-cycle, symmetric Gauss-Seidel), "
                 "ml.solve(accel='cg'). Both to ||b - A x|| <= 1e-8 ||b||.")
    notes.append(f"total = set-up + solve, median of {repeats} alternated runs; set-up and its are those of "
                 "the last run; peak = tracemalloc peak of one more run each (set-up + solve).")
    return rows, notes
