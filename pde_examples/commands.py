"""``solverkit simulate``: a time-stepping simulation that tunes its solver as it runs, with a report."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from solvers.table import markdown_table

from .report import write_report

__all__ = ["register", "run_simulate"]

DEFAULT_POLICIES = "young,chebcb,tsallis-inf,binned-tsallis-inf"


def register(subparsers) -> None:  # noqa: ANN001
    """Add ``solverkit simulate`` and its options to the command line's sub-parsers (entry point
    ``solverkit.commands``)."""
    p = subparsers.add_parser("simulate", help="run a simulation whose solver parameters are tuned while it runs")
    p.add_argument("case", choices=["heat", "sor", "diffusion"], help="heat: 2-D heat equation, SSOR-PCG (the main "
                   "job); sor: the paper's sequence of shifted Laplacians solved by SOR; diffusion: implicit Euler "
                   "with a drifting log-normal conductivity, a tuner over whole solver configurations and "
                   "preconditioner reuse, against CG + SA-AMG rebuilt every step")
    p.add_argument("--steps", type=int, default=None, help="time steps / instances (default 5000)")
    p.add_argument("--nx", type=int, default=25, help="heat: grid intervals per side, (nx-1)^2 unknowns (default 25)")
    p.add_argument("--variant", choices=["high", "low"], default="high", help="sor: offset distribution")
    p.add_argument("--policies", default=None, help=f"comma-separated (default {DEFAULT_POLICIES}; diffusion: the "
                   "first one is its tuner's, default thompson)")
    p.add_argument("--size", type=int, default=128, help="diffusion: unknowns per side (default 128)")
    p.add_argument("--drift", default="slow", help="diffusion: slow, fast (the step-0 AMG hierarchy needs 2x "
                   "its iterations by step 20 / 5) or an angle per step")
    p.add_argument("--warm-start", type=Path, default=None, help="diffusion: a tuner file saved by an earlier run "
                   "(out/diffusion_tuner.json) to start from; a file of another space or problem is refused")
    p.add_argument("--remap", action="store_true", help="diffusion: with --warm-start, accept a file learned on "
                   "another size or drift as a prior (its time costs scaled by the ratio of matrix entries)")
    p.add_argument("--no-baseline", dest="baseline", action="store_false", help="diffusion: skip the run of the "
                   "default configuration")
    p.add_argument("--decide", choices=["build", "step"], default="step", help="diffusion: the tuner decides at "
                   "every step (default) or once per reuse cycle (bandits.Tuner's decide)")
    p.add_argument("--charge", choices=["step", "cycle"], default="step", help="diffusion: the tuner is charged "
                   "each step's cost (default) or its rule's mean cost over a reuse cycle (bandits.Tuner's charge)")
    p.add_argument("--space", choices=["families", "all"], default="families", help="diffusion: the tuner's "
                   "arms: one per preconditioner family, each rebuilt when amortized (families, default; "
                   "bandits.space.family_space) or every configuration, reuse schedules as arms (all; spd_space)")
    p.add_argument("--no-refresh", action="store_true", help="diffusion: leave out the refreshed classical-AMG "
                   "configurations (with --space all: the space of earlier versions, whose saved tuners "
                   "--warm-start loads)")
    p.add_argument("--with-ssor", action="store_true", help="diffusion: offer CG + SSOR too (one arm over "
                   "the families, four omegas with --space all; slow at large sizes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("out"), help="report directory (default out/)")
    p.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    """Run the simulation with every policy asked for, write the report and plots; return the exit status."""
    from bandits import POLICIES
    from bandits.evaluation import full_information_table, run_policy, summarize
    from bandits.tuner import DEFAULT_OMEGAS
    from solvers import InvalidInputError

    from .sequences import HeatSimulation, shifted_laplacian_sequence

    args.policies_given = args.policies is not None
    if args.policies is None:
        args.policies = DEFAULT_POLICIES
    if args.case == "diffusion":
        from .simulate_diffusion import run_diffusion

        if args.policies_given:
            unknown = [p.strip() for p in args.policies.split(",")[:1] if p.strip() not in POLICIES]
            if unknown:
                raise InvalidInputError(f"unknown policies {unknown}; known: {', '.join(sorted(POLICIES))}")
        return run_diffusion(args)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise InvalidInputError(f"unknown policies {unknown}; known: {', '.join(sorted(POLICIES))}")
    steps = args.steps or 5000
    if steps < 1:
        raise InvalidInputError("--steps must be >= 1")
    if args.case == "heat":
        method, pc = "cg", "ssor"
        sim = HeatSimulation.paper(nx=args.nx, T=steps)
        title = f"heat {sim.shape[0]}x{sim.shape[1]}, Crank-Nicolson, SSOR-PCG, {steps} steps"
        # 1. the tuned simulation itself: what a user's loop looks like
        from bandits import Tuner

        tuner = Tuner(method, "omega", policy=policies[0], pc=pc, seed=args.seed, context_range=sim.context_range)
        problems = []
        for _ in tqdm(range(steps), desc=f"simulate heat ({policies[0]})", unit="step"):
            p = sim.system()
            res = tuner.solve(p, p.b, context=p.meta["context"], x0=sim.u)
            problems.append(p)
            sim.advance(res.x)
        context_range = sim.context_range
    else:
        method, pc = "sor", None
        problems = list(shifted_laplacian_sequence(steps, args.variant, seed=args.seed))
        context_range = (-0.15, 0.65)
        title = f"SOR on shifted Laplacians ({args.variant}), {steps} instances"
    # 2. the yardsticks: every omega on every instance the simulation met
    with tqdm(total=len(problems), desc="full-information table (20 omegas)", unit="step") as bar:
        table = full_information_table(problems, method=method, pc=pc, progress=bar.update)
    # 3. every policy on the same instances
    runs = []
    for name in policies:
        with tqdm(total=len(problems), desc=f"policy {name}", unit="step") as bar:
            runs.append(run_policy(problems, name, method=method, pc=pc, seed=args.seed, context_range=context_range,
                                   progress=bar.update))
    rows = summarize(runs, table, DEFAULT_OMEGAS)
    report = _write_report(args, title, rows, runs, table, DEFAULT_OMEGAS)
    print(report)
    return 0 if all(r.extra["converged"] for r in runs) else 1


def _write_report(args, title, rows, runs, table, values) -> str:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    prefix = args.case
    text = [f"# {title}", "", markdown_table(rows, ["policy", "total", "/ omega=1", "/ best fixed", "/ instance-opt",
                                                      "seconds"]), ""]
    text.append("Totals are iterations summed over all steps (the young policy's Gauss-Seidel probes included). "
                "omega = 1, best fixed and instance-optimal come from the full-information table of all 20 omegas "
                "on the same instances.")
    np.save(out / f"{prefix}_table.npy", table)

    def plots():
        from bandits.plots import plot_tuning

        return plot_tuning(runs, table, values, out, prefix, title)

    cmd = f"solverkit simulate {args.case} --steps {len(table)} --policies {','.join(r.name for r in runs)}"
    return write_report(out, prefix, text, plots, cmd)
