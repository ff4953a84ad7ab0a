"""solverkit's benchmarks: the asv suite and ``python -m benchmarks.compare`` (side-by-side reports)."""
