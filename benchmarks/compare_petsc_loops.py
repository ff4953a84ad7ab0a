"""``python -m benchmarks.compare tuning-petsc``: the PETSc goal of issue 19, measured by one command.

For each drift rate ("slow", "fast") it runs ``examples/petsc/config_tuner_loop.py --compare`` under
``mpiexec -n 2`` on the drifting diffusion loop at 512^2 for 300 steps (``--quick``: 48^2, 30 steps):
every arm of ``bandits.petsc_space.petsc_spd_space()`` fixed through the whole loop (an arm whose time
passes that of the best complete one so far is stopped there; one with a solve that did not converge is
no candidate for the best), then a ``KSPTuner`` (Thompson sampling, ``decide="step"``, ``charge="step"``, a kept PC's set-up share
taken as paid in the draws: ``sunk_setup=True``, the program's default; KSPTuner's default ``cap``)
over each space in ``SPACES`` on the same instances: the preconditioner families each kept until amortized
(``petsc_family_space()``, each tried once before any is replayed), and beside it every configuration of
the sweep as an arm; then the best fixed arm and a fresh tuner over each space (other seeds) in turn
``REPEATS`` more times (``--quick``: once), and the verdict is the ratio of the medians, as one run of each
lies inside this machine's noise; the goal is judged on the first space listed (the families). The program's exit status and standard error are checked
(a failed or noisy run raises, and no report is written); its ``FIXED``/``RESULT``/``REPEAT``/``COMPARE`` lines,
printed in the same run, are the rows. Run it with the interpreter of ``.venv-petsc`` (``make
venv-petsc``): ``.venv-petsc/bin/python -m benchmarks.compare tuning-petsc``; elsewhere it is skipped.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["run_tuning_petsc", "petsc_available", "parse_lines", "PROGRAM", "RANKS"]

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = "examples/petsc/config_tuner_loop.py"
RANKS = 2
#: the issue's goal for the PETSc loop: tuned total over the best fixed arm's
GOAL = 1.05
#: extra alternated runs of the best fixed arm and the tuners after the sweep (the full preset)
REPEATS = 4
#: the tuners' spaces (the program's ``--space``): the families, judged against the goal, and every
#: configuration of the sweep as an arm beside it
SPACES = ("families", "all")


def petsc_available() -> bool:
    """Whether this interpreter has petsc4py and an ``mpiexec`` is on the path."""
    try:
        import petsc4py  # noqa: F401
    except ImportError:
        return False
    return shutil.which("mpiexec") is not None


def parse_lines(stdout: str, tag: str) -> list[dict[str, str]]:
    """The ``key=value`` fields of every line of ``stdout`` that starts with ``tag`` (values hold no spaces).

    Examples
    --------
    >>> parse_lines("FIXED arm=0 name=cg+gamg(t=0.0)/rebuild=1 total_seconds=1.5\\nother", "FIXED")
    [{'arm': '0', 'name': 'cg+gamg(t=0.0)/rebuild=1', 'total_seconds': '1.5'}]
    """
    return [dict(re.findall(r"(\w+)=(\S+)", line)) for line in stdout.splitlines() if line.startswith(tag + " ")]


def _run_program(size: int, steps: int, drift: str, timeout: float, repeats: int = 0,
                 spaces: tuple[str, ...] = ("families",)) -> str:
    """One ``--compare`` run under ``mpiexec``; its standard output, after checking that it ended cleanly."""
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [shutil.which("mpiexec") or "mpiexec", "-n", str(RANKS), sys.executable, PROGRAM, "--size", str(size),
           "--steps", str(steps), "--drift", drift, "--compare", "--repeats", str(repeats), "--space", ",".join(spaces)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    noise = [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode != 0 or noise:
        raise RuntimeError(f"{' '.join(cmd[3:])} ended with exit status {proc.returncode}; stderr:\n"
                           + "\n".join(noise[-30:]))
    return proc.stdout


def _rows(case: str, stdout: str) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[dict[str, str]]]:
    """The report's rows for one drift, and the program's RESULT and COMPARE lines (one per tuner space)."""
    fixed = parse_lines(stdout, "FIXED")
    # the best fixed arm ran the whole loop and converged at every step (the program's own rule too)
    complete = [f for f in fixed if f["abandoned"] == "0" and f["converged"] == "1"]
    best = min(complete, key=lambda f: float(f["total_seconds"]))
    every_step = fixed[0]  # arm 0: CG + GAMG set up on every matrix, what a PETSc program does unless told
    base, ref = float(every_step["total_seconds"]), float(best["total_seconds"])
    rows = []
    for f in sorted(fixed, key=lambda f: (f["abandoned"] == "1" or f["converged"] != "1", float(f["total_seconds"]))):
        stopped, failed = f["abandoned"] == "1", f["converged"] != "1"
        seconds = float(f["total_seconds"])
        label = ("best fixed: " if f is best else "") + ("every step: " if f is every_step else "")
        rows.append({"case": case, "run": label + f["name"],
                     "total [s]": f"> {seconds:.4g} (stopped at step {f['steps_run']})" if stopped else f"{seconds:.4g}",
                     "/ best fixed": "" if stopped or failed else f"{seconds / ref:.3f}",
                     "/ gamg every step": "" if stopped or failed else f"{seconds / base:.3f}",
                     "iterations": f["total_its"], "rebuilds": f["rebuilds"], "converged": "yes" if f["converged"] == "1" else "NO", "goal": ""})
    results, compares, repeats = parse_lines(stdout, "RESULT"), parse_lines(stdout, "COMPARE"), parse_lines(stdout, "REPEAT")
    by_space = {c["space"]: c for c in compares}
    for i, tuned in enumerate(results):
        space = tuned["space"]
        compare = by_space[space]
        mine = [r for r in repeats if r["space"] == space]
        seconds, verdict = float(tuned["total_seconds"]), float(compare["median_ratio"])
        agree = tuned["ranks_agree"] == "1" and all(r["ranks_agree"] == "1" for r in mine)
        verdict_text = f"median of {1 + len(mine)} runs {verdict:.3f}"
        rows.append({"case": case, "run": f"KSPTuner over {_SPACE_LABEL.get(space, space)} ({tuned['arms']} arms; "
                                          f"thompson, charge={tuned['charge']}, cap={_cap_text(tuned)}), most played {tuned['most_played_name']}",
                     "total [s]": f"{seconds:.4g}", "/ best fixed": f"{seconds / ref:.3f}",
                     "/ gamg every step": f"{seconds / base:.3f}", "iterations": tuned["total_its"],
                     "rebuilds": tuned["rebuilds"],
                     "converged": "yes" if tuned["converged"] == "1" else "NO",
                     # the goal is judged on the first space run (SPACES: the families); the others beside it
                     "goal": (f"{verdict_text} <= {GOAL} best fixed ({'met' if verdict <= GOAL else 'missed'}); "
                              f"ranks agree ({'yes' if agree else 'NO'}); clean exit (yes)") if i == 0 else
                             f"{verdict_text} best fixed (beside the goal); ranks agree ({'yes' if agree else 'NO'})"})
    for r in repeats:
        rows.append({"case": case, "run": f"round {r['round']}: {best['name']} again, then a tuner of seed "
                                          f"{r['round']} over {_SPACE_LABEL.get(r['space'], r['space'])} "
                                          "(seconds: fixed / tuned)",
                     "total [s]": f"{float(r['fixed_seconds']):.4g} / {float(r['tuned_seconds']):.4g}",
                     "/ best fixed": f"{float(r['tuned_seconds']) / float(r['fixed_seconds']):.3f}",
                     "/ gamg every step": "", "iterations": "", "rebuilds": "",
                     "converged": " / ".join("yes" if r[k] == "1" else "NO" for k in ("fixed_converged", "tuned_converged")),
                     "goal": ""})
    return rows, results, compares


def _cap_text(result: dict[str, str]) -> str:
    """A RESULT line's ``cap`` as the report writes it: the ratio, or ``none`` (the program prints 0).

    >>> _cap_text({"cap": "2"}), _cap_text({"cap": "0"})
    ('2', 'none')
    """
    cap = float(result["cap"])  # a line without it is from another program version: fail, do not guess
    return f"{cap:g}" if cap else "none"


#: the report's words for the program's ``--space`` values
_SPACE_LABEL = {"families": "the families", "all": "every configuration"}


def run_tuning_petsc(quick: bool = False, out: Path | None = None, size: int | None = None,
                     steps: int | None = None, drifts: tuple[str, ...] = ("slow", "fast"),
                     timeout: float = 4 * 3600.0, repeats: int | None = None,
                     spaces: tuple[str, ...] = SPACES) -> tuple[list[dict], list[str]]:
    """Rows of the PETSc tuning-loop report and its notes; ``size``/``steps``/``repeats`` override the preset
    (512^2, 300 steps, 4 repeats; ``quick`` 48^2, 30 steps, 1 repeat); ``spaces``: a tuner over each of the
    program's ``--space`` values after the sweep and in each round (the goal is judged on the first)."""
    import petsc4py

    size = size or (48 if quick else 512)
    steps = steps or (30 if quick else 300)
    repeats = (1 if quick else REPEATS) if repeats is None else int(repeats)
    rows: list[dict[str, Any]] = []
    notes = [f"`mpiexec -n {RANKS} python {PROGRAM} --size {size} --steps {steps} --drift DRIFT --compare "
             f"--repeats {repeats} --space {','.join(spaces)}` for each "
             "drift, run by this suite; exit status 0 and an empty standard error checked. Each arm of "
             "`petsc_spd_space()` runs fixed through the whole loop (in arm order; an arm stops once its time "
             "passes that of the best complete one so far), then a KSPTuner over each space (`families`: "
             "`petsc_family_space()`, one arm per preconditioner family kept until amortized, each tried once, in the "
             "space's order, before any is replayed; `all`: every configuration of the sweep; both with "
             "`sunk_setup=True`: a configuration whose PC is kept for the next step is drawn without the set-up share "
             "already paid, and KSPTuner's default cap: a solve of any arm but the incumbent is stopped once it has "
             "taken `cap` times the incumbent's cost per step and the incumbent finishes the step); seconds are the "
             "wall time of each "
             "whole step (options, KSPSetUp, KSPSolve; the tuner's own time in its run), the slowest rank's, summed; "
             f"then {repeats} rounds of the best fixed arm again and a fresh tuner over each space (seeds 1..{repeats}), "
             "alternated, and the goal is judged on the ratio of the medians (the sweep's runs included) of the "
             f"tuner over {_SPACE_LABEL.get(spaces[0], spaces[0])}; "
             "an arm with converged NO had a solve that stopped short of the tolerance (e.g. DIVERGED_INDEFINITE_PC) "
             "and is no candidate for the best fixed arm, its ratios are left out. "
             "rtol 1e-8 on the unpreconditioned residual, initial guess the previous state, OMP_NUM_THREADS=1; "
             f"petsc4py {petsc4py.__version__}."]
    for drift in drifts:
        stdout = _run_program(size, steps, drift, timeout, repeats, spaces)
        case = f"{size}^2, {steps} steps, drift {drift}, {RANKS} ranks"
        drift_rows, results, compares = _rows(case, stdout)
        rows += drift_rows
        for tuned in results:
            compare = next(c for c in compares if c["space"] == tuned["space"])
            notes.append(f"drift {drift}, tuner over {_SPACE_LABEL.get(tuned['space'], tuned['space'])}: it played "
                         f"{tuned['distinct_arms']} distinct arms of {tuned['arms']}, most often {tuned['most_played_name']}; its cheapest "
                         f"arm on average was {tuned['best']}; worst relative residual "
                         f"{float(tuned['worst_relres']):.1e}; COMPARE ratio {float(compare['ratio']):.3f} (first runs), "
                         f"{float(compare['median_ratio']):.3f} (medians of {compare['rounds']}) against "
                         f"{compare['best_fixed']}.")
    return rows, notes
