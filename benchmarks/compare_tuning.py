"""``python -m benchmarks.compare tuning``: the paper's two experiments, every policy, several seeds.

Comparators as the authors compute them (:mod:`bandits.comparators`): the instance-optimal policy is
continuous (Young's omega from the exact Jacobi radius for SOR, a golden-section search per instance for
the heat experiment) and the best fixed omega is the best of the 96-point grid ``linspace(1, 1.95, 96)``.
The 20-arm versions (best of the policies' own arms) are reported beside them.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bandits.comparators import FINE_OMEGAS, instance_optimal
from bandits.evaluation import full_information_table, run_policy
from bandits.tuner import DEFAULT_OMEGAS
from pde_examples.sequences import heat_sequence, shifted_laplacian_sequence

__all__ = ["run_tuning", "against_authors", "seeds_note", "AUTHORS_RERUN", "AGREEMENT", "AUTHORS_SEEDS", "NOTE"]

#: totals over 5000 instances from a re-run of the authors' learners and comparators, quoted in issue #3
#: (not figures printed in the paper, which shows these experiments as plots only). Their best fixed and
#: instance-optimal figures are the 20-arm comparators (1.80, 1.65 and 1.40 are arms; 295K/216K/24.2K
#: match our per-instance minimum over the 20 arms, not the continuous instance-optimal).
AUTHORS_RERUN = {
    "sor-high": {"omega = 1": 3.08e6, "best fixed (20 arms)": 518e3, "instance-optimal (20 arms)": 295e3,
                 "tsallis-inf": 595e3, "chebcb": 337e3},
    "sor-low": {"omega = 1": 1.35e6, "best fixed (20 arms)": 294e3, "instance-optimal (20 arms)": 216e3,
                "tsallis-inf": 333e3, "chebcb": 234e3},
    "heat": {"omega = 1": 32.8e3, "best fixed (20 arms)": 29.4e3, "instance-optimal (20 arms)": 24.2e3,
             "tsallis-inf": 33.1e3, "chebcb": 25.1e3},
}
#: the agreement with the authors' learners the suite claims (issue #3): a row outside it is flagged
AGREEMENT = 0.05
POLICY_ORDER = ["young", "chebcb", "binned-tsallis-inf", "tsallis-inf", "exp3", "epsilon-greedy", "ucb"]
#: why a flagged row differs, where we know; shown under the table
EXPLANATIONS = {
    ("heat", "tsallis-inf"): (
        "heat / tsallis-inf is outside 5% of the authors' re-run, on the good side (fewer iterations). The "
        "instances agree (omega = 1 and the 20-arm comparators match to 0.1%), so the difference lies in the "
        "learner's trajectory, not the problems; it is far outside our seed spread. Checked so far (issue #3): "
        "the SSOR factor order of the authors' MATLAB preconditioner changes no count. Known protocol "
        "differences: the authors' learner warm-starts from its own previous iterate (we warm-start every "
        "policy from the exact trajectory) and h2d.m averages 3 trials; the authors' TsallisINF.m samples from the "
        "unnormalized probabilities of its last Newton step and divides by mean(losses) - 1 unguarded (zero if every "
        "solve so far took one iteration, as the heat sequence's first step does at omega = 1), where ours "
        "normalizes and guards. The cause is not identified."),
}
NOTE = (
    "Totals are iterations over all instances (means over seeds). Comparators, as the authors define them "
    "(mkhodak/learning-to-relax): **instance-optimal (continuous)** is, for SOR, Young's omega "
    "2 / (1 + sqrt(1 - mu^2)) with mu the exact spectral radius of the Jacobi matrix of each instance "
    "(solvers/omega_opt.m, scripts/contextual.m); for the heat experiment, a golden-section search per "
    "instance seeded with the counts at omega = 1, 1.3, 1.5, 1.75, 1.95 and stopped after 12 evaluations, "
    "then one solve at the midpoint of the queries that reached the smallest count (utils/golden_section.m, "
    "scripts/h2d.m); that solve's count is the one totalled. **best fixed (96-point grid)** is the best single "
    "omega on linspace(1, 1.95, 96) (scripts/h2d.m), found from a full-information table of those 96 omegas "
    "(the authors pick it for the heat experiment from golden-section samples interpolated onto that grid, "
    "which can only do as well or worse; their SOR scripts use a 0.01-step grid too, comparators.m). The "
    "ratio columns '/ best fixed' and '/ instance-opt' are against these two; '/ inst-opt (20 arms)' is "
    "against the per-instance minimum over the 20 arms on linspace(1, 1.95, 20), shown with the 20-arm best "
    "fixed for comparison. A continuous instance-optimal above the 20-arm one means Young's asymptotic "
    "optimum (or the 12-evaluation search) is not the count-optimal omega at this tolerance. "
    "'authors (re-run)' is a re-run of the authors' learners and comparators quoted in issue #3, not figures "
    "printed in the paper (the paper shows these experiments as plots only; we found no printed totals); "
    f"'flag' marks every row more than {AGREEMENT:.0%} from it. seconds: one pass of the policy (tuner "
    "overhead and solves included), or the time to compute a comparator.")


def against_authors(experiment: str, policy: str, total: float, T: int = 5000) -> tuple[float | None, float | None, str]:
    """``(authors' total, ours / authors, flag)`` for one row; the flag is empty within :data:`AGREEMENT`.

    Examples
    --------
    >>> authors, ratio, flag = against_authors("heat", "chebcb", 25131.0)
    >>> authors, round(ratio, 4), flag
    (25100.0, 1.0012, '')
    >>> against_authors("heat", "tsallis-inf", 30773.0)[2]
    'outside 5% (see note)'
    >>> against_authors("heat", "young", 24415.0), against_authors("heat", "chebcb", 5218.0, T=1000)
    ((None, None, ''), (None, None, ''))
    """
    authors = AUTHORS_RERUN.get(experiment, {}).get(policy) if T == 5000 else None
    if not authors:
        return None, None, ""
    ratio = total / authors
    if abs(ratio - 1.0) <= AGREEMENT:
        return authors, ratio, ""
    return authors, ratio, "outside 5%" + (" (see note)" if (experiment, policy) in EXPLANATIONS else " (not explained)")


def _experiment(name: str, T: int, seed: int):
    if name == "heat":
        problems = list(heat_sequence(T))
        return problems, "cg", "ssor", problems[0].meta["context_range"]
    variant = name.split("-")[1]
    return list(shifted_laplacian_sequence(T, variant, seed=seed)), "sor", None, (-0.15, 0.65)


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


#: the number of seeds the authors average over (mkhodak/learning-to-relax)
AUTHORS_SEEDS = 40


def seeds_note(seeds: int, seconds: float, once: float) -> str:
    """What the authors' 40 seeds would cost, from this run: ``seconds`` in all for ``seeds`` seeds, of which
    ``once`` (the heat experiment's comparators, the same instances for every seed) is not repeated.

    Examples
    --------
    >>> seeds_note(3, 2595.0, 681.0)[:69]
    'The authors average over 40 seeds; this run took 2595 s for 3 seeds o'
    """
    per_seed = (seconds - once) / max(seeds, 1)
    estimate = once + AUTHORS_SEEDS * per_seed
    return (f"The authors average over {AUTHORS_SEEDS} seeds; this run took {seconds:.0f} s for {seeds} seeds on this "
            f"machine ({per_seed:.0f} s per seed, {once:.0f} s once), so {AUTHORS_SEEDS} seeds would take about "
            f"{estimate / 3600:.1f} h: more than the suite's budget, hence {seeds} (run_tuning(seeds=N) runs N).")


def run_tuning(quick: bool = False, seeds: int | None = None, out: Path | None = None) -> tuple[list[dict], list[str]]:
    """Rows of the tuning report and its notes (the first note explains the comparators)."""
    T = 1000 if quick else 5000
    seeds = seeds or (1 if quick else 3)
    fine = np.asarray(FINE_OMEGAS)
    arms = np.asarray(DEFAULT_OMEGAS)
    arm_columns = [int(np.flatnonzero(fine == w)[0]) for w in arms]  # the 20 arms are points of the fine grid
    rows, notes, flagged = [], [NOTE], []
    t_start, once = time.perf_counter(), 0.0  # once: the seconds spent on what does not repeat per seed
    for exp in ("sor-high", "sor-low", "heat"):
        totals: dict[str, list[float]] = {}
        seconds: dict[str, list[float]] = {}
        heat_cache = None
        for seed in range(seeds):
            problems, method, pc, crange = _experiment(exp, T, seed)
            if exp == "heat" and heat_cache is not None:
                table, continuous = heat_cache  # the heat instances do not depend on the seed; only the policies do
            else:
                table, s = _timed(full_information_table, problems, method=method, pc=pc, values=FINE_OMEGAS)
                seconds.setdefault("full-information table (96 omegas)", []).append(s)
                (_, continuous), s = _timed(instance_optimal, problems, method=method, pc=pc)
                seconds.setdefault("instance-optimal (continuous)", []).append(s)
                if exp == "heat":
                    heat_cache = table, continuous
                    once += seconds["full-information table (96 omegas)"][-1] + s
            table20 = table[:, arm_columns]
            fixed, fixed20 = table.sum(axis=0), table20.sum(axis=0)
            for key, v in (("omega = 1", fixed20[0]), ("best fixed (96-point grid)", fixed.min()),
                           ("best fixed (20 arms)", fixed20.min()),
                           ("instance-optimal (continuous)", continuous.sum()),
                           ("instance-optimal (20 arms)", table20.min(axis=1).sum())):
                totals.setdefault(key, []).append(float(v))
            notes.append(f"{exp}, seed {seed}: best fixed omega = {fine[int(np.argmin(fixed))]:.2f} on the 96-point "
                         f"grid, {arms[int(np.argmin(fixed20))]:.2f} on the 20 arms")
            runs = []
            for name in POLICY_ORDER:
                run = run_policy(problems, name, method=method, pc=pc, seed=seed, context_range=crange)
                totals.setdefault(name, []).append(run.total)
                seconds.setdefault(name, []).append(run.seconds)
                runs.append(run)
            if out is not None and seed == 0:
                try:
                    from bandits.plots import plot_tuning

                    plot_tuning(runs[:4], table20, DEFAULT_OMEGAS, out, f"tuning_{exp}", f"{exp}, T = {T}")
                except ImportError:
                    pass
        ref = {k: float(np.mean(totals[k])) for k in ("omega = 1", "best fixed (96-point grid)",
                                                       "instance-optimal (continuous)", "instance-optimal (20 arms)")}
        for name, vals in totals.items():
            mean = float(np.mean(vals))
            authors, ratio, flag = against_authors(exp, name, mean, T)
            if flag:
                flagged.append((exp, name))
            rows.append({"experiment": exp, "policy": name, "T": T, "seeds": len(vals), "mean total": mean,
                         "std": float(np.std(vals)), "/ omega=1": mean / ref["omega = 1"],
                         "/ best fixed": mean / ref["best fixed (96-point grid)"],
                         "/ instance-opt": mean / ref["instance-optimal (continuous)"],
                         "/ inst-opt (20 arms)": mean / ref["instance-optimal (20 arms)"],
                         "authors (re-run)": authors, "ours / authors": ratio, "flag": flag,
                         "seconds": float(np.mean(seconds[name])) if name in seconds else None})
        for name in ("full-information table (96 omegas)",):
            rows.append({"experiment": exp, "policy": name, "T": T, "seconds": float(np.mean(seconds[name]))})
    notes.append(seeds_note(seeds, time.perf_counter() - t_start, once))
    notes += [EXPLANATIONS[k] for k in flagged if k in EXPLANATIONS]
    notes += [f"{e} / {n} is outside 5% of the authors' re-run; not explained yet." for e, n in flagged
              if (e, n) not in EXPLANATIONS]
    return rows, notes
