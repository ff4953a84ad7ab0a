"""``python -m benchmarks.compare core``: our CG, SOR and AMG-PCG against SciPy and PyAMG in one run."""
from __future__ import annotations

import numpy as np
import pyamg
import scipy.sparse.linalg as spla
from pyamg.relaxation.relaxation import sor as pyamg_sor

import solvers
from pde_examples import poisson

from .timing import alternate

__all__ = ["run_core"]


def run_core(quick: bool = False, repeats: int = 3) -> tuple[list[dict], dict]:
    """Rows of the core table, and the residual histories for the plot."""
    n = 300 if quick else 1000
    p = poisson((n, n))
    A = p.A
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    size = f"2D Poisson {n}x{n}"
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
    return rows, histories
