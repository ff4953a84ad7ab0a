"""Residual-history plots (matplotlib, imported only when a plot is asked for)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .errors import MissingDependencyError
from .result import SolveResult

__all__ = ["plot_residuals"]


def plot_residuals(results: Mapping[str, SolveResult], path: Path | str, title: str = "") -> Path:
    """Relative residual against iteration for each labelled result, written atomically to ``path`` (PNG).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, solvers, tempfile, os
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(30, 30), format="csr")
    >>> res = solvers.solve(A, np.ones(30))
    >>> out = plot_residuals({"cg": res}, os.path.join(tempfile.mkdtemp(), "conv.png"))
    >>> out.stat().st_size > 0
    True
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("plots", "plot", "matplotlib") from None
    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, res in results.items():
        scale = res.b_norm if res.b_norm > 0 else 1.0
        ax.semilogy(res.residual_norms / scale, label=f"{label} ({res.iterations} its)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("||b - A x|| / ||b||")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
