"""The bandwidth measurement of ``benchmarks.compare core``: what it reads and computes (never its speed)."""
from __future__ import annotations

import doctest

import numba
import numpy as np
import pytest

from benchmarks import bandwidth
from benchmarks.bandwidth import last_level_cache_bytes, measure_bandwidth, triad


def _cache(root, cpu, index, level, kind, size, shared):
    d = root / f"cpu{cpu}" / "cache" / f"index{index}"
    d.mkdir(parents=True)
    for name, value in (("level", level), ("type", kind), ("size", size), ("shared_cpu_list", shared)):
        (d / name).write_text(f"{value}\n")


def test_last_level_cache_from_sysfs(tmp_path):
    for cpu in (0, 1):
        _cache(tmp_path, cpu, 0, 1, "Data", "48K", str(cpu))
        _cache(tmp_path, cpu, 1, 1, "Instruction", "32K", str(cpu))
        _cache(tmp_path, cpu, 2, 2, "Unified", "2048K", str(cpu))
        _cache(tmp_path, cpu, 3, 3, "Unified", "307200K", "0-1")  # one L3 shared by both cpus
    assert last_level_cache_bytes(tmp_path) == 300 * 2**20


def test_last_level_cache_sums_distinct_instances(tmp_path):
    for cpu in range(4):  # two sockets, 32 MiB each
        _cache(tmp_path, cpu, 0, 2, "Unified", "1M", str(cpu))
        _cache(tmp_path, cpu, 1, 3, "Unified", "32M", "0-1" if cpu < 2 else "2-3")
    assert last_level_cache_bytes(tmp_path) == 64 * 2**20
    assert last_level_cache_bytes(tmp_path / "missing") is None


def test_triad_computes_a_equals_b_plus_s_c():
    rng = np.random.default_rng(0)
    b, c = rng.standard_normal(1001), rng.standard_normal(1001)
    a = np.empty_like(b)
    triad(a, b, c, 0.5)
    np.testing.assert_array_equal(a, b + 0.5 * c)


def test_measure_bandwidth_sizes_threads_and_restores_them():
    before = numba.get_num_threads()
    bw = measure_bandwidth(footprint=3 * 8 * 1000, repeats=2, threads=1)
    assert (bw.array_bytes, bw.threads, bw.repeats) == (8000, 1, 2)
    assert numba.get_num_threads() == before
    assert np.isfinite(bw.gbps) and bw.bytes_per_second == bw.gbps * 1e9
    assert "1 thread(s)" in bw.describe()
    with pytest.raises(ValueError, match="repeats"):
        measure_bandwidth(footprint=3 * 8 * 1000, repeats=0)


def test_docstring_examples():
    assert doctest.testmod(bandwidth).failed == 0
