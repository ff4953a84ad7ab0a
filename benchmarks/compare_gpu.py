"""``python -m benchmarks.compare gpu``: our CuPy paths against cupyx.scipy.sparse.linalg.cg, the memory
bandwidth bound, and PyAMG on the CPU (needs a CUDA GPU with CuPy)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import solvers
from pde_examples import poisson

from .traffic import cg_iteration_bytes

__all__ = ["run_gpu"]


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
        bound = cg_iteration_bytes(A, recompute_every=0) / bw  # the device CSR's own index size
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
    rows += _amg_rows(cp, csp, quick)
    # red-black SOR on the GPU: iteration count against the CPU's lexicographic order
    p = poisson((200, 200))
    b = np.random.default_rng(2).standard_normal(p.n)
    w = 2 / (1 + np.sin(np.pi / 201))
    lex = solvers.solve(p, b, method="sor", omega=w, maxiter=100_000)
    rb = solvers.solve(p, cp.asarray(b), method="sor", omega=w, maxiter=100_000)
    notes.append(f"SOR at Young's omega on Poisson 200x200: red-black on the GPU {rb.iterations} its "
                 f"({1e3 * rb.solve_time / rb.iterations:.2f} ms/it), lexicographic on the CPU {lex.iterations} its")
    rows += _learned_rows(cp, quick)
    notes.append("learned rows: time to rtol 1e-6 from a zero guess (dcdm) and for the whole fit (gp), host against "
                 "device in the same run; the gp's alternating path solves its collocation system on the host "
                 "between kernel fits on the device")
    return rows, notes


#: solves with one set-up in the time-stepping row (a simulation re-solving with the same matrix)
SOLVES_PER_SETUP = 10


def _amg_rows(cp, csp, quick: bool) -> list[dict]:
    """GPU AMG-PCG against PyAMG's own solver on this machine's CPU (SA hierarchy, CG acceleration).

    The set-up is PyAMG's on both sides (the GPU path builds the same hierarchy on the host, then moves
    its levels), so the solve phase is where the GPU can differ; the end-to-end and the time-stepping
    ratios are reported beside it."""
    import pyamg

    side = 1000 if quick else 2000
    p = poisson((side, side))
    b = np.random.default_rng(1).standard_normal(p.n)
    t0 = time.perf_counter()
    ml = pyamg.smoothed_aggregation_solver(p.A, strength=("symmetric", {"theta": 0.0}))
    t_setup_cpu = time.perf_counter() - t0
    res_cpu: list[float] = []
    t0 = time.perf_counter()
    ml.solve(b, tol=1e-8, accel="cg", residuals=res_cpu, maxiter=500)
    t_solve_cpu = time.perf_counter() - t0
    bg = cp.asarray(b)
    s = solvers.make_solver("cg", pc="amg").setup(csp.csr_matrix(p.A))
    s.solve(bg)  # warm-up: kernels compiled once per process
    t_solve_gpu, res = _time(cp, lambda: s.solve(bg), repeats=3)
    t_setup_gpu = s.setup_time
    prob = f"Poisson {side}x{side}"
    common = {"problem": prob, "unknowns": p.n, "ours its": res.iterations, "pyamg its": len(res_cpu) - 1}
    k = SOLVES_PER_SETUP
    return [
        {**common, "case": "cg + SA-AMG, solve phase", "ours [ms]": 1e3 * t_solve_gpu,
         "pyamg cpu [ms]": 1e3 * t_solve_cpu, "pyamg / ours": t_solve_cpu / t_solve_gpu,
         "goal": ">= 10x faster than PyAMG (CPU)"},
        {**common, "case": "cg + SA-AMG, setup + solve", "ours [ms]": 1e3 * (t_setup_gpu + t_solve_gpu),
         "pyamg cpu [ms]": 1e3 * (t_setup_cpu + t_solve_cpu),
         "pyamg / ours": (t_setup_cpu + t_solve_cpu) / (t_setup_gpu + t_solve_gpu),
         "goal": "reported (PyAMG's host set-up on both sides)"},
        {**common, "case": f"cg + SA-AMG, setup + {k} solves", "ours [ms]": 1e3 * (t_setup_gpu + k * t_solve_gpu),
         "pyamg cpu [ms]": 1e3 * (t_setup_cpu + k * t_solve_cpu),
         "pyamg / ours": (t_setup_cpu + k * t_solve_cpu) / (t_setup_gpu + k * t_solve_gpu),
         "goal": "reported (time stepping)"},
    ]


def _learned_rows(cp, quick: bool) -> list[dict]:
    """DCDM with NumPy arrays (network on the host's CPU) against CuPy arrays (everything on the GPU), and the
    GP solver with torch on the CPU against CUDA; skipped where torch has no CUDA."""
    import torch

    if not torch.cuda.is_available():
        return []
    from learned.gp import solve_pde
    from pde_examples.fluid import fluid_pressure
    from pde_examples.highfreq import CASES

    rows = []
    for side in ((128,) if quick else (256, 512)):
        p = fluid_pressure((side, side), obstacles=3, seed=5)
        bg = cp.asarray(p.b)
        solvers.solve(p, bg, method="fcg", pc="dcdm", rtol=1e-6, maxiter=300)  # warm-up (network, kernels)
        host = solvers.solve(p, p.b, method="fcg", pc="dcdm", rtol=1e-6, maxiter=300)
        t_dev, dev = _time(cp, lambda: solvers.solve(p, bg, method="fcg", pc="dcdm", rtol=1e-6, maxiter=300),
                           repeats=2)
        t_host = host.setup_time + host.solve_time
        rows.append({"case": "fcg + pc dcdm (cupy arrays)", "problem": f"fluid {side}x{side}, 3 obstacles",
                     "unknowns": p.n, "ours [ms]": 1e3 * t_dev, "host [ms]": 1e3 * t_host,
                     "host / ours": t_host / t_dev, "ours its": dev.iterations, "host its": host.iterations,
                     "goal": "runs on CUDA torch, same iterations"})
    name = "poisson1d-sin100" if quick else "poisson2d-sin6cos20-unit"
    out = {}
    for device in ("cpu", "cuda"):
        sol = solve_pde(name, device=device, progress=False)
        pts = np.stack([m.ravel() for m in np.meshgrid(*[np.linspace(a, b, 120) for a, b in CASES[name].domain],
                                                        indexing="ij")], axis=1)
        u = CASES[name].exact(pts)
        out[device] = (sol.info["seconds"], float(np.linalg.norm(sol(pts) - u) / np.linalg.norm(u)))
    rows.append({"case": "gp solver (alternating)", "problem": name, "unknowns": int(np.prod(sol.info["grid"])),
                 "ours [ms]": 1e3 * out["cuda"][0], "host [ms]": 1e3 * out["cpu"][0],
                 "host / ours": out["cpu"][0] / out["cuda"][0], "ours rel. error": out["cuda"][1],
                 "host rel. error": out["cpu"][1], "goal": "runs on CUDA torch, same accuracy"})
    return rows
