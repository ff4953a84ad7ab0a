"""Plots of tuner runs: iterations per step, cumulative regret, the omega chosen over time."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from solvers import MissingDependencyError

from .evaluation import PolicyRun

__all__ = ["plot_tuning"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("plots", "plot", "matplotlib") from None
    return plt


def _moving_average(x: np.ndarray, w: int) -> np.ndarray:
    w = max(1, min(w, len(x)))
    return np.convolve(x, np.ones(w) / w, mode="valid")


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    return path


def plot_tuning(runs: Sequence[PolicyRun], table: np.ndarray, values: Sequence[float], out: Path, prefix: str,
                title: str, window: int = 50) -> list[Path]:
    """Three PNGs under ``out``: ``<prefix>_iterations.png`` (moving average of iterations per step for each
    policy, omega = 1, the best fixed omega and the instance optimum), ``<prefix>_regret.png`` (cumulative
    cost above the instance optimum) and ``<prefix>_omega.png`` (omega played against the instance optimum).
    """
    plt = _pyplot()
    values = np.asarray(values, dtype=float)
    best = int(np.argmin(table.sum(axis=0)))
    one = int(np.argmin(np.abs(values - 1.0)))
    reference = {"omega = 1": table[:, one], f"best fixed ({values[best]:.2f})": table[:, best],
                 "instance-optimal": table.min(axis=1)}
    paths = []
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, series in reference.items():
        ax.plot(_moving_average(series.astype(float), window), "--", lw=1.5, label=label)
    for r in runs:
        ax.plot(_moving_average(r.costs, window), lw=1.2, label=r.name)
    ax.set_xlabel("step")
    ax.set_ylabel(f"iterations (moving average of {window})")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(_save(fig, out / f"{prefix}_iterations.png"))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    opt = table.min(axis=1).astype(float)
    for label, series in list(reference.items())[:2]:
        ax.plot(np.cumsum(series - opt), "--", label=label)
    for r in runs:
        ax.plot(np.cumsum(r.costs - opt), label=r.name)
    ax.set_xlabel("step")
    ax.set_ylabel("cumulative iterations above instance-optimal")
    ax.set_title(f"{title}: regret")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(_save(fig, out / f"{prefix}_regret.png"))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    inst = values[np.argmin(table, axis=1)]
    ax.plot(_moving_average(inst, window), "k-", lw=2, label="instance-optimal omega")
    for r in runs:
        ax.plot(_moving_average(r.values, window), lw=1.2, label=r.name)
    ax.set_xlabel("step")
    ax.set_ylabel(f"omega (moving average of {window})")
    ax.set_title(f"{title}: omega played")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(_save(fig, out / f"{prefix}_omega.png"))
    plt.close(fig)
    return paths
