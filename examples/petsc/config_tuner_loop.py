"""A KSPTuner over whole PETSc configurations in a time-stepping loop: drifting variable-coefficient diffusion.

The loop of :class:`pde_examples.drifting.DriftingDiffusion` (implicit Euler for
``u_t = div(k grad u) + f``, log-normal conductivity ``k`` that turns a little every step, a source
circling the domain), assembled on a distributed DMDA: every rank builds its own rows. Each step solves
with the tuned KSP from the previous state; the tuner (``bandits.petsc.KSPTuner``) pays the wall time of
set-up plus solve, the slowest rank's. Its arms (``--space``) are by default the preconditioner families,
``bandits.petsc_space.petsc_family_space()``: CG with GAMG (two thresholds), with hypre's BoomerAMG where
this PETSc has it, with SSOR, FCG with solverkit's AMG through RegistryPC, each kept until amortized;
``--space all`` offers every configuration of ``petsc_spd_space()``, the reuse schedules (set up every
step, kept 10 steps, kept until amortized) as arms. Over the families, Thompson sampling tries each arm
once (``try_each``, each trial capped at a few of the incumbent's steps) before it replays any.

Usage (any PETSc option may follow, e.g. ``-ksp_view``)::

    mpiexec -n 2 python examples/petsc/config_tuner_loop.py [--size 128] [--steps 40] [--drift slow]
        [--policy thompson] [--space families] [--charge step] [--no-sunk-setup] [--cap RATIO] [--seed 0] [--state tuner.json]
        [--fixed ARM] [--compare [--repeats R]] [--list] [--verbose]

``--state FILE`` warm-starts from FILE when it exists (a file saved for other arms is refused) and saves
the tuner there at the end; ``--fixed ARM`` plays one configuration of ``petsc_spd_space()`` (``--list``
numbers them) throughout; ``--compare`` runs every configuration of ``petsc_spd_space()`` fixed (a
superset of either tuner space) through the whole loop, then the tuner, on the same instances, and
prints the ratio to the best fixed arm (a fixed arm whose time passes that of the best complete one so far is stopped there, as it can no
longer be the best: ``abandoned=1``; an arm with a solve that did not converge, ``converged=0``, is not
a candidate). ``--repeats R`` then runs the best fixed arm and a fresh tuner (seeds ``seed+1`` ...) in
turn R more times, on the same instances, and ``COMPARE`` adds the ratio of the medians: one run of each
is no verdict on a machine where the same arm doing the same work took 56 s in one run and 71 s in the
next. ``--charge cycle`` charges the tuner its rule's mean cost per step over a reuse cycle
(``KSPTuner(charge="cycle")``; a tuner loaded from ``--state`` keeps the charge it was saved with, and
``RESULT`` says which); with ``--compare``, ``--charge step,cycle`` runs a tuner of each charge after the
sweep (and in each round, in this order), with a ``RESULT``, ``REPEAT`` and ``COMPARE`` line per charge;
likewise ``--space families,all`` runs a tuner over each space (every space with every charge, spaces
first). A new tuner with Thompson sampling draws a configuration whose PC is kept for the next step without
the set-up share already paid (``KSPTuner(sunk_setup=True)``); ``--no-sunk-setup`` draws it at its
charged cost. ``--cap RATIO`` sets how long a solve of any configuration but the incumbent may take
(``KSPTuner(cap=...)``; ``--cap none``: no cap; ``--cap default``, the default: KSPTuner's; ``RESULT``'s
``cap``, 0 there meaning none).
Rank 0 prints ``STEP`` lines (with ``--verbose``), then ``RESULT`` (and ``FIXED``/``REPEAT``/``COMPARE``) lines::

    RESULT mode=tuned size=128 steps=40 ranks=2 space=families charge=step sunk_setup=1 cap=2 total_seconds=1.9 loop_seconds=2.4
        total_its=412 rebuilds=9 arms=5 worst_relres=9.9e-09 best_arm=0
        best=cg+gamg(pc_gamg_threshold=0.0)/rebuild=amortized most_played=0
        most_played_name=cg+gamg(pc_gamg_threshold=0.0)/rebuild=amortized ... ranks_agree=1 prior_solves=0

``best_arm`` and ``most_played`` number the arms of the tuner's space (``arms`` of them); ``FIXED``'s
``arm`` and ``COMPARE``'s ``best_fixed_arm`` those of ``petsc_spd_space()`` (``--list``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from bandits.capping import DEFAULT_CAP, check_cap  # imports no PETSc: safe before petsc4py.init
from solvers import InvalidInputError


def cap_ratio(text: str) -> float | None:
    """``--cap``: a cost ratio > 1, ``none`` (no cap) or ``default`` (KSPTuner's, DEFAULT_CAP)."""
    word = text.strip().lower()
    if word in ("none", "default"):
        return None if word == "none" else DEFAULT_CAP
    try:
        return check_cap(float(word))
    except (ValueError, InvalidInputError):
        raise argparse.ArgumentTypeError(f"{text!r}: a cost ratio > 1, 'none' or 'default'") from None


parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--size", type=int, default=128, help="unknowns per side (default 128)")
parser.add_argument("--steps", type=int, default=40, help="time steps (default 40)")
parser.add_argument("--drift", default="slow", help="slow, fast or an angle per step (default slow)")
parser.add_argument("--policy", default="thompson", help="a registered tuner policy (default thompson)")
parser.add_argument("--decide", choices=["build", "step"], default="step",
                    help="the tuner decides at every step (default) or once per reuse cycle")
parser.add_argument("--charge", default="step",
                    help="what the tuner is charged: each step's cost (step, default) or its rule's mean cost over "
                         "a reuse cycle (cycle); with --compare a list (step,cycle) runs one tuner of each")
parser.add_argument("--space", default="families",
                    help="the tuner's arms: the preconditioner families, each kept until amortized (families, "
                         "default) or every configuration, reuse schedules as arms (all); with --compare a list "
                         "(families,all) runs one tuner over each")
parser.add_argument("--no-sunk-setup", action="store_true",
                    help="a new tuner draws a configuration whose PC is kept for the next step at its charged "
                         "cost, set-up share included; by default (thompson) that share counts as paid: "
                         "KSPTuner(sunk_setup=True). A tuner loaded from --state keeps its saved setting")
parser.add_argument("--cap", type=cap_ratio, default="default", metavar="RATIO",
                    help="stop a solve of any configuration but the incumbent once it has taken RATIO times the "
                         "incumbent's cost per step (KSPTuner(cap=...); default: KSPTuner's, "
                         "bandits.capping.DEFAULT_CAP); 'none': no cap. A tuner loaded from --state keeps its saved cap")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--rtol", type=float, default=1e-8)
parser.add_argument("--state", default="", help="warm-start from this file if it exists; save there at the end")
parser.add_argument("--remap", action="store_true", help="accept a state learned on another size")
parser.add_argument("--fixed", default=None, help="play this arm (index or name) at every step")
parser.add_argument("--compare", action="store_true", help="every arm fixed, then the tuner")
parser.add_argument("--repeats", type=int, default=0,
                    help="with --compare: run the best fixed arm and a fresh tuner in turn this many more times")
parser.add_argument("--list", action="store_true", help="print the arms and exit")
parser.add_argument("--verbose", action="store_true", help="one STEP line per step")
args, petsc_args = parser.parse_known_args()
# checked before any PETSc work (not after a sweep of every fixed arm): known charges, each once
CHARGES = list(dict.fromkeys(c.strip() for c in args.charge.split(",") if c.strip()))
if not CHARGES or set(CHARGES) - {"step", "cycle"}:
    raise SystemExit(f"--charge {args.charge!r}: 'step', 'cycle' or, with --compare, a list of them")
if len(CHARGES) != 1 and (not args.compare or args.state):
    raise SystemExit(f"--charge {args.charge}: one charge, or a list with --compare and without --state")
SPACES = list(dict.fromkeys(c.strip() for c in args.space.split(",") if c.strip()))
if not SPACES or set(SPACES) - {"families", "all"}:
    raise SystemExit(f"--space {args.space!r}: 'families', 'all' or, with --compare, a list of them")
if len(SPACES) != 1 and (not args.compare or args.state):
    raise SystemExit(f"--space {args.space}: one space, or a list with --compare and without --state")
if "cycle" in CHARGES and args.decide != "step":
    raise SystemExit("--charge cycle averages each step's cost over its reuse cycle: it needs --decide step")

import petsc4py  # noqa: E402

petsc4py.init([sys.argv[0], *petsc_args])
import numpy as np  # noqa: E402
from petsc4py import PETSc  # noqa: E402

from bandits.petsc import KSPTuner  # noqa: E402
from bandits.petsc_space import petsc_family_space, petsc_spd_space  # noqa: E402
from pde_examples.drifting import DriftingDiffusion  # noqa: E402
from pde_examples.sequences import bump  # noqa: E402
from pde_examples.stencils import diffusion_stencil  # noqa: E402

OFFSETS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


class DistributedDiffusion:
    """DriftingDiffusion's systems on a DMDA. The field's first axis is the DMDA's y, its second the DMDA's
    x, so the DMDA's natural order is the field's C order: the same unknowns as the Python loop."""

    def __init__(self, n: int, drift: str, seed: int, comm: PETSc.Comm):
        self.sim = DriftingDiffusion(n, drift, seed=seed)  # the random fields: the same seed on every rank
        self.n = n
        self.da = PETSc.DMDA().create([n, n], dof=1, stencil_width=1, stencil_type=PETSc.DMDA.StencilType.STAR,
                                      comm=comm)
        (xs, xe), (ys, ye) = self.da.getRanges()
        a, b = np.meshgrid(np.arange(ys, ye), np.arange(xs, xe), indexing="ij")
        a, b = a.ravel(), b.ravel()  # local rows in PETSc's local order (x fastest)
        rows, cols, which, where = [], [], [], []
        for k, (da_, db_) in enumerate(OFFSETS):
            ok = (a + da_ >= 0) & (a + da_ < n) & (b + db_ >= 0) & (b + db_ < n)
            rows.append(np.flatnonzero(ok))
            cols.append((a[ok] + da_) * n + (b[ok] + db_))  # natural index of the neighbour
            which.append(np.full(ok.sum(), k))
            where.append(a[ok] * n + b[ok])
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        cols = np.asarray(self.da.getAO().app2petsc(cols.astype(PETSc.IntType)))
        order = np.lexsort((cols, rows))
        self.cols = cols[order].astype(PETSc.IntType)
        self.which, self.where = np.concatenate(which)[order], np.concatenate(where)[order]
        self.indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=a.size))].astype(PETSc.IntType)
        h = 1.0 / (n + 1)
        self.points = np.stack([h * (a + 1.0), h * (b + 1.0)], axis=1)
        self.A = self.da.createMatrix()
        self.u, self.b = self.da.createGlobalVec(), self.da.createGlobalVec()
        self.u.set(0.0)
        self.step = 0

    def assemble(self) -> None:
        """``A = I + dt K`` and ``b = u + dt f`` of the next step, this rank's rows."""
        sim, step = self.sim, self.step + 1
        st = diffusion_stencil(sim.conductivity(step), sim.shape, sim.spacing)
        coef = np.stack([st[o].ravel() for o in OFFSETS])
        values = sim.dt * coef[self.which, self.where] + (self.which == 0)
        self.A.setValuesCSR(self.indptr, self.cols, values)
        self.A.assemble()
        t = step * sim.dt
        centre = (0.5 + 0.25 * np.cos(2 * np.pi * t), 0.5 + 0.25 * np.sin(2 * np.pi * t))
        self.b.getArray()[:] = self.u.getArray(readonly=True) + sim.dt * 100.0 * bump(self.points, centre, 0.15)

    def relative_residual(self) -> float:
        r = self.b.duplicate()
        self.A.mult(self.u, r)
        r.aypx(-1.0, self.b)
        out = r.norm() / self.b.norm()
        r.destroy()
        return float(out)

    def destroy(self) -> None:
        for obj in (self.A, self.u, self.b, self.da):
            obj.destroy()


def run(space, policy: str, policy_options: dict | None = None, state: str = "", budget: float = np.inf,
        tuner_seed: int | None = None, charge: str = "step") -> dict:
    """The whole loop with one tuner; returns the summary (the same on every rank). A run whose tuned seconds
    pass ``budget`` stops there (``abandoned``): with ``--compare`` it can no longer be the best fixed arm.
    ``tuner_seed`` (default ``--seed``) seeds the policy only; the loop's instances stay those of ``--seed``."""
    comm = PETSc.COMM_WORLD
    loop = DistributedDiffusion(args.size, args.drift, args.seed, comm)
    label = f"drifting-diffusion drift={args.drift} seed={args.seed}"
    if state and os.path.exists(state):
        try:
            tuner = KSPTuner.load(state, space=space, problem_signature=label, remap=args.remap)
        except InvalidInputError as exc:  # raised alike on every rank (rank 0 reads, every rank checks)
            hint = "; give the --space it was saved with" if "another configuration space" in str(exc) else ""
            raise SystemExit(f"{exc}{hint}") from None
    else:
        tuner = KSPTuner(space=space, policy=policy, seed=args.seed if tuner_seed is None else tuner_seed,
                         policy_options=policy_options,
                         problem_signature=label, decide=args.decide, charge=charge,
                         sunk_setup=policy == "thompson" and not args.no_sunk_setup, cap=args.cap)
    prior = len(tuner.history)
    ksp = PETSc.KSP().create(comm)
    ksp.setTolerances(rtol=args.rtol, max_it=10000)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)  # the true residual's norm for CG and FCG
    ksp.setInitialGuessNonzero(True)  # from the previous state, as the Python loop does
    ksp.setFromOptions()
    tuned = tuner.wrap(ksp)
    worst, t_start, spent, abandoned = 0.0, time.perf_counter(), 0.0, False
    for _ in range(args.steps):
        if spent > budget:  # the same on every rank: the seconds are the maximum over the ranks
            abandoned = True
            break
        loop.assemble()
        tuned.setOperators(loop.A)
        before = len(tuner.history)
        tuned.solve(loop.b, loop.u)
        relres = loop.relative_residual()
        worst = max(worst, relres)
        for h in tuner.history[before:]:  # two entries where a capped or failed solve was finished by another arm
            spent += h["seconds"]
            if args.verbose:
                PETSc.Sys.Print(f"STEP t={loop.step} arm={h['arm']} rebuilt={int(h['rebuilt'])} its={h['iterations']} "
                                f"reason={h['reason']} relres={relres:.3e} seconds={h['seconds']:.4f} "
                                f"setup={h['setup_seconds']:.4f} pc_type={h['options']['pc_type']} "
                                f"capped={int(bool(h.get('capped')))} fallback={int(bool(h.get('fallback')))}")
        loop.step += 1
    wall = time.perf_counter() - t_start
    if state:
        tuner.save(state)
    tuned.destroy()  # and the PCs kept for the other configurations
    loop.destroy()
    mine = tuner.history[prior:]
    everyone = comm.tompi4py().allgather([(h["arm"], h["rebuilt"], h["options"]) for h in tuner.history])
    arms = np.array([h["arm"] for h in mine])
    costs = np.array([h["seconds"] for h in mine])
    played = np.unique(arms)
    finished = [bool(after.get("fallback")) for after in mine[1:] + [{}]]  # followed by another arm's finish
    whole = np.array([not h.get("fallback") and not f for h, f in zip(mine, finished)])  # steps one arm solved
    means = np.array([costs[(arms == a) & whole].mean() if ((arms == a) & whole).any() else np.inf for a in played])
    best = int(played[np.argmin(means)])
    return {"charge": tuner.charge, "sunk_setup": int(tuner.sunk_setup), "cap": tuner.cap or 0, "total_seconds": float(costs.sum()), "loop_seconds": wall, "total_its": sum(h["iterations"] for h in mine),
            "rebuilds": sum(int(h["rebuilt"]) for h in mine), "arms": len(space),
            "worst_relres": worst, "best_arm": best, "best": space[best].name,
            "most_played": (most := int(np.bincount(arms[[not h.get("fallback") for h in mine]]).argmax())),
            "most_played_name": space[most].name, "distinct_arms": len(played),
            "ranks_agree": int(all(e == everyone[0] for e in everyone)), "prior_solves": prior,
            # a step's outcome is its last entry: a capped or failed solve is followed by its finish
            "converged": int(all(h["converged"] for h, after in zip(mine, mine[1:] + [{}]) if not after.get("fallback"))),
            "steps_run": sum(not h.get("fallback") for h in mine),
            "capped": sum(bool(h.get("capped")) for h in mine), "abandoned": int(abandoned)}


def line(tag: str, **fields) -> None:
    PETSc.Sys.Print(tag + " " + " ".join(f"{k}={f'{v:.6g}' if isinstance(v, float) else v}" for k, v in fields.items()))


def main() -> None:
    sweep = petsc_spd_space()  # the fixed configurations: --fixed, --list and the --compare sweep
    spaces = {"families": petsc_family_space, "all": petsc_spd_space}
    ranks = PETSc.COMM_WORLD.getSize()
    common = {"size": args.size, "steps": args.steps, "ranks": ranks}
    if args.list:
        tuned = set(petsc_family_space().names)
        for i, c in enumerate(sweep):
            PETSc.Sys.Print(f"ARM {i} {c.name}" + (" (a family arm)" if c.name in tuned else ""))
        return
    if args.fixed is not None:
        arm = int(args.fixed) if args.fixed.isdigit() else sweep.index(args.fixed)
        line("RESULT", mode="fixed", **common, space="sweep", **run(sweep, "fixed", {"arm": arm}))
        return
    if args.compare:
        fixed = []
        for arm in range(len(sweep)):
            complete = [t for t in fixed if np.isfinite(t)]
            out = run(sweep, "fixed", {"arm": arm}, budget=min(complete, default=np.inf))
            # only an arm that ran the whole loop, every solve converged, can be the best fixed one
            fixed.append(np.inf if out["abandoned"] or not out["converged"] else out["total_seconds"])
            line("FIXED", arm=arm, name=sweep[arm].name, total_seconds=out["total_seconds"],
                 total_its=out["total_its"], rebuilds=out["rebuilds"], converged=out["converged"],
                 steps_run=out["steps_run"],
                 abandoned=out["abandoned"])
    variants = [(name, charge) for name in SPACES for charge in CHARGES]  # one tuner of each, same instances

    def options(name: str) -> dict | None:
        """Over the few families, Thompson sampling tries each once (capped) before it replays any."""
        return {"try_each": True} if name == "families" and args.policy == "thompson" else None
    outs = {}
    for name, charge in variants:
        outs[name, charge] = run(spaces[name](), args.policy, options(name), state=args.state, charge=charge)
        line("RESULT", mode="tuned", **common, space=name, **outs[name, charge])
    if args.compare:
        best = int(np.argmin(fixed))
        fixed_runs = [fixed[best]]
        tuned_runs = {v: [outs[v]["total_seconds"]] for v in variants}
        for r in range(1, max(args.repeats, 0) + 1):  # alternated: the machine's drifts hit both alike
            again = run(sweep, "fixed", {"arm": best})
            fixed_runs.append(again["total_seconds"])
            for name, charge in variants:
                tuned_again = run(spaces[name](), args.policy, options(name), tuner_seed=args.seed + r, charge=charge)
                tuned_runs[name, charge].append(tuned_again["total_seconds"])
                line("REPEAT", round=r, space=name, charge=charge, fixed_seconds=again["total_seconds"],
                     tuned_seconds=tuned_again["total_seconds"], fixed_converged=again["converged"],
                     tuned_converged=tuned_again["converged"], fixed_worst_relres=again["worst_relres"],
                     tuned_worst_relres=tuned_again["worst_relres"], ranks_agree=tuned_again["ranks_agree"],
                     tuned_distinct_arms=tuned_again["distinct_arms"])
        for name, charge in variants:
            line("COMPARE", space=name, charge=charge, tuned_seconds=outs[name, charge]["total_seconds"],
                 best_fixed_seconds=fixed[best], best_fixed_arm=best, best_fixed=sweep[best].name,
                 ratio=outs[name, charge]["total_seconds"] / fixed[best], rounds=len(fixed_runs),
                 median_ratio=float(np.median(tuned_runs[name, charge]) / np.median(fixed_runs)))


if __name__ == "__main__":
    main()
