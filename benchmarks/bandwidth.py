"""This machine's memory bandwidth, measured in the benchmark's own process (STREAM-style triad).

The bandwidth is the physical floor of every CPU kernel in ``benchmarks.compare core``: a sparse
iteration does about one multiply-add per 12 bytes it loads, so it can go no faster than the bytes it
must move (``benchmarks.traffic``) divided by this figure. A ratio of our time to SciPy's depends on the
machine (where both sit at the floor, the ratio is whatever SciPy's extra passes over memory cost there);
our time against the floor does not.

Why a threaded numba triad rather than ``np.add(b, c, out=a)``: NumPy's ufuncs run on one thread, and
one core alone does not saturate the memory controllers of a multi-core machine (measured on the 2-core
development machine: about 4.7 GB/s for ``np.add`` against 6 GB/s for the threaded triad at the same
footprint). Our CG, residual and mat-vec kernels (``solvers.kernels``) are numba ``prange`` loops over
all cores, so the floor they are held to must be measured the same way: the same compiler, the same
threading layer, the same number of threads.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np

__all__ = ["Bandwidth", "last_level_cache_bytes", "load_average", "measure_bandwidth", "triad"]

log = logging.getLogger(__name__)

#: assumed when /sys does not say (a generous last-level cache, so the arrays still dwarf it)
FALLBACK_LLC_BYTES = 64 * 2**20


@nb.njit(parallel=True, nogil=True, cache=True)
def triad(a: np.ndarray, b: np.ndarray, c: np.ndarray, s: float) -> None:  # pragma: no cover - compiled
    """``a = b + s c`` over all threads (STREAM's triad: two arrays read, one written)."""
    for i in nb.prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


def _parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
    return int(text.rstrip("KMG")) * scale


def last_level_cache_bytes(sysfs: Path = Path("/sys/devices/system/cpu")) -> int | None:
    """Total size of the last-level cache: the highest cache level in ``sysfs``, summed over its distinct
    instances (one per socket, or per core complex). ``None`` where ``sysfs`` says nothing.

    Examples
    --------
    >>> size = last_level_cache_bytes()
    >>> size is None or size >= 2**16
    True
    """
    instances: dict[str, int] = {}
    best_level = 0
    for index in sorted(sysfs.glob("cpu[0-9]*/cache/index[0-9]*")):
        try:
            level = int((index / "level").read_text())
            if (index / "type").read_text().strip() == "Instruction":
                continue
            size = _parse_size((index / "size").read_text())
            shared = (index / "shared_cpu_list").read_text().strip()
        except (OSError, ValueError):
            continue
        if level > best_level:
            best_level, instances = level, {}
        if level == best_level:
            instances[shared] = size
    return sum(instances.values()) or None


def _available_memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class Bandwidth:
    """One measurement: ``gbps`` = bytes read + written per second / 1e9 (STREAM convention: a store
    counts once, the write-allocate read is not counted), best of ``repeats``."""

    gbps: float
    threads: int
    array_bytes: int
    repeats: int
    llc_bytes: int | None

    @property
    def bytes_per_second(self) -> float:
        return self.gbps * 1e9

    def describe(self) -> str:
        llc = f"{self.llc_bytes / 2**20:.0f} MiB" if self.llc_bytes else "unknown"
        return (f"{self.gbps:.2f} GB/s (triad a = b + s c, {self.threads} thread(s), 3 arrays of "
                f"{self.array_bytes / 2**20:.0f} MiB, last-level cache {llc}, best of {self.repeats})")


def measure_bandwidth(footprint: int | None = None, repeats: int = 10, threads: int | None = None) -> Bandwidth:
    """Measure the triad bandwidth on arrays that together take ``footprint`` bytes.

    Parameters
    ----------
    footprint : int, optional
        Bytes of the three float64 arrays together. Default: 4 x the last-level cache (at least
        256 MiB), capped at a quarter of the available memory, so nothing is served from cache.
    repeats : int
        Timed runs after one warm-up run (which also compiles the kernel); the best counts, as in STREAM.
    threads : int, optional
        numba threads for the measurement (default: all, as our kernels use); restored afterwards.

    Returns
    -------
    Bandwidth

    Examples
    --------
    >>> bw = measure_bandwidth(footprint=3 * 2**20, repeats=2)
    >>> bw.array_bytes == 2**20 and bw.gbps > 0
    True
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    llc = last_level_cache_bytes()
    if footprint is None:
        footprint = max(4 * (llc or FALLBACK_LLC_BYTES), 256 * 2**20)
        avail = _available_memory_bytes()
        if avail is not None and footprint > avail // 4:
            log.warning("bandwidth: %d MiB of arrays wanted, %d MiB used (a quarter of the available memory)",
                        footprint >> 20, (avail // 4) >> 20)
            footprint = avail // 4
    n = max(int(footprint) // (3 * 8), 1)
    a = np.zeros(n)
    b = np.full(n, 1.0)
    c = np.full(n, 2.0)
    old = nb.get_num_threads()
    if threads is not None:
        nb.set_num_threads(int(threads))
    try:
        used = nb.get_num_threads()
        triad(a, b, c, 3.0)  # compile, and touch every page
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            triad(a, b, c, 3.0)
            best = min(best, time.perf_counter() - t0)
    finally:
        nb.set_num_threads(old)
    if a[0] != 7.0 or a[-1] != 7.0:  # pragma: no cover - a broken build, not a slow machine
        raise RuntimeError("bandwidth triad computed wrong values")
    return Bandwidth(gbps=3 * a.nbytes / best / 1e9, threads=used, array_bytes=a.nbytes, repeats=repeats,
                     llc_bytes=llc)


def load_average() -> str:
    """The 1-minute load average against the core count (other work on the machine skews timings)."""
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:  # pragma: no cover - not on Unix
        return "unknown"
