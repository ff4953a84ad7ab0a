"""``python -m benchmarks.compare dcdm``: the learned solvers against CG, IC-PCG and AMG-PCG on fluid
pressure problems, from x0 = 0 to a TRUE residual of ``rtol ||r0||`` (the same rule for every solver) at the
authors' tolerance 1e-4 (``src/test_all_cg.py:36-37``, relative to ``||r0||`` in
``lib/conjugate_gradient.py:1028``) and at 1e-6.

Each row also gives the work of one iteration in products with A (``matvec-eq / it``: the network's FLOPs,
coarse solves, smoother sweeps and vector work converted at ``2 nnz(A)`` FLOPs per product; see
:mod:`learned.dcdm.cost`), the network's MFLOP per iteration and the total work to the tolerance, beside
the iterations and the wall time. A solver that does not get there is reported with the best relative
residual it reached, never hidden.
"""
from __future__ import annotations

import json
import time

import numpy as np

import solvers
from pde_examples.fluid import fluid_pressure

__all__ = ["run_dcdm", "CASES", "SOLVERS", "solver_cost"]

RTOLS = (1e-4, 1e-6)
#: (dim, cells per axis): the paper preset's training resolutions (2-D 128^2, 3-D 32^3, see
#: learned.dcdm.protocol) and 2x each; the deep preset was trained at 64^2 and 32^3
CASES = [(2, 64), (2, 128), (2, 256), (2, 512), (3, 32), (3, 64)]
QUICK = [(2, 64), (2, 128), (3, 32)]
PAPER = "dcdm (paper, k=2)"
SOLVERS = {
    "cg": dict(method="cg"),
    "ic-pcg": dict(method="cg", pc="ic"),
    "amg-pcg": dict(method="cg", pc="amg"),
    PAPER: dict(method="dcdm"),
    "fcg + dcdm (ours)": dict(method="fcg", pc="dcdm"),
    "fcg + sgs in the slot": dict(method="fcg", pc="dcdm", slot="sgs"),
    "fcg + coarse only": dict(method="fcg", pc="dcdm", slot="identity"),
}
MAXITER = {"cg": 10000, "ic-pcg": 5000, "amg-pcg": 500, PAPER: 300, "fcg + dcdm (ours)": 300,
           "fcg + sgs in the slot": 300, "fcg + coarse only": 300}
#: obstacle seeds far from the training seeds (0, 1000, 2000, ...): domains the networks never saw
TEST_SEED = 7777
#: the paper's printed iteration counts for a comparable case (Kaneda et al., ICML 2023): not found in the
#: sources searched here (the authors' README prints none; the paper's text was not available), so the
#: column says "not found" rather than a number
PAPER_FIGURES: dict[tuple[int, int, float], str] = {}


def solver_cost(name: str, problem) -> tuple[float | None, float]:
    """``(matvec-equivalents per iteration, network MFLOP per iteration)`` of solver ``name`` on ``problem``
    (None where we do not model it: AMG's cycle)."""
    from learned.dcdm.coarse import CoarseSpace
    from learned.dcdm.cost import iteration_cost, network_flops
    from learned.dcdm.network import PRESETS

    n, nnz, shape = problem.A.shape[0], problem.A.nnz, problem.shape
    if name == "cg":
        return iteration_cost("cg", n, nnz).matvec_equivalents, 0.0
    if name == "ic-pcg":  # forward and backward triangular solves over the lower triangle (nnz + n) / 2
        return iteration_cost("pcg", n, nnz, aux_flops=2.0 * (nnz + n)).matvec_equivalents, 0.0
    if name == "amg-pcg":
        return None, 0.0
    if name == PAPER:
        net = network_flops(PRESETS["paper"](len(shape)), shape)
        return iteration_cost("dcdm", n, nnz, directions=2, net_flops=net).matvec_equivalents, net / 1e6
    cs = CoarseSpace(problem.grid, PRESETS["deep"](len(shape)).coarse_ratio)
    lu = cs._lu.L.nnz + cs._lu.U.nnz
    coarse = 2 * (2.0 * n + 2.0 * lu)  # two solves: P^T, the LU solves, P
    net = network_flops(PRESETS["deep"](len(shape)), shape) if name == "fcg + dcdm (ours)" else 0
    smoother = nnz if name == "fcg + sgs in the slot" else 0
    cost = iteration_cost("fcg-slot", n, nnz, directions=30, recompute_every=50, net_flops=net, aux_flops=coarse,
                          smoother_nnz=smoother)
    return cost.matvec_equivalents, net / 1e6


def goal_notes(rows: list[dict]) -> list[str]:
    """The issue's goals, checked against the rows of this run (missing cases are said as such)."""
    ours = "fcg + dcdm (ours)"
    cases = list(dict.fromkeys(row["case"] for row in rows))
    # iterations by (case, solver, rtol); None where the solver stalled or did not run
    its = {(row["case"], row["solver"], row["rtol"]): row["iterations"] for row in rows
           if isinstance(row["iterations"], int)}

    notes = []
    stalled = [c for c in cases if its.get((c, ours, "1e-06")) is None]
    notes.append(f"goal, ours reaches 1e-6 everywhere: {'met' if not stalled else 'NOT met on ' + '; '.join(stalled)}"
                 f" ({len(cases)} cases).")
    behind = [c for c in cases if (its.get((c, ours, "1e-06")) or 10**9) >= (its.get((c, "ic-pcg", "1e-06")) or 0)]
    notes.append(f"goal, ours needs fewer iterations than IC-PCG: {'met' if not behind else 'NOT met on ' + '; '.join(behind)}.")
    for case in cases:
        a, b = its.get((case, ours, "1e-06")), its.get((case, "fcg + sgs in the slot", "1e-06"))
        if a and b:
            notes.append(f"fair ablation, {case}: network {a} iterations, symmetric Gauss-Seidel in its slot {b}.")
    network = {row["case"]: row["network"] for row in rows if row["solver"] == PAPER}
    for case in ("2-D 128^2, open box", "3-D 32^3, open box"):
        for rtol in ("1e-04", "1e-06"):
            cg, dc = its.get((case, "cg", rtol)), its.get((case, PAPER, rtol))
            if cg:
                verdict = "stalled" if dc is None else f"{dc} ({dc / cg:.2f} of CG's {cg})"
                notes.append(f"paper dcdm at the paper preset's training resolution, {case}, rtol {rtol}: {verdict} "
                             f"with {network.get(case, '?')}; the paper's ratio for a comparable case: not found, so "
                             "the 1.5x goal cannot be checked here.")
    times = {(row["case"], row["solver"]): float(row["total [s]"]) for row in rows if row["rtol"] == "1e-06"}
    ratios = [times[(c, ours)] / times[(c, "amg-pcg")] for c in cases if (c, ours) in times and (c, "amg-pcg") in times]
    if ratios:
        notes.append(f"wall time (set-up + solve, CPU, rtol 1e-6), ours against AMG-PCG: {min(ratios):.1f}x to "
                     f"{max(ratios):.1f}x AMG-PCG's time.")
    return notes


def _network_note(problem) -> str:
    """Which paper checkpoint ``method="dcdm"`` uses on ``problem``, and whether it is for its resolution."""
    from learned.dcdm.checkpoint import load_checkpoint, shipped_checkpoint

    path = shipped_checkpoint(len(problem.shape), "paper", max(problem.shape))
    meta = load_checkpoint(path)[1]
    if not meta.get("one_model_per_resolution"):
        return f"{path.name} (pre-issue-18 modified network)"
    same = (meta["resolution"],) * len(problem.shape) == tuple(problem.shape)
    return f"{path.name} ({'its resolution' if same else 'trained at ' + str(meta['resolution'])})"


def run_dcdm(quick: bool = False, out=None) -> tuple[list[dict], list[str]]:
    import warnings

    from learned.dcdm.checkpoint import ResolutionWarning, load_checkpoint, shipped_checkpoint

    warnings.simplefilter("ignore", ResolutionWarning)  # the 2x cases say it in the "network" column
    rows: list[dict] = []
    for dim in (2, 3):  # warm-up: imports, network loading and first-call costs stay out of the table
        small = fluid_pressure((16,) * dim, obstacles=1, seed=1)
        for name, opts in SOLVERS.items():
            solvers.solve(small, small.b, rtol=1e-6, maxiter=5, **opts)
    for dim, n in (QUICK if quick else CASES):
        for obstacles in (0, 4):
            problem = fluid_pressure((n,) * dim, obstacles=obstacles, seed=TEST_SEED + n)
            b = problem.b
            label = f"{dim}-D {n}^{dim}" + (", unseen obstacles" if obstacles else ", open box")
            for name, opts in SOLVERS.items():
                per_it, mflop = solver_cost(name, problem)
                for rtol in RTOLS:
                    t0 = time.perf_counter()
                    res = solvers.solve(problem, b, rtol=rtol, maxiter=MAXITER[name], **opts)
                    wall = time.perf_counter() - t0
                    true = float(np.linalg.norm(b - problem.A @ res.x) / np.linalg.norm(b))
                    best = float(np.min(res.residual_norms) / res.b_norm)
                    ok = true <= rtol * 1.0001
                    rows.append({"case": label, "unknowns": problem.A.shape[0], "solver": name, "rtol": f"{rtol:.0e}",
                                 "iterations": res.iterations if ok else f"stalled ({res.iterations})",
                                 "true rel. residual": f"{true:.1e}", "best reached": f"{best:.1e}",
                                 "matvec-eq / it": "n/a" if per_it is None else f"{per_it:.1f}",
                                 "net MFLOP / it": f"{mflop:.1f}",
                                 "work [matvec-eq]": ("n/a" if per_it is None or not ok else f"{per_it * res.iterations:.0f}"),
                                 "setup [s]": f"{res.setup_time:.3f}", "solve [s]": f"{res.solve_time:.3f}",
                                 "total [s]": f"{wall:.3f}",
                                 "network": _network_note(problem) if name == PAPER else "",
                                 "paper's figure": (PAPER_FIGURES.get((dim, n, rtol), "not found") if name == PAPER
                                                    else "")})
                    print(json.dumps(rows[-1]), flush=True)
    notes = goal_notes(rows)
    for dim in (2, 3):
        meta = load_checkpoint(shipped_checkpoint(dim, "deep"))[1]
        notes.append(f"checkpoint {dim}-D deep: trained at {meta['grid']}^{dim}, {meta['steps']} steps of batch "
                     f"{meta['batch']}, {meta['training_set']}, {100 * meta.get('solver_fraction', 0):.0f}% of each "
                     f"batch from the solver's own residuals; {meta.get('loss_kind', 'residual')} loss, final "
                     f"{meta['loss']:.3f}; training {meta['train_seconds']} s (`solverkit train dcdm`).")
        path = shipped_checkpoint(dim, "paper")
        meta = load_checkpoint(path)[1]
        if meta.get("one_model_per_resolution"):
            proto = meta["protocol"]
            notes.append(f"checkpoint {dim}-D paper ({path.name}): the authors' network and protocol scaled by "
                         f"'{meta['scale_rule']}': {proto['ritz']} Ritz vectors, {proto['samples']} samples, "
                         f"{meta['epochs']} epochs ({meta['steps']} Adam steps) at {meta['grid']}^{dim} against the "
                         f"authors' 10,000 / 20,000 / 999 at 64^3 (scale {proto['scale']:.4g}); final loss "
                         f"{meta['loss']:.4f}; training {meta['train_seconds']} s.")
        else:
            notes.append(f"checkpoint {dim}-D paper: no faithful one ships yet; the rows use {path.name}, our modified "
                         "network of before issue 18 (not the authors' method; see docs/dcdm_faithful.md).")
    notes.append("dcdm (paper, k=2): the authors' network and solve step (A-orthogonalize against 2 directions, "
                 "exact line search, true residual). fcg + dcdm (ours): flexible CG (30 directions kept) "
                 "preconditioned by z = Q r + s (I - QA) f((I - AQ) r): an exact Galerkin solve on 4^d-cell "
                 "aggregates (Q) and a bias-free network gated by the fluid mask (f) for the scales below. "
                 "fcg + sgs in the slot: the same with f = one symmetric Gauss-Seidel sweep pair (the fair "
                 "ablation: a classical smoother in the network's place); fcg + coarse only: f = identity.")
    notes.append("paper's figure: the iteration counts printed in Kaneda et al. (ICML 2023) were not found in the "
                 "sources searched (the authors' README prints none); their tests are 64^3-256^3 smoke-simulation "
                 "matrices with models trained at 64^3/128^3, ours are trained at 128^2 (2-D) and 32^3 (3-D) by the "
                 "scale rule, so even found figures would compare different scales.")
    notes.append("Stopping: ||b - A x|| <= rtol ||b|| (= rtol ||r0||, x0 = 0) on the true residual for every solver; "
                 "'stalled (N)' means the iteration limit N came first; 'best reached' is the smallest residual seen. "
                 "The authors' CG stops at an absolute 1e-4 (src/test_all_cg.py:138 with "
                 "lib/conjugate_gradient.py:257-282) while their DCDM stops at 1e-4 ||r0||; here both are relative.")
    notes.append("matvec-eq / it: the work of one iteration in products with A (2 nnz(A) FLOPs each): products, "
                 "coarse solves, smoother sweeps, orthogonalization and vector work, and the network's FLOPs "
                 "(learned.dcdm.cost); n/a for AMG's cycle (not modelled). work = iterations x matvec-eq / it.")
    return rows, notes
