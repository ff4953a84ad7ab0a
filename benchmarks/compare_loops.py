"""``python -m benchmarks.compare tuning-loops``: tuning whole solver configurations (and when to rebuild
the preconditioner) inside the drifting diffusion loop of ``pde_examples.drifting``, from wall-clock
costs (issue 19).

For each drift rate ("slow", "fast"):

- at 512^2, 300 steps: every fixed configuration of :func:`loop_space` run through the whole loop (a
  reuse schedule such as "rebuild every 3 steps" is a fixed configuration), so that the best fixed
  configuration in hindsight and the default (CG + SA-AMG rebuilt every step) are measured on the same
  loop as the tuner. The tuner chooses among the preconditioner families of that space
  (:func:`tuner_space`, five of its sixteen configurations), each with the reuse rule that decides at every
  step from the costs it measures (rebuild once the extra solve time has paid for a set-up; classical AMG
  also with its hierarchy refreshed on reuse): the bandit learns *which* configuration, the ski-rental
  rule *when* to rebuild. Beside it, one run of a tuner over all sixteen, rules as arms. A fixed run is
  stopped early once its partial wall time exceeds the total of a run
  already completed: it can no longer be the best in hindsight, and its row says where it stopped. The
  tuner runs first, and the fixed runs follow in the order of its observed mean cost per arm (the default
  always first and whole), so that the expensive ones stop soon;
- at 1024^2, 100 steps: the tuner, warm-started from the 512^2 job's saved state (``remap=True``: the costs
  it learned scaled by the ratio of matrix entries), against the default and against the best fixed
  configuration of 512^2;
- the drift's effect measured at the loop's size (CG iterations with the step-0 hierarchy kept);
- a warm-started second job at the smaller size: the first job's tuner saved and loaded, its first 10
  steps against the first 10 of the best fixed configuration and of the default;
- the tuner's own overhead per step (policy + bookkeeping) with 100 arms.

- then ``REPEATS`` rounds at the smaller size (``--quick``: one): the best fixed configuration run whole
  again, a fresh tuner of another seed (over :func:`tuner_space`) and a warm-started second job
  from that tuner, in turn. The goals of the tuner and of the warm-started job are judged on the ratio of
  the medians (the sweep's runs included), as in ``tuning-petsc``: one run of each is no verdict where the
  same configuration doing the same work differs by 5 % from one process to the next, and one tuner seed
  says little about the policy.

``--quick`` runs the same at 48^2 (30 steps) and 64^2 (15 steps).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from bandits import Tuner
from bandits.space import ConfigSpace, family_space
from pde_examples.drifting import DOUBLING_ANGLE, DRIFTS, drift_effect
from pde_examples.simulate_diffusion import default_arm, fixed_tuner, run_loop, warm_up

__all__ = ["run_tuning_loops", "loop_space", "tuner_space", "overhead_per_step", "fixed_order"]

RTOL = 1e-8
POLICY = "thompson"
CAP = 4.0  # a trial's solve stops at 4x the incumbent's recent cost and is finished (bandits.capping)
REPEATS = 3  # rounds of (best fixed again, a tuner of another seed, its warm-started second job) at the smaller size
GOAL_FIXED, GOAL_DEFAULT, GOAL_WARM = 1.05, 0.6, 1.02


def loop_space() -> ConfigSpace:
    """The configurations offered: CG with SA-AMG (two strength thresholds), classical AMG and IC, each
    with its reuse rules (rebuild every step, every 3 or 10 steps, or amortized), and classical AMG
    refreshed between rebuilds (every 10 steps or amortized: its interpolation kept, its coarse operators
    formed on each step's matrix, ``Config(refresh=True)``). Our SA's re-set-up is not offered refreshed:
    it forms the smoothed prolongators again and costs as much as its set-up (139 s against the default's
    150 s over the 512^2 fast loop, measured in development)."""
    return (ConfigSpace.grid("cg", "amg", amg_type="sa", strength=[0.0, 0.08], rebuild=[1, 3, 10, "amortized"])
            + ConfigSpace.grid("cg", "amg", amg_type="rs", strength=0.25, rebuild=[1, 3, 10, "amortized"])
            + ConfigSpace.grid("cg", "amg", amg_type="rs", strength=0.25, rebuild=[10, "amortized"], refresh=True)
            + ConfigSpace.grid("cg", "ic", shift=1e-3, rebuild=[1, "amortized"]))


def tuner_space() -> ConfigSpace:
    """The configurations the tuner chooses among: :func:`bandits.space.family_space` without SSOR, each
    preconditioner family of :func:`loop_space` once with the reuse rule that decides at every step from
    measured costs (``rebuild="amortized"``; classical AMG also refreshed on every reuse). Each is a
    configuration of :func:`loop_space`, so the best fixed configuration in hindsight is taken over a
    superset of the tuner's arms, the fixed reuse schedules included. (Over all sixteen, schedules as
    arms, the tuner's median over four runs at 5c14926 was 1.17-1.18x the best fixed; over these families
    at 959e4c5, 1.06-1.10x.)

    Examples
    --------
    >>> tuner_space().names == family_space().names[:5] and len(tuner_space())   # SSOR, the last, left out
    5
    >>> set(tuner_space().names) <= set(loop_space().names)
    True
    """
    return family_space(ssor=False)


def overhead_per_step(n_arms: int = 100, steps: int = 300) -> dict[str, float]:
    """The tuner's own time per step (policy choice and update, bookkeeping) with ``n_arms`` arms, on a
    tiny system so that the solves do not matter: median and 90th percentile in milliseconds."""
    space = ConfigSpace.grid("cg", "ssor", omega=list(np.linspace(0.5, 1.9, n_arms // 4)), its=[1, 2, 3, 4])
    tuner = Tuner(space=space, policy=POLICY, seed=0, rtol=RTOL)
    from pde_examples import poisson

    p = poisson((6, 6))
    for _ in range(steps):
        tuner.solve(p.A, p.b)
    ov = np.array([h["overhead"] for h in tuner.history[20:] if not h.get("fallback")]) * 1e3
    return {"arms": len(space), "median [ms]": float(np.median(ov)), "p90 [ms]": float(np.percentile(ov, 90))}


def _summary(name: str, hist: list[dict[str, Any]], stopped: bool = False) -> dict[str, Any]:
    wall = np.array([h["wall"] for h in hist])
    return {"config": name, "steps": len(hist), "total [s]": float(wall.sum()), "stopped": stopped,
            "iterations": int(sum(h["iterations"] for h in hist)), "rebuilds": int(sum(h.get("rebuilds", h["rebuilt"]) for h in hist)),
            "converged": all(h["converged"] for h in hist), "cumulative": np.cumsum(wall)}


def fixed_order(space: ConfigSpace, hist: list[dict[str, Any]] | None = None) -> list[int]:
    """The order in which the fixed configurations run: the default first (it is always run whole), then
    by the mean wall time per step that ``hist`` (a tuner's history on the same loop, over ``space`` or a
    part of it: matched by configuration name) observed for each arm, the arms it never played last. The
    order changes no result - a run is stopped only once it has cost more than a completed one - but
    cheap runs first make the expensive ones stop sooner."""
    default = default_arm(space)
    seen: dict[int, list[float]] = {}
    index = {name: i for i, name in enumerate(space.names)}
    for h in hist or []:
        if h["config"] in index:
            seen.setdefault(index[h["config"]], []).append(float(h["wall"]))
    rest = [a for a in range(len(space)) if a != default]
    return [default] + sorted(rest, key=lambda a: (a not in seen, float(np.mean(seen[a])) if a in seen else 0.0, a))


def _fixed_runs(space: ConfigSpace, n: int, steps: int, drift: str,
                hist: list[dict[str, Any]] | None = None) -> dict[int, dict[str, Any]]:
    """Every fixed configuration through the loop, in :func:`fixed_order`; early stop as in the module
    notes."""
    order = fixed_order(space, hist)
    runs: dict[int, dict[str, Any]] = {}
    best_total = np.inf
    for arm in order:
        tuner = fixed_tuner(space, arm, RTOL)
        from pde_examples.drifting import DriftingDiffusion

        sim = DriftingDiffusion(n, drift)
        hist, stopped = [], False
        for _ in tqdm(range(steps), desc=f"{n}^2 {drift}: fixed {space[arm].name}", unit="step", leave=False):
            p = sim.system()
            t0 = time.perf_counter()
            res = tuner.solve(p.A, p.b, x0=sim.u)
            hist.append({**tuner.history[-1], "wall": time.perf_counter() - t0})
            sim.advance(res.x)
            if len(hist) < steps and sum(h["wall"] for h in hist) > best_total:
                stopped = True
                break
        runs[arm] = _summary(space[arm].name, hist, stopped)
        if not stopped and runs[arm]["converged"]:  # a run with a failed solve is no candidate for the best
            best_total = min(best_total, runs[arm]["total [s]"])
    return runs


def _tuned(space: ConfigSpace, n: int, steps: int, drift: str, seed: int = 0,
           tuner: Tuner | None = None, decide: str = "step", charge: str = "step",
           try_each: bool = False) -> tuple[dict[str, Any], Tuner]:
    """The loop with a tuner (a new one over ``space``, or ``tuner``); ``try_each``: the policy tries every
    arm once, in the space's order, before it replays any (for the few families of :func:`tuner_space`)."""
    tuner = tuner or Tuner(space=space, policy=POLICY, seed=seed, rtol=RTOL, decide=decide, cap=CAP, charge=charge,
                           policy_options={"try_each": True} if try_each else None)
    with tqdm(total=steps, desc=f"{n}^2 {drift}: tuner ({POLICY}, {_variant(tuner)})", unit="step",
              leave=False) as bar:
        hist = run_loop(n, steps, drift, tuner, rtol=RTOL, progress=bar.update)
    out = _summary(f"tuner ({POLICY})", hist)
    out["history"] = hist
    out["overhead [ms/step]"] = 1e3 * float(np.mean([h["overhead"] for h in hist]))
    out["most played"] = max(set(h["config"] for h in hist), key=[h["config"] for h in hist].count)
    return out, tuner


def _variant(tuner: Tuner) -> str:
    return f"decide={tuner.stretches.decide}" + (f", charge={tuner.charge}" if tuner.charge != "step" else "")


def _next_job(tuner: Tuner, space: ConfigSpace, remap: bool = False) -> Tuner:
    """A warm start of the next job: ``tuner`` saved and loaded (no preconditioner carried over)."""
    with tempfile.TemporaryDirectory() as tmp:
        return Tuner.load(tuner.save(Path(tmp) / "tuner.json"), space=space, remap=remap)


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def _crossing(tuned: np.ndarray, default: np.ndarray) -> int | str:
    below = np.flatnonzero(tuned[: len(default)] < default[: len(tuned)])
    return int(below[0]) + 1 if below.size else "never"


def _fixed_whole(space: ConfigSpace, n: int, steps: int, drift: str, arm: int, label: str) -> dict[str, Any]:
    """Configuration ``arm`` fixed through the whole loop (never stopped early), summarized."""
    with tqdm(total=steps, desc=f"{n}^2 {drift}: {label}", unit="step", leave=False) as bar:
        hist = run_loop(n, steps, drift, fixed_tuner(space, arm, RTOL), rtol=RTOL, progress=bar.update)
    return _summary(space[arm].name, hist)


def _rounds(space: ConfigSpace, n: int, steps: int, drift: str, best_arm: int, repeats: int,
            k: int, arms: ConfigSpace | None = None) -> list[dict[str, Any]]:
    """``repeats`` rounds of: ``best_arm`` of ``space`` fixed through the whole loop again, a fresh tuner of
    seed ``round`` (1, 2, ...) over ``arms`` (default ``space``), and a second job warm-started from that
    tuner for its first ``k`` steps; each round's ``{"round", "fixed", "tuned", "warm"}`` summaries."""
    arms = space if arms is None else arms
    out = []
    for r in range(1, int(repeats) + 1):
        fixed = _fixed_whole(space, n, steps, drift, best_arm, f"round {r}, fixed {space[best_arm].name}")
        tuned, first_job = _tuned(arms, n, steps, drift, seed=r, try_each=True)
        warm, _ = _tuned(arms, n, k, drift, tuner=_next_job(first_job, arms))
        out.append({"round": r, "fixed": fixed, "tuned": tuned, "warm": warm})
    return out


def _round_row(case: str, label: str, fixed_seconds: float, run: dict[str, Any], default_seconds: float) -> dict:
    """A report row of one round's pair: the best fixed configuration's ``fixed_seconds`` against ``run`` (a
    tuner's or warm-started job's summary) over the same steps; the counts are ``run``'s."""
    seconds = run["total [s]"]
    return {"case": case, "run": f"{label}, most played {run['most played']}",
            "total [s]": f"{fixed_seconds:.1f} / {seconds:.1f}", "/ default": f"{seconds / default_seconds:.3f}",
            "/ best fixed": f"{seconds / fixed_seconds:.3f}", "iterations": run["iterations"],
            "rebuilds": run["rebuilds"], "goal": ""}


def median_verdicts(tuned: list[float], fixed: list[float], warm: list[float], fixed_first: list[float],
                    default: float) -> dict[str, float]:
    """The goals' ratios over the runs of a loop (the sweep's and the rounds'): ``"fixed"`` the median of the
    tuners' totals over the median of the best fixed configuration's, ``"default"`` the former over the
    default's total (run once), ``"warm"`` the median of the warm-started jobs' totals over the median of
    the best fixed configuration's first as many steps.

    Examples
    --------
    >>> v = median_verdicts([106.0, 101.0, 99.0], [91.0, 96.0, 93.0], [3.2, 3.0, 2.9], [2.9, 3.0, 2.8], 157.0)
    >>> round(v["fixed"], 4), round(v["default"], 4), round(v["warm"], 4)
    (1.086, 0.6433, 1.0345)
    """
    mid = float(np.median(tuned))
    return {"fixed": mid / float(np.median(fixed)), "default": mid / float(default),
            "warm": float(np.median(warm)) / float(np.median(fixed_first))}


def run_tuning_loops(quick: bool = False, out: Path | None = None,
                     repeats: int | None = None) -> tuple[list[dict], list[str]]:
    """Rows of the tuning-loops report and its notes (module docstring); ``repeats`` overrides the number of
    rounds (``REPEATS``; ``quick``: 1)."""
    n_small, steps_small, n_large, steps_large = (48, 30, 64, 15) if quick else (512, 300, 1024, 100)
    repeats = (1 if quick else REPEATS) if repeats is None else int(repeats)
    space, arms = loop_space(), tuner_space()
    warm_up(space)
    rows: list[dict[str, Any]] = []
    notes = [f"fixed configurations: {len(space)} ({', '.join(space.names)}); the tuner's arms: {len(arms)} "
             f"families with adaptive reuse ({', '.join(arms.names)}; tuner_space), each also a fixed "
             f"configuration; tuner: policy {POLICY!r} (over the families with try_each: each tried once, in "
             f"order, before any is replayed), cap {CAP:g} "
             f"(a trial stopped at {CAP:g}x the incumbent's recent cost is finished by it), cost = wall "
             f"seconds of each whole step (tuner included); rtol {RTOL:g}; drift angle per step = "
             f"{DOUBLING_ANGLE} / 20 (slow), / 5 (fast).",
             f"at {n_small}^2, after the sweep: {repeats} round(s) of the best fixed configuration run whole again, a "
             f"fresh tuner of seed {'1' if repeats == 1 else f'1 to {repeats}'} (over the families of tuner_space; the "
             f"round's number) and a second job warm-started from it; the "
             f"goals of the tuner and of the warm-started job are judged on the ratio of the medians over the "
             f"{1 + repeats} runs (the sweep's included; '/ default' over the default's one run), the other rows are "
             f"single runs. The {n_large}^2 loop is run once."]
    for drift in ("slow", "fast"):
        by = DRIFTS[drift]
        t0 = time.perf_counter()
        its = drift_effect(n_small, drift, by + 1)
        notes.append(f"drift {drift} at {n_small}^2: CG with the step-0 SA-AMG hierarchy kept needs {its[0]} "
                     f"iterations at step 0 and {its[by]} at step {by} ({its[by] / its[0]:.2f}x; the definition asks "
                     f"2x) [{time.perf_counter() - t0:.0f} s]")
        # the tuner first: its history orders the fixed runs (cheap ones first, so that the others stop sooner)
        tuned, first_job = _tuned(arms, n_small, steps_small, drift, try_each=True)
        fixed = _fixed_runs(space, n_small, steps_small, drift, hist=tuned["history"])
        default = fixed[default_arm(space)]
        complete = {a: r for a, r in fixed.items() if not r["stopped"] and r["converged"]}
        best_arm = min(complete, key=lambda a: complete[a]["total [s]"])
        best = complete[best_arm]
        case = f"{n_small}^2, {steps_small} steps, drift {drift}"
        # a warm-started second job: the first job's state saved and loaded (no preconditioner carried over)
        second = _next_job(first_job, arms)
        k = min(10, steps_small)
        warm, _ = _tuned(arms, n_small, k, drift, tuner=second)
        # beside it, a tuner over every fixed configuration (the reuse schedules as arms)
        every, _ = _tuned(space, n_small, steps_small, drift)
        # the verdict on the medians: the best fixed configuration, a tuner of another seed and its warm start
        rounds = _rounds(space, n_small, steps_small, drift, best_arm, repeats, k, arms=arms)
        fixed_totals = [best["total [s]"]] + [r["fixed"]["total [s]"] for r in rounds]
        # where the default is the best fixed configuration, the rounds re-ran it: its median, as for that goal
        default_total = float(np.median(fixed_totals)) if best_arm == default_arm(space) else default["total [s]"]
        verdict = median_verdicts([tuned["total [s]"]] + [r["tuned"]["total [s]"] for r in rounds], fixed_totals,
                                  [warm["total [s]"]] + [r["warm"]["total [s]"] for r in rounds],
                                  [best["cumulative"][k - 1]] + [r["fixed"]["cumulative"][k - 1] for r in rounds],
                                  default_total)
        runs = 1 + len(rounds)
        for arm, r in sorted(fixed.items(), key=lambda kv: kv[1]["total [s]"] if not kv[1]["stopped"] else np.inf):
            label = ("default: " if arm == default_arm(space) else "") + ("best fixed: " if arm == best_arm else "")
            rows.append({"case": case, "run": label + r["config"],
                         "total [s]": (f"> {r['total [s]']:.1f} (stopped at step {r['steps']})" if r["stopped"]
                                       else f"{r['total [s]']:.1f}"),
                         "/ default": "" if r["stopped"] else f"{r['total [s]'] / default['total [s]']:.3f}",
                         "/ best fixed": "" if r["stopped"] else f"{r['total [s]'] / best['total [s]']:.3f}",
                         "iterations": r["iterations"], "rebuilds": r["rebuilds"], "goal": ""})
        for variant, r in ((f"{len(arms)} families, adaptive reuse", tuned),
                           (f"all {len(space)} fixed configurations as arms", every)):
            crossing = f"below default from solve {_crossing(r['cumulative'], default['cumulative'])} (goal: within 100)"
            if r is tuned:  # the goals are judged on the medians over the rounds
                goal = (f"median of {runs} runs {verdict['fixed']:.3f} <= {GOAL_FIXED} best fixed "
                        f"({_met(verdict['fixed'] <= GOAL_FIXED)}), {verdict['default']:.3f} <= {GOAL_DEFAULT} default "
                        f"({_met(verdict['default'] <= GOAL_DEFAULT)}); {crossing}")
            else:
                goal = f"one run (seed 0), beside the {len(arms)}-family tuner; {crossing}"
            rows.append({"case": case, "run": f"tuner ({POLICY}, {variant}), most played {r['most played']}",
                         "total [s]": f"{r['total [s]']:.1f}",
                         "/ default": f"{r['total [s]'] / default['total [s]']:.3f}",
                         "/ best fixed": f"{r['total [s]'] / best['total [s]']:.3f}",
                         "iterations": r["iterations"], "rebuilds": r["rebuilds"], "goal": goal})
        rows.append({"case": case, "run": f"warm-started second job, first {k} steps, most played "
                     f"{warm['most played']}", "total [s]": f"{warm['total [s]']:.1f}",
                     "/ default": f"{warm['total [s]'] / default['cumulative'][k - 1]:.3f}",
                     "/ best fixed": f"{warm['total [s]'] / best['cumulative'][k - 1]:.3f}",
                     "iterations": warm["iterations"], "rebuilds": warm["rebuilds"],
                     "goal": f"median of {runs} runs {verdict['warm']:.3f} <= {GOAL_WARM} best fixed over its first "
                             f"{k} steps ({_met(verdict['warm'] <= GOAL_WARM)})"})
        for r in rounds:
            rows.append(_round_row(case, f"round {r['round']}: best fixed again, then a tuner of seed {r['round']} "
                                         "(seconds: fixed / tuned)", r["fixed"]["total [s]"], r["tuned"],
                                   default["total [s]"]))
            rows.append(_round_row(case, f"round {r['round']}: its warm-started second job, first {k} steps "
                                         "(seconds: fixed / warm)", r["fixed"]["cumulative"][k - 1], r["warm"],
                                   default["cumulative"][k - 1]))
        # the larger loop: the tuner against the default and the best fixed configuration of the smaller
        case = f"{n_large}^2, {steps_large} steps, drift {drift}"
        big = {}
        for label, arm in (("default", default_arm(space)), (f"best fixed of {n_small}^2", best_arm)):
            if label.startswith("best") and arm == default_arm(space):
                big[label] = big["default"]
                continue
            big[label] = _fixed_whole(space, n_large, steps_large, drift, arm, label)
        # the larger job warm-started from the smaller one's tuner (re-mapped: its costs scaled by the ratio of
        # entries at the first solve), as the best fixed configuration of the smaller size is carried over
        grown = _next_job(first_job, arms, remap=True)
        tuned_big, grown = _tuned(arms, n_large, steps_large, drift, tuner=grown)
        big[f"tuner ({POLICY}, {len(arms)} families) warm-started from the {n_small}^2 job (costs x{grown.cost_scale:.2f}), "
            f"most played {tuned_big['most played']}"] = tuned_big
        base, ref = big["default"]["total [s]"], big[f"best fixed of {n_small}^2"]["total [s]"]
        for label, r in big.items():
            rows.append({"case": case, "run": f"{label}: {r['config']}" if not label.startswith("tuner") else label,
                         "total [s]": f"{r['total [s]']:.1f}", "/ default": f"{r['total [s]'] / base:.3f}",
                         "/ best fixed": f"{r['total [s]'] / ref:.3f}", "iterations": r["iterations"],
                         "rebuilds": r["rebuilds"],
                         "goal": "<= 0.6 default, <= 1.05 best fixed of the smaller size" if label.startswith("tuner")
                         else ""})
        if not all(r["converged"] for r in [*fixed.values(), tuned, every, *big.values(),
                                            *(x[key] for x in rounds for key in ("fixed", "tuned", "warm"))]):
            notes.append(f"drift {drift}: some solve did not converge (see the iterations)")
    ov = overhead_per_step()
    notes.append(f"tuner overhead per step (policy choice + update + bookkeeping) with {ov['arms']} arms: median "
                 f"{ov['median [ms]']:.3f} ms, 90th percentile {ov['p90 [ms]']:.3f} ms (goal < 1 ms)")
    notes.append("'/ best fixed' in the larger loop is the ratio to the configuration that was best at the smaller "
                 "size, run at the larger one; the larger loop's tuner starts from the smaller job's saved state "
                 "(Tuner.load(..., remap=True)), as that configuration carries the smaller size's knowledge over. "
                 "The PETSc/MPI loop is not measured here.")
    return rows, notes
