"""``solverkit simulate diffusion``: the drifting diffusion loop with a tuner over whole solver
configurations (preconditioner reuse included), against the default configuration, with a report and
plots."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from solvers.table import markdown_table

from .drifting import DriftingDiffusion
from .report import write_report

__all__ = ["run_loop", "run_diffusion", "DEFAULT_CONFIG"]

#: the configuration a user would write without a tuner: CG with PyAMG's smoothed aggregation, rebuilt
#: every step
DEFAULT_CONFIG = {"method": "cg", "pc": "amg", "amg_type": "sa", "rebuild": 1}


def run_loop(n: int, steps: int, drift: str | float, tuner: Any, *, seed: int = 0, rtol: float = 1e-8,
             progress: Callable[[], Any] | None = None) -> list[dict[str, Any]]:
    """Run ``steps`` steps of :class:`~pde_examples.drifting.DriftingDiffusion` with ``tuner`` (a
    :class:`bandits.Tuner` over a configuration space) and return one record per step: the history entry
    of the configuration the policy chose, with the wall seconds of the whole step (tuner included) in
    ``"wall"``; where another configuration finished a step that one left unconverged, ``"converged"``
    and ``"relres"`` are the finish's, ``"iterations"`` and ``"rebuilt"`` count both solves and
    ``"finished_by"`` names the finisher (else ``None``); ``"rebuilds"`` counts the step's builds.

    Examples
    --------
    >>> from bandits import Tuner
    >>> from bandits.space import ConfigSpace
    >>> tuner = Tuner(space=ConfigSpace.grid("cg", "amg", rebuild=[1, 4]), policy="thompson", seed=0)
    >>> hist = run_loop(24, 6, "fast", tuner)
    >>> len(hist), all(h["converged"] for h in hist)
    (6, True)
    """
    sim = DriftingDiffusion(n, drift, seed=seed)
    out = []
    for _ in range(int(steps)):
        p = sim.system()
        before = len(tuner.history)
        t0 = time.perf_counter()
        res = tuner.solve(p.A, p.b, x0=sim.u)
        wall = time.perf_counter() - t0
        sim.advance(res.x)
        chosen, *finish = tuner.history[before:]
        out.append({**chosen, "wall": wall, "relres": res.relative_residual,
                    "converged": bool(res.converged), "finished_by": finish[-1]["config"] if finish else None,
                    "iterations": sum(h["iterations"] for h in tuner.history[before:]),
                    "rebuilt": any(h["rebuilt"] for h in tuner.history[before:]),
                    "rebuilds": sum(bool(h["rebuilt"]) for h in tuner.history[before:])})
        if progress is not None:
            progress()
    return out


def fixed_tuner(space: Any, arm: int, rtol: float = 1e-8) -> Any:
    """A tuner that always plays ``arm`` (a fixed configuration run through the same code path)."""
    from bandits import Tuner

    return Tuner(space=space, policy="fixed", policy_options={"arm": int(arm)}, rtol=rtol)


def warm_up(space: Any) -> None:
    """Solve one small system with every method and preconditioner of ``space`` once, so that compiled
    kernels (numba) and imports are not charged to the first steps of whichever run comes first."""
    import solvers

    p = DriftingDiffusion(16, 0.0).system()
    for c in space:
        solvers.solve(p.A, p.b, **c.solve_options())


def default_arm(space: Any) -> int:
    """The arm of :data:`DEFAULT_CONFIG` in ``space`` (added by :func:`space_with_default` if absent)."""
    for i, c in enumerate(space):
        if (c.method, c.pc, c.options.get("amg_type"), c.rebuild) == ("cg", "amg", "sa", 1) and \
                float(c.options.get("strength", 0.0)) == 0.0 and len(c.options) <= 2:
            return i
    raise ValueError("the space has no default configuration (cg + SA-AMG rebuilt every step)")


def run_diffusion(args: Any) -> int:
    """The ``simulate diffusion`` command: the tuned loop, the default configuration's loop, the report."""
    from tqdm import tqdm

    from bandits import Tuner
    from bandits.space import family_space, spd_space
    from solvers import InvalidInputError

    size, steps = args.size, args.steps or 100
    if size < 8 or steps < 1:
        raise InvalidInputError("--size must be >= 8 and --steps >= 1")
    policy = args.policies.split(",")[0].strip() if args.policies_given else "thompson"
    offered = dict(ssor=args.with_ssor, refresh=not getattr(args, "no_refresh", False))
    every = spd_space(**offered)  # the default configuration (the baseline) is one of these
    space = every if getattr(args, "space", "families") == "all" else family_space(**offered)
    label = f"drifting-diffusion {size}^2 drift={args.drift}"
    remap = getattr(args, "remap", False)
    if remap and args.warm_start is None:
        raise InvalidInputError("--remap re-maps a --warm-start file; give one")
    if args.warm_start is not None and Path(args.warm_start).exists():
        try:
            tuner = Tuner.load(args.warm_start, space=space, problem_signature=label, remap=remap)
        except InvalidInputError as exc:
            message = str(exc).replace("pass remap=True", "pass --remap")
            if "saved for another configuration space" in message:
                message += "; give the --space, --with-ssor and --no-refresh the file was saved with"
            raise InvalidInputError(message) from exc
    else:
        # over the few families Thompson sampling tries each once before it replays any (bandits.policies.thompson)
        try_each = space is not every and policy == "thompson"
        tuner = Tuner(space=space, policy=policy, seed=args.seed, problem_signature=label, rtol=1e-8,
                      decide=args.decide, charge=getattr(args, "charge", "step"),
                      policy_options={"try_each": True} if try_each else None)
    warm_up(space)
    runs = {}
    with tqdm(total=steps, desc=f"simulate diffusion {size}^2 ({tuner.policy_name})", unit="step") as bar:
        runs[f"tuner ({tuner.policy_name})"] = run_loop(size, steps, args.drift, tuner, seed=args.seed,
                                                        progress=bar.update)
    if tuner.cost_scale != 1.0:
        print(f"warm start re-mapped from {args.warm_start}: the learned costs scaled by {tuner.cost_scale:.3g} "
              "(ratio of matrix entries) at the first step", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    saved = tuner.save(args.out / "diffusion_tuner.json")
    if args.baseline:
        with tqdm(total=steps, desc="default: cg + SA-AMG rebuilt every step", unit="step") as bar:
            runs["default"] = run_loop(size, steps, args.drift, fixed_tuner(every, default_arm(every)),
                                       seed=args.seed, progress=bar.update)
    report = _write_report(args, runs, saved)
    print(report)
    return 0 if all(h["converged"] for hist in runs.values() for h in hist) else 1


def summary_rows(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per run: total wall seconds, ratio to the default, iterations, rebuilds, overhead."""
    base = sum(h["wall"] for h in runs["default"]) if "default" in runs else None
    rows = []
    for name, hist in runs.items():
        wall = np.array([h["wall"] for h in hist])
        total = float(wall.sum())
        row = {"run": name, "wall [s]": round(total, 2), "/ default": "" if base is None else round(total / base, 3),
               "iterations": int(sum(h["iterations"] for h in hist)),
               "rebuilds": int(sum(h.get("rebuilds", h["rebuilt"]) for h in hist)),
               "tuner overhead [ms/step]": round(1e3 * float(np.mean([h["overhead"] for h in hist])), 3),
               "most played": max(set(h["config"] for h in hist), key=[h["config"] for h in hist].count)}
        if base is not None and name != "default":
            cum, cum_base = np.cumsum(wall), np.cumsum([h["wall"] for h in runs["default"]])
            below = np.flatnonzero(cum[: len(cum_base)] < cum_base[: len(cum)])
            row["below default from step"] = int(below[0]) if below.size else "never"
        rows.append(row)
    return rows


def _write_report(args: Any, runs: dict[str, list[dict[str, Any]]], saved: Path) -> str:
    out: Path = args.out
    rows = summary_rows(runs)
    title = f"drifting diffusion {args.size}^2, implicit Euler, drift {args.drift}, {args.steps or 100} steps"
    text = [f"# {title}", "", markdown_table(rows, list(dict.fromkeys(k for r in rows for k in r))), "",
            "wall: seconds of each whole step (the tuner's choice, set-up, solve and bookkeeping), summed. "
            "default: CG with PyAMG's smoothed-aggregation AMG rebuilt every step. rebuilds: steps on which "
            "the preconditioner was set up (the others kept one built on an earlier matrix).",
            f"\nTuner state (for a warm start: `--warm-start {saved}`): `{saved}`"]
    cmd = (f"solverkit simulate diffusion --size {args.size} --steps {args.steps or 100} --drift {args.drift} "
           f"--space {getattr(args, 'space', 'families')}")
    return write_report(out, "diffusion", text, lambda: plot_loop(runs, out, title), cmd)


def plot_loop(runs: dict[str, list[dict[str, Any]]], out: Path, title: str) -> list[Path]:
    """Cumulative wall time against the step for every run, and the tuner's configuration and
    preconditioner age per step."""
    from bandits.plots import _pyplot, _save

    plt = _pyplot()
    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, hist in runs.items():
        ax.plot(np.cumsum([h["wall"] for h in hist]), label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("cumulative wall time [s]")
    ax.set_title(title, fontsize=9)
    ax.legend()
    paths.append(_save(fig, out / "diffusion_wall.png"))
    plt.close(fig)
    tuned = next((h for name, h in runs.items() if name != "default"), None)
    if tuned is not None:
        names = sorted(set(h["config"] for h in tuned))
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
        a1.scatter(range(len(tuned)), [names.index(h["config"]) for h in tuned], s=6,
                   c=["tab:red" if h["rebuilt"] else "tab:blue" for h in tuned])
        a1.set_yticks(range(len(names)))
        a1.set_yticklabels(names, fontsize=6)
        a1.set_title("configuration per step (red: preconditioner rebuilt)", fontsize=9)
        a2.plot([h["pc_age"] for h in tuned], label="pc age [steps]")
        a2.plot([h["iterations"] for h in tuned], label="iterations")
        a2.set_xlabel("step")
        a2.legend()
        fig.tight_layout()
        paths.append(_save(fig, out / "diffusion_configs.png"))
        plt.close(fig)
    return paths
