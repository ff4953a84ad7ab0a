"""Fair timing: alternate the contenders (A B A B ...), repeat, report medians and ratios."""
from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["alternate", "code_version", "machine_description"]


def alternate(contenders: dict[str, Callable[[], Any]], repeats: int = 3) -> dict[str, dict[str, Any]]:
    """Run each contender ``repeats`` times in alternation; return per-name median seconds and last result.

    Alternating spreads slow drifts of the machine (other load, turbo, thermal) over all contenders
    instead of letting them fall on one.
    """
    times: dict[str, list[float]] = {k: [] for k in contenders}
    last: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            last[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {k: {"median": statistics.median(v), "min": min(v), "runs": len(v), "result": last[k]}
            for k, v in times.items()}


def machine_description() -> str:
    import numpy as np
    import scipy

    try:
        import pyamg

        pyamg_version = pyamg.__version__
    except ImportError:  # pragma: no cover
        pyamg_version = "-"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, SciPy {scipy.__version__}, PyAMG {pyamg_version}, code {code_version()}")


def code_version() -> str:
    """The git commit the benchmarks run from, with ``+changes`` when the work tree differs from it (a report
    must come from one committed version; the reports the suites write, ``benchmarks/results`` and
    ``docs/performance.md``, do not count); ``unknown`` outside a git checkout.

    Examples
    --------
    >>> isinstance(code_version(), str)
    True
    """
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":!benchmarks/results", ":!docs/performance.md"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "")
