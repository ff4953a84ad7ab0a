"""``python -m benchmarks.compare scaling``: time and memory of the core methods against problem size."""
from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np

import solvers
from pde_examples import poisson

__all__ = ["run_scaling", "fit_exponent"]

METHODS = [("cg", None), ("cg", "amg"), ("amg", None)]


def fit_exponent(sizes: np.ndarray, values: np.ndarray) -> float:
    """Slope of ``log(value)`` against ``log(size)`` (least squares): ``value ~ size^slope``.

    Examples
    --------
    >>> round(fit_exponent(np.array([1e4, 1e5, 1e6]), np.array([1.0, 10 ** 1.5, 10 ** 3.0])), 3)
    1.5
    """
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def run_scaling(quick: bool = False, out: Path | None = None) -> tuple[list[dict], list[str]]:
    sides = [100, 200, 400] if quick else [100, 200, 400, 800, 1400, 2000]
    b_rng = np.random.default_rng(0)
    rows, series = [], {}
    for n in sides:
        p = poisson((n, n))
        b = b_rng.standard_normal(p.n)
        for method, pc in METHODS:
            label = method + (f"+{pc}" if pc else "")
            solvers.solve(p.A, b, method=method, pc=pc, maxiter=2)  # compiled kernels outside the timing
            tracemalloc.start()
            t0 = time.perf_counter()
            res = solvers.solve(p.A, b, method=method, pc=pc, rtol=1e-8, maxiter=100_000)
            seconds = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows.append({"method": label, "unknowns": p.n, "iterations": res.iterations, "seconds": seconds,
                         "peak MiB": peak / 2 ** 20, "converged": res.converged})
            series.setdefault(label, []).append((p.n, seconds, peak, res.iterations))
    notes = []
    for label, pts in series.items():
        N, t, m, its = (np.array(v, dtype=float) for v in zip(*pts))
        notes.append(f"{label}: time ~ N^{fit_exponent(N, t):.2f}, memory ~ N^{fit_exponent(N, m):.2f}, "
                     f"iterations ~ N^{fit_exponent(N, its):.2f}")
    notes.append("expected in 2D: CG time ~ N^1.5 (iterations ~ N^0.5), AMG and AMG-PCG time ~ N^1 (iterations flat)")
    if out is not None:
        _plot(series, out)
    return rows, notes


def _plot(series: dict, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for label, pts in series.items():
        N, t, m, _ = (np.array(v, dtype=float) for v in zip(*pts))
        axes[0].loglog(N, t, "o-", label=f"{label} (slope {fit_exponent(N, t):.2f})")
        axes[1].loglog(N, m / 2 ** 20, "o-", label=f"{label} (slope {fit_exponent(N, m):.2f})")
    for ax, ylabel in zip(axes, ("set-up + solve [s]", "peak memory [MiB]")):
        ax.set_xlabel("unknowns (2D Poisson)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "scaling.png.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out / "scaling.png")
