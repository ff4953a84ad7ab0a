"""``python -m benchmarks.compare gpu``: our CuPy paths against cupyx.scipy.sparse.linalg.cg, the memory
bandwidth bound, and PyAMG on the CPU (needs a CUDA GPU with CuPy)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import solvers
from pde_examples import poisson

__all__ = ["run_gpu", "cg_bytes_per_iteration"]


def cg_bytes_per_iteration(n: int, nnz: int, itemsize: int = 8) -> int:
    """Bytes one unpreconditioned CG iteration must move at least: the CSR mat-vec (values, column
    indices, row pointers, the vector read once, the product written) plus the vector updates (x, p, r,
    Ap read and x, r written; r and p read and p written)."""
    spmv = nnz * (itemsize + 4) + (n + 1) * 4 + 2 * n * itemsize
    updates = (6 + 3) * n * itemsize
    return spmv + updates


def _copy_bandwidth(cp) -> float:
    a = cp.ones(2 ** 28 // 8 * 4, dtype=cp.float64)  # 1 GiB
    b = cp.empty_like(a)
    cp.copyto(b, a)
    cp.cuda.Device().synchronize()
    t0 = time.perf_counter()
    for _ in range(10):
        cp.copyto(b, a)
    cp.cuda.Device().synchronize()
    return 10 * 2 * a.nbytes / (time.perf_counter() - t0)


def _cupyx_cg(cspla, A, b, its):
    """``its`` iterations of CuPy's CG (a tolerance it cannot reach, whatever its keyword is called)."""
    try:
        return cspla.cg(A, b, maxiter=its, tol=1e-300, atol=0.0)
    except TypeError:
        return cspla.cg(A, b, maxiter=its, rtol=1e-300, atol=0.0)


def _time(cp, fn, repeats=3):
    out, best = None, np.inf
    for _ in range(repeats):
        cp.cuda.Device().synchronize()
        t0 = time.perf_counter()
        out = fn()
        cp.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_gpu(quick: bool = False, out: Path | None = None) -> tuple[list[dict], list[str]]:  # out: no plots here
    import cupy as cp
    import cupyx.scipy.sparse as csp
    import cupyx.scipy.sparse.linalg as cspla

    bw = _copy_bandwidth(cp)
    notes = [f"device: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}, measured copy bandwidth "
             f"{bw / 1e9:.0f} GB/s (bytes read + written)"]
    rows = []
    cases = [((1000, 1000), 2000), ((2000, 2000), 500), ((100, 100, 100), 500)]
    if not quick:
        cases += [((4000, 4000), 300), ((200, 200, 200), 300)]
    for shape, its in cases:
        p = poisson(shape)
        A = csp.csr_matrix(p.A)
        b = cp.asarray(np.random.default_rng(0).standard_normal(p.n))
        s = solvers.make_solver("cg").setup(A)
        s.solve(b, maxiter=5)
        t_ours, res = _time(cp, lambda: s.solve(b, maxiter=its, rtol=0.0))
        t_cupy, _ = _time(cp, lambda: _cupyx_cg(cspla, A, b, its))
        per_ours, per_cupy = t_ours / res.iterations, t_cupy / its
        bound = cg_bytes_per_iteration(p.n, p.A.nnz) / bw
        rows.append({"case": "cg per iteration", "problem": f"Poisson {'x'.join(map(str, shape))}", "unknowns": p.n,
                     "ours [ms]": 1e3 * per_ours, "cupyx cg [ms]": 1e3 * per_cupy,
                     "bandwidth bound [ms]": 1e3 * bound, "ours / bound": per_ours / bound,
                     "cupyx / ours": per_cupy / per_ours, "goal": "<= 1.5x bound, >= 1.5x faster than cupyx"})
    # same iteration counts as the CPU path
    p = poisson((1000, 1000))
    b = np.random.default_rng(0).standard_normal(p.n)
    cpu = solvers.solve(p, b, method="cg", recompute_every=0)
    gpu = solvers.solve(p, cp.asarray(b), method="cg")
    notes.append(f"iterations to rtol 1e-8 on Poisson 1000x1000: GPU {gpu.iterations}, CPU {cpu.iterations}")
    # GPU AMG-PCG against PyAMG on this machine's CPU at 4M unknowns
    import pyamg

    side = 1000 if quick else 2000
    p = poisson((side, side))
    b = np.random.default_rng(1).standard_normal(p.n)
    t0 = time.perf_counter()
    ml = pyamg.smoothed_aggregation_solver(p.A)
    res_cpu = []
    ml.solve(b, tol=1e-8, accel="cg", residuals=res_cpu, maxiter=500)
    t_pyamg = time.perf_counter() - t0
    bg = cp.asarray(b)
    t_gpu, res = _time(cp, lambda: solvers.solve(p, bg, method="cg", pc="amg", rtol=1e-8), repeats=2)
    rows.append({"case": "cg + SA-AMG, setup + solve", "problem": f"Poisson {side}x{side}", "unknowns": p.n,
                 "ours [ms]": 1e3 * t_gpu, "pyamg cpu [ms]": 1e3 * t_pyamg, "pyamg / ours": t_pyamg / t_gpu,
                 "ours its": res.iterations, "pyamg its": len(res_cpu) - 1, "goal": ">= 10x faster than PyAMG (CPU)"})
    s2 = solvers.make_solver("cg", pc="amg").setup(csp.csr_matrix(p.A))
    t_solve, res2 = _time(cp, lambda: s2.solve(bg), repeats=2)
    notes.append(f"GPU AMG-PCG solve phase alone (hierarchy reused): {1e3 * t_solve:.1f} ms, {res2.iterations} its; "
                 f"set-up (PyAMG on the host, then copied): {1e3 * s2.setup_time:.0f} ms")
    # red-black SOR on the GPU: iteration count against the CPU's lexicographic order
    p = poisson((200, 200))
    b = np.random.default_rng(2).standard_normal(p.n)
    w = 2 / (1 + np.sin(np.pi / 201))
    lex = solvers.solve(p, b, method="sor", omega=w, maxiter=100_000)
    rb = solvers.solve(p, cp.asarray(b), method="sor", omega=w, maxiter=100_000)
    notes.append(f"SOR at Young's omega on Poisson 200x200: red-black on the GPU {rb.iterations} its "
                 f"({1e3 * rb.solve_time / rb.iterations:.2f} ms/it), lexicographic on the CPU {lex.iterations} its")
    return rows, notes
