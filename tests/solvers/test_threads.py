"""NumPy's OpenBLAS runs on one thread inside our set-ups and solves (beside the threaded numba kernels)
and gets the caller's setting back afterwards."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import solvers
from solvers.threads import single_blas_thread
from tests.conftest import laplacian_2d


def _openblas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"}


@pytest.fixture
def two_blas_threads():
    if not _openblas_threads():
        pytest.skip("no OpenBLAS loaded (NumPy built against another BLAS)")
    with threadpool_limits(limits=2, user_api="blas"):
        yield


@pytest.mark.parametrize("method", ["cg", "gmres", "bicgstab", "minres"])
def test_solve_runs_with_one_blas_thread_and_restores(method, two_blas_threads):
    seen = []
    A = laplacian_2d(20)

    class Recording:  # an identity preconditioner that records what it sees during the iteration
        symmetric = True

        def setup(self, A):
            return self

        def apply(self, r):
            seen.append(_openblas_threads())
            return r.copy()

    res = solvers.solve(A, np.ones(400), method=method, pc=Recording(), rtol=1e-8)
    assert res.converged and seen
    assert all(s == {1} for s in seen)
    assert _openblas_threads() == {2}


def test_nested_contexts_restore_only_at_the_outermost(two_blas_threads):
    with single_blas_thread():
        with single_blas_thread():
            assert _openblas_threads() == {1}
        assert _openblas_threads() == {1}
    assert _openblas_threads() == {2}


def test_exception_inside_restores(two_blas_threads):
    with pytest.raises(solvers.InvalidInputError):
        solvers.solve(laplacian_2d(5), np.full(25, np.nan), method="cg")
    assert _openblas_threads() == {2}
