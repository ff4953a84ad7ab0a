"""``python -m benchmarks.compare core``: our CG, SOR and AMG-PCG against SciPy and PyAMG in one run, and
each CPU kernel against this machine's memory-bandwidth floor measured in the same run.

A ratio to SciPy or PyAMG alone depends on the machine: where both sit at the bandwidth floor it only
measures how many more passes over memory the peer makes, and that costs differently on each machine.
``ours / floor`` (time per iteration against the bytes it must move, ``benchmarks.traffic``, divided by
the triad bandwidth, ``benchmarks.bandwidth``) is the figure to compare across machines.
"""
from __future__ import annotations

import numpy as np
import pyamg
import scipy.sparse.linalg as spla
from pyamg.relaxation.relaxation import sor as pyamg_sor

import solvers
from pde_examples import poisson

from .bandwidth import Bandwidth, load_average, measure_bandwidth
from .timing import alternate
from .traffic import (amg_cycle_bytes, cg_iteration_bytes, residual_bytes, solverkit_cycle_bytes,
                      stationary_iteration_bytes)

__all__ = ["run_core", "COLUMNS"]

COLUMNS = ["case", "problem", "rtol", "ours its", "peer its", "ours [ms/it]", "peer [ms/it]", "ours [s]", "peer [s]",
           "ratio", "MB/it", "floor [ms/it]", "ours / floor", "peer / floor", "goal", "peer"]


def _floor_columns(nbytes: float, bw: Bandwidth, per_ours: float, per_peer: float,
                   peer_nbytes: float | None = None) -> dict:
    """The floor of one iteration that moves ``nbytes``, and both contenders' times against it (the peer's
    against its own floor where its iteration moves other bytes, ``peer_nbytes``)."""
    floor = nbytes / bw.bytes_per_second
    peer_floor = floor if peer_nbytes is None else peer_nbytes / bw.bytes_per_second
    return {"MB/it": nbytes / 1e6, "floor [ms/it]": 1e3 * floor, "ours / floor": per_ours / floor,
            "peer / floor": per_peer / peer_floor}


def run_core(quick: bool = False, repeats: int = 3) -> tuple[list[dict], dict, list[str]]:
    """Rows of the core table, the residual histories for the plot, and the notes (bandwidth, load)."""
    load_before = load_average()
    bw_before = measure_bandwidth()
    bw_one = measure_bandwidth(repeats=5, threads=1)
    n = 300 if quick else 1000
    p = poisson((n, n))
    A = p.A
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    size = f"2D Poisson {n}x{n}"
    timed: list[tuple[dict, float, float, float]] = []  # (row, bytes per iteration, ours s/it, peer s/it)
    rows, histories = [], {}

    # 1. unpreconditioned CG: iterations and time per iteration
    ours = solvers.make_solver("cg", rtol=1e-8).setup(A)
    ours.solve(b, maxiter=3)  # compile the kernels outside the timing
    scipy_its: list[int] = []

    def scipy_cg():
        scipy_its.clear()
        return spla.cg(A, b, rtol=1e-8, maxiter=100_000, callback=lambda xk: scipy_its.append(1))

    t = alternate({"ours": lambda: ours.solve(b), "scipy": scipy_cg}, repeats)
    res = t["ours"]["result"]
    histories["cg (ours)"] = res
    per_ours, per_scipy = t["ours"]["median"] / res.iterations, t["scipy"]["median"] / len(scipy_its)
    rows.append({"case": "cg, no preconditioner", "problem": size, "rtol": 1e-8,
                 "ours its": res.iterations, "peer its": len(scipy_its), "peer": "scipy.sparse.linalg.cg",
                 "ours [ms/it]": 1e3 * per_ours, "peer [ms/it]": 1e3 * per_scipy, "ratio": per_ours / per_scipy,
                 "goal": "<= 0.7, same its (1%)"})
    timed.append((rows[-1], cg_iteration_bytes(A, b.itemsize), per_ours, per_scipy))

    # 2. one SOR iteration (sweep + the residual norm the stopping test needs)
    k = 20
    sor = solvers.make_solver("sor", omega=1.9).setup(A)
    sor.solve(b, maxiter=2, rtol=0)
    x = np.zeros_like(b)

    def pyamg_iterations():
        for _ in range(k):
            pyamg_sor(A, x, b, 1.9, iterations=1)
            np.linalg.norm(b - A @ x)

    t = alternate({"ours": lambda: sor.solve(b, maxiter=k, rtol=0), "pyamg": pyamg_iterations}, repeats)
    per_ours, per_peer = t["ours"]["median"] / k, t["pyamg"]["median"] / k
    rows.append({"case": "sor iteration (omega 1.9)", "problem": size, "rtol": "-", "ours its": k, "peer its": k,
                 "peer": "pyamg sor sweep + scipy residual norm", "ours [ms/it]": 1e3 * per_ours,
                 "peer [ms/it]": 1e3 * per_peer, "ratio": per_ours / per_peer, "goal": "<= 1.0"})
    # the timed solve makes k iterations and the initial residual pass
    sor_bytes = (k * stationary_iteration_bytes(A, "sor", b.itemsize) + residual_bytes(A, b.itemsize)) / k
    timed.append((rows[-1], sor_bytes, per_ours, per_peer))

    # 3. CG + smoothed-aggregation AMG, set-up plus solve
    pyamg_res: list[float] = []

    def pyamg_sa():
        pyamg_res.clear()
        ml = pyamg.smoothed_aggregation_solver(A)
        return ml.solve(b, tol=1e-8, accel="cg", residuals=pyamg_res, maxiter=500)

    t = alternate({"ours": lambda: solvers.solve(A, b, method="cg", pc="amg", rtol=1e-8), "pyamg": pyamg_sa}, repeats)
    res = t["ours"]["result"]
    histories["cg+amg (ours)"] = res
    rows.append({"case": "cg + SA-AMG, setup + solve", "problem": size, "rtol": 1e-8, "ours its": res.iterations,
                 "peer its": len(pyamg_res) - 1, "peer": "pyamg smoothed_aggregation_solver(A).solve(accel='cg')",
                 "ours [ms/it]": None, "peer [ms/it]": None, "ours [s]": t["ours"]["median"],
                 "peer [s]": t["pyamg"]["median"], "ratio": t["ours"]["median"] / t["pyamg"]["median"],
                 "goal": "<= 1.0, same its"})

    # 4. the same, solve phase only (hierarchies built once), per iteration against the estimated floor
    amg_pcg = solvers.make_solver("cg", pc="amg", rtol=1e-8).setup(A)
    ml = pyamg.smoothed_aggregation_solver(A)
    amg_pcg.solve(b)
    t = alternate({"ours": lambda: amg_pcg.solve(b),
                   "pyamg": lambda: ml.solve(b, tol=1e-8, accel="cg", residuals=pyamg_res, maxiter=500)}, repeats)
    res = t["ours"]["result"]
    peer_its = len(pyamg_res) - 1
    per_ours, per_peer = t["ours"]["median"] / res.iterations, t["pyamg"]["median"] / peer_its
    rows.append({"case": "cg + SA-AMG, solve only (floor estimated)", "problem": size, "rtol": 1e-8,
                 "ours its": res.iterations, "peer its": peer_its, "peer": "pyamg ml.solve(accel='cg'), ml built once",
                 "ours [ms/it]": 1e3 * per_ours, "peer [ms/it]": 1e3 * per_peer, "ratio": per_ours / per_peer,
                 "goal": "<= 1.0, same its"})
    cg_bytes = cg_iteration_bytes(A, b.itemsize, preconditioned=True)
    o = amg_pcg.pc.options
    ours_bytes = cg_bytes + solverkit_cycle_bytes(amg_pcg.pc.hierarchy, b.itemsize, o["cycle"], o["degree"], o["sweeps"])
    timed.append((rows[-1], ours_bytes, per_ours, per_peer, cg_bytes + amg_cycle_bytes(ml, b.itemsize)))

    load_after = load_average()
    bw_after = measure_bandwidth()
    bw = max(bw_before, bw_after, key=lambda m: m.gbps)  # the machine's capacity: the better of the two
    for row, nbytes, per_o, per_p, *peer_nbytes in timed:
        row.update(_floor_columns(nbytes, bw, per_o, per_p, *peer_nbytes))
    notes = [
        f"memory bandwidth (the floor's denominator): {bw.describe()}; measured before the timings "
        f"{bw_before.gbps:.2f} GB/s (load {load_before}) and after them {bw_after.gbps:.2f} GB/s (load {load_after}); "
        f"the better counts; one thread alone: {bw_one.gbps:.2f} GB/s",
        "MB/it: bytes one iteration must move as our kernels make their passes (`benchmarks/traffic.py`: CSR "
        f"arrays with their real index size, {A.indices.dtype} here, {b.dtype} vectors); floor = MB/it / bandwidth; "
        "ours / floor and peer / floor near 1 mean memory-bound at this machine's limit, and are the figures "
        "to compare across machines (ratio = ours / peer is not: see docs/performance.md)",
        "sor: the floor counts the residual pass, the lower-triangular sweep and x += z per iteration (plus the "
        "initial residual spread over the 20); the sweep is sequential, so it runs at one core's bandwidth",
        "cg + SA-AMG, solve only: each side against the estimated floor of its own cycle (`benchmarks/traffic.py`); "
        "MB/it and floor are ours: CG's passes plus our W-cycle with Chebyshev (degree 4) smoothing before and after "
        "on our hierarchy; the peer's floor is CG's passes plus PyAMG's V-cycle with a symmetric Gauss-Seidel sweep "
        "before and after on its hierarchy (residual, restriction and prolongation per level on both)",
        f"working set of the CG mat-vec {(A.indptr.nbytes + A.indices.nbytes + A.data.nbytes + 2 * b.nbytes) / 2**20:.0f}"
        f" MiB against a last-level cache of "
        + (f"{bw.llc_bytes / 2**20:.0f} MiB" if bw.llc_bytes else "unknown size")
        + ": where it fits, a kernel can beat the DRAM floor (ours / floor < 1)",
    ]
    return rows, histories, notes
