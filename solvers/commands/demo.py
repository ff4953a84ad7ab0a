"""``solverkit demo``: every applicable method on a 2-D variable-coefficient diffusion problem."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import registry
from ..api import solve
from ..combinations import combinations
from ..table import markdown_table

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``solverkit demo``'s options to its parser."""
    p.add_argument("--size", type=int, default=128, help="unknowns per axis (default 128)")
    p.add_argument("--sigma", type=float, default=1.0, help="std of the log-coefficient (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--maxiter", type=int, default=20000, help="iteration limit for each method (default 20000)")
    p.add_argument("--plot", type=Path, default=None, help="write residual histories to this PNG")


def run(args: argparse.Namespace) -> int:
    """Solve the demo problem with every applicable method and print the table; return the exit status."""
    problem = registry.get("pde", "diffusion")((args.size, args.size), sigma=args.sigma, seed=args.seed)
    print(f"problem: {problem.name}, {args.size} x {args.size} = {problem.n} unknowns, log-normal k with "
          f"sigma={args.sigma} (k from {problem.meta['coefficient'].min():.3g} to "
          f"{problem.meta['coefficient'].max():.3g}), rtol={args.rtol:g}")
    rows, results = [], {}
    for method, pc in tqdm(combinations(symmetric=True), desc="solving", unit="method"):
        label = method + (f"+{pc}" if pc else "")
        opts = {"omega": 1.9} if method in ("sor", "ssor") else {}
        res = solve(problem, problem.b, method=method, pc=pc, rtol=args.rtol, maxiter=args.maxiter, **opts)
        results[label] = res
        rows.append({"method": method, "pc": pc or "-", "iterations": res.iterations,
                     "setup [s]": res.setup_time, "solve [s]": res.solve_time,
                     "total [s]": res.setup_time + res.solve_time, "rel. residual": res.relative_residual,
                     "reason": res.reason.name})
    rows.sort(key=lambda r: (not r["reason"].startswith("CONV"), r["total [s]"]))
    print(markdown_table(rows))
    best = rows[0]
    print(f"\nfastest: {best['method']}" + (f" + {best['pc']}" if best["pc"] != "-" else "")
          + f" ({best['total [s]']:.3g} s). omega=1.9 for sor/ssor.")
    if args.plot:
        from ..plotting import plot_residuals

        plot_residuals(results, args.plot, title=problem.name)
        print(f"plot: {args.plot}")
    failed = [r for r in rows if not r["reason"].startswith("CONV")]
    if failed:
        print(f"{len(failed)} method(s) did not reach rtol within maxiter={args.maxiter}: "
              + ", ".join(r["method"] for r in failed))
    return 0 if np.isfinite([r["rel. residual"] for r in rows]).all() else 1
