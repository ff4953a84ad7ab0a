"""Shared fixtures: small problems every solver test can use."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests run where CuPy sees a GPU and skip cleanly elsewhere."""
    from solvers.gpu import gpu_available

    if gpu_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU with CuPy (runs on a GPU machine)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def laplacian_2d(n: int) -> sp.csr_matrix:
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    return (sp.kron(sp.eye(n), T) + sp.kron(T, sp.eye(n))).tocsr()


@pytest.fixture
def lap2d() -> sp.csr_matrix:
    return laplacian_2d(16)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def true_relres(A, x, b) -> float:
    A64 = A.astype(np.float64)
    x64, b64 = np.asarray(x, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(b64 - A64 @ x64) / np.linalg.norm(b64))
