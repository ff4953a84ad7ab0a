"""``python -m benchmarks.compare dcdm``: the learned solvers against CG, IC-PCG and AMG-PCG on fluid
pressure problems, to a TRUE relative residual of 1e-6 from x0 = 0 (the same rule for every solver).

A solver that does not get there is reported with the best relative residual it reached, never hidden.
"""
from __future__ import annotations

import json
import time

import numpy as np

import solvers
from pde_examples.fluid import fluid_pressure

__all__ = ["run_dcdm", "CASES", "SOLVERS"]

RTOL = 1e-6
#: (dim, cells per axis); the networks were trained at 64^2 (2-D) and 32^3 (3-D)
CASES = [(2, 64), (2, 128), (2, 256), (2, 512), (3, 32), (3, 64)]
QUICK = [(2, 64), (2, 128), (3, 32)]
SOLVERS = {
    "cg": dict(method="cg"),
    "ic-pcg": dict(method="cg", pc="ic"),
    "amg-pcg": dict(method="cg", pc="amg"),
    "dcdm (paper, k=2)": dict(method="dcdm"),
    "fcg + dcdm (ours)": dict(method="fcg", pc="dcdm"),
    "fcg + coarse only": dict(method="fcg", pc="dcdm", network=False),
}
MAXITER = {"cg": 10000, "ic-pcg": 5000, "amg-pcg": 500, "dcdm (paper, k=2)": 300, "fcg + dcdm (ours)": 300,
           "fcg + coarse only": 300}
#: obstacle seeds far from the training seeds (0, 1000, 2000, ...): domains the networks never saw
TEST_SEED = 7777


def goal_notes(rows: list[dict]) -> list[str]:
    """The issue's goals, checked against the rows of this run (missing cases are said as such)."""
    ours, paper = "fcg + dcdm (ours)", "dcdm (paper, k=2)"
    cases = list(dict.fromkeys(row["case"] for row in rows))
    # iterations to 1e-6 by (case, solver); None where the solver stalled or did not run
    iterations = {(row["case"], row["solver"]): row["iterations"] for row in rows if isinstance(row["iterations"], int)}

    notes = []
    stalled = [c for c in cases if iterations.get((c, ours)) is None]
    notes.append(f"goal, ours reaches 1e-6 everywhere: {'met' if not stalled else 'NOT met on ' + '; '.join(stalled)}"
                 f" ({len(cases)} cases).")
    behind = [c for c in cases if (iterations.get((c, ours)) or 10**9) >= (iterations.get((c, "ic-pcg")) or 0)]
    notes.append(f"goal, ours needs fewer iterations than IC-PCG: {'met' if not behind else 'NOT met on ' + '; '.join(behind)}.")
    for kind in ("open box", "unseen obstacles"):
        lo, hi = iterations.get((f"2-D 64^2, {kind}", ours)), iterations.get((f"2-D 512^2, {kind}", ours))
        if lo and hi:
            notes.append(f"goal, ours grows at most 1.5x from 64^2 to 512^2 ({kind}): {lo} -> {hi} iterations, "
                         f"{hi / lo:.2f}x, {'met' if hi <= 1.5 * lo else 'NOT met'}.")
    for case in ("2-D 64^2, open box", "2-D 64^2, unseen obstacles", "3-D 32^3, open box", "3-D 32^3, unseen obstacles"):
        cg, its = iterations.get((case, "cg")), iterations.get((case, paper))
        if cg:
            verdict = "stalled" if its is None else f"{its} ({its / cg:.2f} of CG's {cg})"
            ok = its is not None and 3 * its <= cg
            notes.append(f"goal, paper dcdm at most 1/3 of CG's iterations at its training resolution, {case}: "
                         f"{verdict}, {'met' if ok else 'NOT met'}.")
    times = {(row["case"], row["solver"]): float(row["total [s]"]) for row in rows}
    ratios = [times[(c, ours)] / times[(c, "amg-pcg")] for c in cases if (c, ours) in times and (c, "amg-pcg") in times]
    if ratios:
        notes.append(f"wall time (set-up + solve, CPU), ours against AMG-PCG: {min(ratios):.1f}x to {max(ratios):.1f}x "
                     "AMG-PCG's time; the network's convolutions cost more than the iterations they save.")
    return notes


def run_dcdm(quick: bool = False, out=None) -> tuple[list[dict], list[str]]:
    from learned.dcdm.checkpoint import load_checkpoint, shipped_checkpoint

    rows: list[dict] = []
    for dim in (2, 3):  # warm-up: imports, network loading and first-call costs stay out of the table
        small = fluid_pressure((16,) * dim, obstacles=1, seed=1)
        for name, opts in SOLVERS.items():
            solvers.solve(small, small.b, rtol=RTOL, maxiter=5, **opts)
    for dim, n in (QUICK if quick else CASES):
        for obstacles in (0, 4):
            problem = fluid_pressure((n,) * dim, obstacles=obstacles, seed=TEST_SEED + n)
            b = problem.b
            label = f"{dim}-D {n}^{dim}" + (", unseen obstacles" if obstacles else ", open box")
            for name, opts in SOLVERS.items():
                t0 = time.perf_counter()
                res = solvers.solve(problem, b, rtol=RTOL, maxiter=MAXITER[name], **opts)
                wall = time.perf_counter() - t0
                true = float(np.linalg.norm(b - problem.A @ res.x) / np.linalg.norm(b))
                best = float(np.min(res.residual_norms) / res.b_norm)
                rows.append({"case": label, "unknowns": problem.A.shape[0], "solver": name,
                             "iterations": res.iterations if true <= RTOL * 1.0001 else f"stalled ({res.iterations})",
                             "true rel. residual": f"{true:.1e}", "best reached": f"{best:.1e}",
                             "setup [s]": f"{res.setup_time:.3f}", "solve [s]": f"{res.solve_time:.3f}",
                             "total [s]": f"{wall:.3f}"})
                print(json.dumps(rows[-1]), flush=True)
    notes = goal_notes(rows)
    for dim in (2, 3):
        for preset in ("paper", "deep"):
            meta = load_checkpoint(shipped_checkpoint(dim, preset))[1]
            notes.append(f"checkpoint {dim}-D {preset}: trained at {meta['grid']}^{dim}, {meta['steps']} steps of "
                         f"batch {meta['batch']}, {meta['training_set']}, "
                         f"{100 * meta.get('solver_fraction', 0):.0f}% of each batch from the solver's own residuals; "
                         f"{meta.get('loss_kind', 'residual')} loss, final {meta['loss']:.3f}; training "
                         f"{meta['train_seconds']} s (data {meta['data_seconds']} s; 2 to 3 trainings shared the 2 cores) "
                         "(`solverkit train dcdm`).")
    notes.append("dcdm (paper, k=2): the paper's network and solve step (A-orthogonalize against 2 directions, "
                 "exact line search, true residual). fcg + dcdm (ours): flexible CG (30 directions kept) "
                 "preconditioned by z = Q r + s (I - QA) f((I - AQ) r): an exact Galerkin solve on 4^d-cell "
                 "aggregates (Q) and a bias-free network gated by the fluid mask (f) for the scales below. "
                 "fcg + coarse only: the same with f = identity (network=False), the ablation that shows what "
                 "the network adds.")
    notes.append("dcdm (paper, k=2) needs 150-170 iterations at 128^2, and there its count moves with rounding: on the "
                 "2-D 128^2 unseen-obstacles case, 159 with 1 thread and 156 with 2 (code of 2026-11-22, c0445ef), "
                 "151 and 164 after the stopping-rule redesign (which changed the order of the residual sums and the "
                 "dot products), each the same in 3 repeats; the 2026-11-23 table had 162. The other solvers' counts "
                 "were identical before and after.")
    notes.append("Stopping: ||b - A x|| <= 1e-6 ||b|| on the true residual for every solver; 'stalled (N)' means "
                 "the iteration limit N came first; 'best reached' is the smallest residual seen.")
    return rows, notes
