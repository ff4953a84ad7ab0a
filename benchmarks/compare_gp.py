"""``python -m benchmarks.compare gp``: the GP PDE solver (ours, plain Adam on our loss, the authors' method)
against classical baselines, then its noisy-data and GPyTorch-kernel tables.

Every figure is the relative L2 error of the final result on a 300-point (1-D) or 300 x 300 (2-D) test
grid, end points included, and the wall time of the whole solve; no checkpoint is picked by test error
(our alternating path keeps the round with the smallest residual at non-collocation points, computed
without the exact solution).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pde_examples.highfreq import CASES

__all__ = ["run_gp", "GOALS", "QUICK_CASES"]

#: the earlier GP issue's goals (relative L2 error on the test grid), set on the cases as they were then:
#: poisson1d-sin100 on [0, 2 pi] (the paper's), the three others on [0, 1] (ours, now named ``-unit``)
GOALS = {"poisson1d-sin100": 1e-5, "poisson1d-sin6cos100-unit": 1e-4, "allencahn1d-sin100-unit": 1e-4,
         "poisson2d-sin6cos20-unit": 1e-3}
QUICK_CASES = tuple(GOALS)
#: steps of plain Adam on our loss (``method="adam"``; not the authors' method, which is ``method="paper"``)
ADAM_STEPS = 2000


def _test_points(case) -> np.ndarray:
    axes = [np.linspace(a, b, 300) for a, b in case.domain]
    return np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)


def _contenders(case, n: int) -> dict[str, Callable[[], Callable]]:
    from learned.gp import AdamConfig, AlternatingConfig, solve_pde

    from .baselines_pde import chebyshev, finite_difference

    def ours(kernel: str) -> AlternatingConfig:
        return AlternatingConfig(n=n, kernel=kernel, progress=False)

    out = {
        "GP-HM-StM (ours, alternating)": lambda: solve_pde(case, ours("student-t")),
        "GP-HM-GM (ours, alternating)": lambda: solve_pde(case, ours("gaussian")),
        f"GP-HM-StM, plain Adam on our loss ({ADAM_STEPS} steps)":
            lambda: solve_pde(case, AdamConfig(n=n, kernel="student-t", steps=ADAM_STEPS, progress=False)),
        "GP with SE kernel": lambda: solve_pde(case, ours("se")),
        "finite differences (2nd order, solve())": lambda: finite_difference(case, n),
    }
    if case.dim == 1 or case.pde.linear:
        out["Chebyshev collocation (numpy)"] = lambda: chebyshev(case, n)
    return out


def run_gp(quick: bool = False, out: Path | None = None) -> tuple[list[dict], list[str]]:
    from learned.gp.solver import default_points

    rows: list[dict] = []
    names = QUICK_CASES if quick else tuple(c for c in CASES if c != "poisson1d-lowfreq")
    for name in names:
        case = CASES[name]
        fmax = case.max_frequency if isinstance(case.max_frequency, tuple) else (case.max_frequency,) * case.dim
        n = max(default_points(b - a, f) for (a, b), f in zip(case.domain, fmax))
        pts = _test_points(case)
        u = case.exact(pts)
        for label, make in _contenders(case, n).items():
            t0 = time.perf_counter()
            try:
                solution = make()
                err = float(np.linalg.norm(solution(pts) - u) / np.linalg.norm(u))
            except Exception as exc:  # a failing contender is a row, not a crash
                err = float("nan")
                label = f"{label} (failed: {type(exc).__name__})"
            seconds = time.perf_counter() - t0
            goal = GOALS.get(name)
            rows.append({"case": name, "grid": "x".join([str(n)] * case.dim), "solver": label,
                         "rel. L2 error": f"{err:.2e}", "seconds": f"{seconds:.1f}",
                         "goal": "" if goal is None or not label.startswith("GP-HM") or "Adam" in label
                         else (f"<= {goal:g}: " + ("met" if err <= goal and seconds < 300 else "missed"))})
            print(f"{name:24s} {label:48s} {err:.2e} {seconds:7.1f}s", flush=True)
    notes = [
        "grid: points per axis, 6 per wavelength of the case's highest frequency (at least 64); every "
        "contender uses the same grid (Chebyshev: the same number of Chebyshev-Lobatto points).",
        "ours: closed-form collocation solve for the current kernel (solvers.solve, Sylvester in 2-D, Newton "
        "for Allen-Cahn), then 100 Adam steps (lr 1e-2) on the kernel's log marginal likelihood of those "
        "values; up to 15 rounds; Q = 30 components, frequencies on linspace(0, 1, Q) x Nyquist, weights "
        "initialized from the source's periodogram.",
        f"plain Adam on our loss (method='adam'): Adam on grid values, kernel and noise precision together, "
        f"{ADAM_STEPS} steps at lr 1e-2; not the authors' method, whose rows are in the table below.",
        "Chebyshev collocation is spectrally accurate on these smooth, non-periodic-free cases and wins "
        "outright on accuracy and time; its limits (global polynomials on a box, dense O(n^3) or O(n^6) "
        "2-D Newton systems) do not bite here. Second-order finite differences on the same grid are far "
        "less accurate (6 points per wavelength is coarse for them).",
    ]
    return rows, notes + _sections(quick)


def _sections(quick: bool) -> list:
    """The tables after the main one, as ``(title, rows, columns)``, their notes as bullets after them."""
    from .gp_gpyt import run_gp_gpyt
    from .gp_noise import run_gp_noise
    from .gp_paper import rows_paper

    out: list = []
    for title, (rows, notes) in (("The authors' method, faithful (method='paper')", rows_paper(quick=quick)),
                                 ("Noisy data and posterior coverage", run_gp_noise(quick=quick))):
        out.append((title, rows, list(dict.fromkeys(k for r in rows for k in r))))
        out += notes
    rows, notes = run_gp_gpyt(quick=quick)
    for table, title in (("kernels", "GPyTorch kernels through solve_pde"),
                         ("kronecker", "linear_operator's Kronecker algebra against our per-axis Cholesky")):
        part = [{k: v for k, v in r.items() if k != "table"} for r in rows if r["table"] == table]
        out.append((title, part, list(dict.fromkeys(k for r in part for k in r))))
    return out + notes
