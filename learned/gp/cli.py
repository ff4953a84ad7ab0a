"""``solverkit gp CASE``: solve a high-frequency PDE case with the GP solver and report its error."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``solverkit gp`` sub-command (entry point ``solverkit.commands``)."""
    from pde_examples.highfreq import CASES

    p = subparsers.add_parser("gp", help="solve a high-frequency PDE case with the Gaussian-process solver")
    p.add_argument("case", choices=sorted(CASES), help="a case from pde_examples.highfreq.CASES")
    p.add_argument("--kernel", default="student-t", choices=["student-t", "gaussian", "se", "matern"])
    p.add_argument("--method", default="alternating", choices=["alternating", "adam"],
                   help="alternating: closed-form solves + kernel updates (ours); adam: plain Adam on our loss (not the paper's method)")
    p.add_argument("--n", type=int, default=None, help="grid points per axis (default: 3 per wavelength)")
    p.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    p.add_argument("--adam-steps", type=int, default=3000, help="steps of the adam path (default 3000)")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda, cuda:N or auto")
    p.add_argument("--plot", type=Path, default=None, help="write a PNG of the solution and its error")
    p.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``solverkit gp``: solve the chosen case, print the error table, write the plot; exit status."""
    from learned.gp import AdamConfig, AlternatingConfig, solve_pde
    from pde_examples.highfreq import CASES

    case = CASES[args.case]
    common = {"n": args.n, "kernel": args.kernel, "device": args.device}
    config = (AlternatingConfig(rounds=args.rounds, **common) if args.method == "alternating"
              else AdamConfig(steps=args.adam_steps, **common))
    sol = solve_pde(case, config)
    pts = test_points(case)
    u = case.exact(pts)
    err = float(np.linalg.norm(sol(pts) - u) / np.linalg.norm(u))
    report = {"case": case.name, "kernel": args.kernel, "method": args.method, "grid": list(sol.info["grid"]),
              "relative_l2_error": err, "seconds": sol.info["seconds"],
              "midpoint_residual": sol.info["midpoint_residual"][-1]}
    print(f"{case.name}: relative L2 error {err:.3e} on {len(pts)} test points, {sol.info['seconds']:.1f} s, "
          f"grid {sol.info['grid']}, kernel {args.kernel}, {args.method}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    if args.plot:
        _plot(case, sol, pts, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def test_points(case) -> np.ndarray:
    """The benchmark's test grid: 300 points (1-D) or 300 x 300 (2-D), end points included."""
    axes = [np.linspace(a, b, 300) for a, b in case.domain]
    return np.stack([M.ravel() for M in np.meshgrid(*axes, indexing="ij")], axis=1)


def _plot(case, sol, pts, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    u, v = case.exact(pts), sol(pts)
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.5))
    if case.dim == 1:
        axs[0].plot(pts[:, 0], u, "k-", lw=1, label="exact")
        axs[0].plot(pts[:, 0], v, "r--", lw=1, label="GP")
        axs[0].legend()
        axs[1].semilogy(pts[:, 0], np.abs(v - u) + 1e-300)
        axs[1].set_ylabel("|error|")
    else:
        shape = (300, 300)
        im = axs[0].imshow(v.reshape(shape).T, origin="lower", extent=[*case.domain[0], *case.domain[1]])
        fig.colorbar(im, ax=axs[0])
        im = axs[1].imshow(np.log10(np.abs(v - u) + 1e-300).reshape(shape).T, origin="lower",
                           extent=[*case.domain[0], *case.domain[1]])
        fig.colorbar(im, ax=axs[1], label="log10 |error|")
    axs[0].set_title(f"{case.name}")
    axs[1].set_title("error")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
