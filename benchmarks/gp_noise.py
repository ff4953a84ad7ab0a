"""What a GP gives that Chebyshev does not (issue 17): noisy sources, and the posterior's 2-std band.

``run_gp_noise(quick)`` returns ``(rows, notes)`` for the ``gp`` report:

- **noisy data** on poisson1d-sin100 (the paper's ``u = sin(100 x)`` on [0, 2 pi], ``f = -1e4 sin(100 x)``):
  the source and the boundary values as noisy samples, fed to (a) our GP solver told the noise level
  (``solve_pde(..., noise=(sigma_f, sigma_g))``), (b) Chebyshev collocation and (c) second-order finite
  differences (``benchmarks.baselines_pde``, solved with ``solvers.solve``); relative L2 error of each,
  and for the GP the fraction of test points where ``|u_GP - u| <= 2 std``. Several noise seeds, the
  median and the spread (min to max) reported.
- **no noise**: on the paper's cases, the fraction of test points where the GP's true error lies within
  2 posterior standard deviations.

Run alone: ``python -m benchmarks.gp_noise --quick`` (one seed, the relative noise level, no coverage
rows: about 4 minutes) or without ``--quick`` (the whole measurement; long: five seeds at two noise
levels, a 601-point noisy GP fit taking about 4 minutes each on a loaded 2-core machine, then a
noiseless fit of every paper case).
"""
from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np

from pde_examples.highfreq import CASES

__all__ = ["run_gp_noise", "NOISE_CASE", "SEEDS", "GOAL_FACTOR", "GOAL_COVERAGE"]

NOISE_CASE = "poisson1d-sin100"
#: noise seeds of the full run (the quick run takes the first)
SEEDS = (0, 1, 2, 3, 4)
#: the issue's goals: our error at least 3x smaller than Chebyshev's and FD's; 2-std band holds >= 80%
GOAL_FACTOR = 3.0
GOAL_COVERAGE = 0.8


def _test_points(case, m: int = 300) -> np.ndarray:
    axes = [np.linspace(a, b, m) for a, b in case.domain]
    return np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)


def _grid_size(case) -> int:
    from learned.gp.solver import default_points

    fmax = case.max_frequency if isinstance(case.max_frequency, tuple) else (case.max_frequency,) * case.dim
    return max(default_points(b - a, f) for (a, b), f in zip(case.domain, fmax))


def _levels(quick: bool) -> dict[str, tuple[float, float]]:
    """Noise levels ``(sigma_f, sigma_g)``: relative 1e-3 of max|f| = 1e4 and max|u| = 1 (the issue's),
    and, in the full run, absolute 1e-3 on both (tiny against f ~ 1e4)."""
    out = {"relative 1e-3 (sigma_f = 10, sigma_g = 1e-3)": (1e-3 * 1e4, 1e-3)}
    if not quick:
        out["absolute 1e-3 (sigma_f = sigma_g = 1e-3)"] = (1e-3, 1e-3)
    return out


def _noisy_run(case, n: int, sigma: tuple[float, float], seed: int, pts: np.ndarray) -> dict[str, float]:
    from learned.gp import solve_pde
    from learned.gp.posterior import noisy

    from .baselines_pde import chebyshev, finite_difference

    f = noisy(case.source, sigma[0], seed=2 * seed)
    g = noisy(case.exact, sigma[1], seed=2 * seed + 1)
    u = case.exact(pts)
    norm = np.linalg.norm(u)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    sol = solve_pde(case.pde, domain=case.domain, source=f,
                    boundary=g, max_frequency=case.max_frequency, n=n, noise=sigma, progress=False)
    err = sol(pts) - u
    out["gp"] = float(np.linalg.norm(err) / norm)
    out["gp_coverage"] = float(np.mean(np.abs(err) <= 2 * sol.std(pts)))
    out["gp_seconds"] = time.perf_counter() - t0
    # the baselines read case.source (f) and case.exact (boundary values): the same noisy callables
    fed = SimpleNamespace(pde=case.pde, domain=case.domain, dim=case.dim, source=f, exact=g)
    for key, make in (("fd", finite_difference), ("chebyshev", chebyshev)):
        t0 = time.perf_counter()
        out[key] = float(np.linalg.norm(make(fed, n)(pts) - u) / norm)
        out[f"{key}_seconds"] = time.perf_counter() - t0
    return out


def _spread(values: list[float], fmt: str = "{:.2e}") -> tuple[str, str]:
    v = np.asarray(values)
    return fmt.format(np.median(v)), f"{fmt.format(v.min())} to {fmt.format(v.max())}"


def run_gp_noise(quick: bool = False) -> tuple[list[dict], list[str]]:
    """The rows (list of dicts) and notes of the noisy-data and coverage measurements."""
    rows: list[dict] = []
    case = CASES[NOISE_CASE]
    n = _grid_size(case)
    pts = _test_points(case)
    seeds = SEEDS[:1] if quick else SEEDS
    for label, sigma in _levels(quick).items():
        runs = [_noisy_run(case, n, sigma, s, pts) for s in seeds]
        for key, name in (("gp", "GP-HM-StM (ours, alternating, noise=sigma)"),
                          ("chebyshev", "Chebyshev collocation (numpy)"),
                          ("fd", "finite differences (2nd order, solve())")):
            errs = [r[key] for r in runs]
            med, spread = _spread(errs)
            row = {"case": NOISE_CASE, "noise": label, "seeds": len(seeds), "solver": name,
                   "rel. L2 error (median)": med, "spread (min to max)": spread,
                   "seconds (median)": f"{np.median([r[f'{key}_seconds'] for r in runs]):.1f}",
                   "2-std coverage": "", "goal": ""}
            if key == "gp":
                cov = [r["gp_coverage"] for r in runs]
                row["2-std coverage"] = "{} ({})".format(*_spread(cov, "{:.1%}"))
                worst = min(min(r["chebyshev"], r["fd"]) / r["gp"] for r in runs)
                met = worst >= GOAL_FACTOR and min(cov) >= GOAL_COVERAGE
                row["goal"] = (f">= {GOAL_FACTOR:g}x smaller than Chebyshev and FD (worst seed {worst:.3g}x), "
                               f"coverage >= {GOAL_COVERAGE:.0%}: " + ("met" if met else "missed"))
            rows.append(row)
            print(f"{label:48s} {name:44s} {med} [{spread}]", flush=True)
    # the no-noise coverage needs a full fit of every paper case (the noiseless 601-point poisson1d-sin100
    # alone took 10 min on the loaded 2-core machine): the full run only
    names = () if quick else tuple(c.name for c in CASES.values() if c.paper is not None)
    for name in names:
        rows.append(_coverage_row(name))
    notes = [
        f"noisy data: {NOISE_CASE} (u = sin(100 x) on [0, 2 pi], the paper's domain), {n} grid points (6 per "
        "wavelength), test grid of 300 points with the end points. sigma is absolute, in the units of f and g: "
        "'relative 1e-3' is 1e-3 max|f| = 10 on the source (max|f| = 1e4; the grid's samples reach 8.7e3) and "
        "1e-3 max|u| = 1e-3 on the two boundary values; 'absolute 1e-3' is 1e-3 on both.",
        "same samples: the noise at a point depends on the seed and the point only "
        "(learned.gp.posterior.noisy), so the GP and finite differences, on the same uniform grid, get the "
        "same noisy samples; Chebyshev collocation samples the same noisy callables at its own "
        f"Chebyshev-Lobatto points (same sigma and seed, other points). Seeds {', '.join(map(str, seeds))}; "
        "median and min-to-max over them.",
        "ours with noise: each round the posterior mean of the grid values given the noisy collocation "
        "equations (not their interpolant), then 100 Adam steps on the expected negative log prior over that "
        "posterior (EM; the noise enters through Cov(U | y)); the kept round is the one with the smallest "
        "midpoint residual against fresh noisy samples (no exact solution used).",
        "2-std coverage: the fraction of test points where |u_GP - u| <= 2 std, std = GPSolution.std "
        "(learned.gp.posterior). Without noise the equations fix the grid values, so std is the GP's "
        "uncertainty between grid points only (zero at the grid points up to sqrt(jitter)): it does not see "
        "the collocation's discretization error, and the no-noise coverage rows measure how much that matters.",
    ]
    return rows, notes


def _coverage_row(name: str) -> dict:
    from learned.gp import AlternatingConfig, solve_pde

    case = CASES[name]
    n = _grid_size(case)
    pts = _test_points(case, 300 if case.dim == 1 else 120)
    t0 = time.perf_counter()
    try:
        sol = solve_pde(case, AlternatingConfig(n=n, progress=False))
        err = sol(pts) - case.exact(pts)
        rel = float(np.linalg.norm(err) / np.linalg.norm(case.exact(pts)))
        cov = float(np.mean(np.abs(err) <= 2 * sol.std(pts)))
        text = f"{cov:.1%}"
    except Exception as exc:  # a failing case is a row, not a crash
        rel, text = float("nan"), f"failed: {type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - t0
    print(f"no noise {name:40s} err {rel:.2e} coverage {text}", flush=True)
    return {"case": name, "noise": "none", "seeds": "", "solver": "GP-HM-StM (ours, alternating)",
            "rel. L2 error (median)": f"{rel:.2e}", "spread (min to max)": "", "seconds (median)": f"{seconds:.1f}",
            "2-std coverage": text, "goal": ""}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, one noise level, no coverage rows")
    args = parser.parse_args(argv)
    rows, notes = run_gp_noise(quick=args.quick)
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
