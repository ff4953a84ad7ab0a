"""The CuPy paths (marked ``gpu``: they run where CuPy sees a GPU and skip elsewhere)."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from pde_examples import diffusion, poisson
from tests.conftest import laplacian_2d

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cp():
    import cupy

    return cupy


KRYLOV = [("cg", None), ("cg", "jacobi"), ("cg", "ssor"), ("cg", "amg"), ("fcg", "amg"), ("gmres", "sor"),
          ("gmres", "amg"), ("amg", None)]
STATIONARY = [("jacobi", None), ("gauss-seidel", None), ("sor", None), ("ssor", None)]


def _problem(method, dtype):
    # float32 and the stationary methods get a better-conditioned system: in float32 CG stagnates near
    # 1e-3 on the high-contrast one, on the CPU as on the GPU
    if dtype == np.float32 or (method, None) in STATIONARY:
        return poisson((24, 24))
    return diffusion((64, 64), sigma=1.0, seed=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method,pc", KRYLOV + STATIONARY)
def test_gpu_solve_matches_cpu(cp, method, pc, dtype):
    problem = _problem(method, dtype)
    # float32: 1e-4, a few hundred times eps, above the floor of a residual computed in float32
    rtol = 1e-8 if dtype == np.float64 else 1e-4
    b = cp.asarray(problem.b.astype(dtype))
    opts = {"omega": 1.6} if method in ("sor", "ssor") else {}
    res = solvers.solve(problem, b, method=method, pc=pc, rtol=rtol, maxiter=20_000, **opts)
    assert res.converged, res
    assert isinstance(res.x, cp.ndarray) and res.x.dtype == dtype
    assert len(res.residual_norms) == res.iterations + 1
    x = cp.asnumpy(res.x).astype(np.float64)
    rel = np.linalg.norm(problem.b - problem.A @ x) / np.linalg.norm(problem.b)
    assert rel <= rtol * (1.3 if dtype == np.float32 else 1.01)
    ref = solvers.solve(problem, problem.b, method="direct").x
    assert np.linalg.norm(x - ref) / np.linalg.norm(ref) < 1e4 * rtol


def test_gpu_cg_same_iterations_as_cpu(cp):
    A = laplacian_2d(128)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    cpu = solvers.solve(A, b, method="cg", recompute_every=0)
    gpu = solvers.solve(A, cp.asarray(b), method="cg", recompute_every=0)
    assert abs(gpu.iterations - cpu.iterations) <= max(2, 0.01 * cpu.iterations)
    assert np.allclose(gpu.residual_norms[:50], cpu.residual_norms[:50], rtol=1e-6)


def test_gpu_cg_reports_the_first_iterate_that_met_the_tolerance(cp):
    A = laplacian_2d(40)
    b = cp.ones(1600)
    res = solvers.solve(A, b, method="cg", rtol=1e-7)
    tol = 1e-7 * float(cp.linalg.norm(b))
    assert res.residual_norms[-1] <= tol < res.residual_norms[-2]
    import cupyx.scipy.sparse as csp

    assert res.residual_norms[-1] == pytest.approx(float(cp.linalg.norm(b - csp.csr_matrix(A) @ res.x)), rel=1e-6)


def test_gpu_maxiter_and_indefinite(cp):
    import cupyx.scipy.sparse as csp

    A = csp.csr_matrix(laplacian_2d(30))
    res = solvers.solve(A, cp.ones(900), method="cg", maxiter=7, rtol=1e-12)
    assert res.reason == solvers.Reason.DIVERGED_ITS and res.iterations == 7
    D = csp.diags(cp.asarray(np.r_[np.ones(10), -np.ones(10)])).tocsr()
    assert solvers.solve(D, cp.ones(20), method="cg").reason == solvers.Reason.DIVERGED_INDEFINITE_MAT


def test_gpu_refuses_host_only_parts_and_mixed_placement(cp):
    A = poisson((16, 16)).A
    with pytest.raises(solvers.InvalidInputError, match="host only|GPU"):
        solvers.solve(A, cp.ones(256), method="cg", pc="ic")
    s = solvers.make_solver("cg").setup(A)
    with pytest.raises(solvers.InvalidInputError, match="move one of them"):
        s.solve(cp.ones(256))
    with pytest.raises(solvers.InvalidInputError, match="does not run on the GPU"):
        solvers.solve(A, cp.ones(256), method="direct")


def test_grid_operator_goes_to_the_gpu_as_a_device_grid(cp):
    from solvers.gpu.grid import DeviceGrid

    p = poisson((40, 40))
    cpu = solvers.solve(p.grid, p.b, method="cg", pc="jacobi")
    gpu = solvers.solve(p.grid, cp.asarray(p.b), method="cg", pc="jacobi")
    assert gpu.converged and isinstance(gpu.x, cp.ndarray)
    assert abs(gpu.iterations - cpu.iterations) <= 1
    dg = DeviceGrid(p.grid)
    assert dg.grid is p.grid and dg.shape == p.A.shape
    assert int(dg.A.nnz) == p.A.nnz
    x = cp.asarray(np.arange(p.n, dtype=np.float64))
    assert np.allclose(cp.asnumpy(dg @ x), p.A @ np.arange(p.n, dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64], ids=["c128", "c64"])
@pytest.mark.parametrize("method,pc", [("cg", None), ("cg", "jacobi"), ("minres", None), ("gmres", "jacobi"),
                                       ("bicgstab", None)])
def test_gpu_complex_hermitian_matches_cpu(cp, method, pc, dtype):
    # cg runs the fused CUDA kernels on the two-float element type; the others the array-namespace loops
    from tests.solvers.test_complex import magnetic_laplacian

    A = magnetic_laplacian(40).astype(dtype)
    rng = np.random.default_rng(3)
    b = (rng.standard_normal(1600) + 1j * rng.standard_normal(1600)).astype(dtype)
    rtol = 1e-8 if dtype == np.complex128 else 1e-4
    cpu = solvers.solve(A, b, method=method, pc=pc, rtol=rtol, recompute_every=0) if method == "cg" else \
        solvers.solve(A, b, method=method, pc=pc, rtol=rtol)
    gpu = solvers.solve(A, cp.asarray(b), method=method, pc=pc, rtol=rtol,
                        **({"recompute_every": 0} if method == "cg" else {}))
    assert gpu.converged and isinstance(gpu.x, cp.ndarray) and gpu.x.dtype == dtype
    x = cp.asnumpy(gpu.x).astype(np.complex128)
    rel = np.linalg.norm(b - A @ x) / np.linalg.norm(b)
    assert rel <= rtol * (1.3 if dtype == np.complex64 else 1.01)
    assert abs(gpu.iterations - cpu.iterations) <= max(2, 0.02 * cpu.iterations)
    n = min(20, cpu.iterations)
    assert np.allclose(gpu.residual_norms[:n], cpu.residual_norms[:n], rtol=1e-3 if dtype == np.complex64 else 1e-6)
