"""asv: every registered method, and every preconditioner with CG (FCG for the nonsymmetric ones), on
2D/3D Poisson and variable-coefficient diffusion at two sizes: set-up time, solve time, peak memory and
iterations."""
from __future__ import annotations

import solvers
from pde_examples import diffusion, poisson
from solvers import registry

PROBLEMS = {
    "poisson2d": lambda n: poisson((n, n)),
    "poisson3d": lambda n: poisson((n, n, n)),
    "diffusion2d": lambda n: diffusion((n, n), sigma=1.0, seed=0),
}
SIZES = {"poisson2d": {"small": 48, "large": 160}, "poisson3d": {"small": 12, "large": 28},
         "diffusion2d": {"small": 48, "large": 160}}
#: methods whose iteration count grows like h^-2: only the small size finishes in a benchmark's time
STATIONARY = {"jacobi", "gauss-seidel", "sor", "ssor"}


def combinations() -> list[str]:
    combos = list(registry.names("method"))
    for pc in registry.names("pc"):
        method = "cg" if registry.get("pc", pc).symmetric else "fcg"
        combos.append(f"{method}+{pc}")
    return combos


def _build(problem: str, size: str, combo: str):
    method, _, pc = combo.partition("+")
    for kind, name in (("method", method), ("pc", pc)):
        if name and registry.info(kind, name).status() != "ready":
            raise NotImplementedError(f"{name}: {registry.info(kind, name).status()}")
        if name and registry.get(kind, name).wants_grid:
            raise NotImplementedError(f"{name} needs a grid problem: see `python -m benchmarks.compare dcdm`")
    if method in STATIONARY and size == "large":
        raise NotImplementedError("stationary methods need O(h^-2) iterations: small size only")
    if combo == "gmres" and size == "large":
        raise NotImplementedError("restarted GMRES without a preconditioner stagnates on the large systems")
    p = PROBLEMS[problem](SIZES[problem][size])
    opts = {"omega": 1.5} if method in ("sor", "ssor") else {}
    return p, lambda: solvers.make_solver(method, pc=pc or None, maxiter=50_000, **opts)


class Methods:
    params = (list(PROBLEMS), ["small", "large"], combinations())
    param_names = ["problem", "size", "method"]
    timeout = 300
    number = 1
    repeat = (1, 3, 20.0)

    def setup(self, problem, size, combo):
        self.p, self.make = _build(problem, size, combo)
        self.solver = self.make().setup(self.p.A)
        self.solver.solve(self.p.b, maxiter=2)  # compiled kernels are built outside the timings

    def time_setup(self, problem, size, combo):
        self.make().setup(self.p.A)

    def time_solve(self, problem, size, combo):
        self.solver.solve(self.p.b)

    def peakmem_solve(self, problem, size, combo):
        self.make().setup(self.p.A).solve(self.p.b)

    def track_iterations(self, problem, size, combo):
        return self.solver.solve(self.p.b).iterations

    track_iterations.unit = "iterations"
