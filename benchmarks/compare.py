"""Side-by-side comparison reports: ``python -m benchmarks.compare [core|all] [--quick]``.

Each table row names the problem, size, tolerance, the peer and the goal; the numbers are medians of
alternated repeats in one run, and ratios are ours / peer (below 1 means we are faster). Tables are
written as Markdown to ``benchmarks/results/<suite>.md`` with PNG plots beside them.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from solvers.table import markdown_table

from .timing import machine_description

RESULTS = Path(__file__).parent / "results"
SUITES = ("core", "amg", "krylov", "tuning", "tuning-loops", "tuning-petsc", "scaling", "gpu", "gp", "dcdm")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


#: suites that return (rows, notes): name -> (module, function, columns; None: every key of the rows)
_NOTED_SUITES = {
    "tuning": (".compare_tuning", "run_tuning", ["experiment", "policy", "T", "seeds", "mean total", "std", "/ omega=1",
                                                 "/ best fixed", "/ instance-opt", "/ inst-opt (20 arms)",
                                                 "authors (re-run)", "ours / authors", "flag", "seconds"]),
    "scaling": (".compare_scaling", "run_scaling", ["method", "unknowns", "iterations", "seconds", "peak MiB",
                                                    "converged"]),
    "gpu": (".compare_gpu", "run_gpu", None),
    "krylov": (".compare_krylov", "run_krylov", ["case", "problem", "rtol", "ours its", "peer its", "ours true relres",
                                                 "peer true relres", "ours [ms/it]", "peer [ms/it]", "ours [s]",
                                                 "peer [s]", "ratio", "goal", "peer"]),
    "amg": (".compare_amg", "run_amg", None),
    "tuning-loops": (".compare_loops", "run_tuning_loops", ["case", "run", "total [s]", "/ default", "/ best fixed",
                                                            "iterations", "rebuilds", "goal"]),
    "tuning-petsc": (".compare_petsc_loops", "run_tuning_petsc", ["case", "run", "total [s]", "/ best fixed",
                                                                   "/ gamg every step", "iterations", "rebuilds",
                                                                   "converged",
                                                                   "goal"]),
    "gp": (".compare_gp", "run_gp", ["case", "grid", "solver", "rel. L2 error", "seconds", "goal"]),
    "dcdm": (".compare_dcdm", "run_dcdm", ["case", "unknowns", "solver", "rtol", "iterations", "true rel. residual",
                                           "best reached", "matvec-eq / it", "net MFLOP / it", "work [matvec-eq]",
                                           "setup [s]", "solve [s]", "total [s]", "network", "paper's figure"]),
}

#: noted suites that take ``--repeats`` (alternated timings)
_REPEATED_SUITES = ("krylov",)


def run_suite(name: str, quick: bool, repeats: int, out: Path) -> str:
    started = time.perf_counter()
    command = f"python -m benchmarks.compare {name}" + (" --quick" if quick else "") + f" --repeats {repeats}"
    if name == "core":
        from .compare_core import COLUMNS, run_core

        rows, histories, notes = run_core(quick=quick, repeats=repeats)
        columns = COLUMNS
    else:
        if name == "gpu":
            from solvers.gpu import gpu_available

            if not gpu_available():
                return "gpu: skipped, no CUDA GPU with CuPy on this machine"
        if name == "tuning-petsc":
            from .compare_petsc_loops import petsc_available

            if not petsc_available():
                return "tuning-petsc: skipped, needs petsc4py and mpiexec (run it with .venv-petsc/bin/python)"
        module, function, columns = _NOTED_SUITES[name]
        run = getattr(importlib.import_module(module, __package__), function)
        if name in _REPEATED_SUITES:
            rows, notes = run(quick=quick, out=out, repeats=repeats)
        else:
            rows, notes = run(quick=quick, out=out)
            command = command.replace(f" --repeats {repeats}", "")
        histories = {}
        columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    extra = ""
    if name == "tuning":
        extra = ("\n\n" + notes[0] + "\n\n" + "\n".join(f"- {n}" for n in notes[1:])
                 + "".join(f"\n\n![{e}](tuning_{e}_iterations.png)" for e in ("sor-high", "sor-low", "heat")))
    # a suite may add tables of its own after the main one: (title, rows, columns) entries among its notes
    sections = [n for n in notes if isinstance(n, tuple)]
    notes = [n for n in notes if not isinstance(n, tuple)]
    if name in ("core", "gpu", "gp", "dcdm", "krylov", "amg", "tuning-loops", "tuning-petsc"):
        extra = "\n\n" + "\n".join(f"- {n}" for n in notes)
    extra += "".join(f"\n\n## {title}\n\n{markdown_table(srows, scols)}" for title, srows, scols in sections)
    if name == "scaling":
        extra = "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n\n![scaling](scaling.png)"
    how = "" if name in ("tuning", "tuning-loops", "tuning-petsc", "scaling", "gpu", "gp", "dcdm", "krylov", "amg") else f"; medians of {repeats} alternated runs; ratio = ours / peer"
    text = (f"# {name}\n\n{markdown_table(rows, columns)}{extra}\n\nMachine: {machine_description()}. "
            f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with `{command}` "
            f"({time.perf_counter() - started:.0f} s){how}.\n")
    _write_atomic(out / f"{name}.md", text)
    if histories:
        try:
            from solvers.plotting import plot_residuals

            plot_residuals(histories, out / f"{name}_residuals.png", title=f"{name}: residual histories")
        except ImportError:
            pass
    return text


PREAMBLE = """# Performance

Generated by `python -m benchmarks.compare all` from the reports in `benchmarks/results/`; each section
names the machine and the exact command that produced it. Never edit the numbers by hand.

What the numbers mean:
- **core**: our `solve()` against SciPy and PyAMG on the same matrix in the same run, alternating the
  contenders (A B A B ...) and taking medians. `ratio` = ours / peer: below 1 we are faster. `its` are
  iteration counts to the same relative residual on the true residual. Each CPU kernel is also held to
  this machine's memory-bandwidth floor, measured in the same run (see below): `MB/it`, `floor [ms/it]`,
  `ours / floor`, `peer / floor`.
- **krylov**: our bicgstab, gmres and minres against SciPy's on real and complex systems (time per
  iteration in the same run, `ratio` = ours / SciPy), and complex Helmholtz at 10 points per wavelength:
  GMRES/BiCGStab with the shifted-Laplacian preconditioner against SciPy's GMRES with ILU.
- **tuning**: total iterations over a whole sequence of systems (the paper's SOR and heat experiments),
  for every tuner policy, next to omega = 1, the best fixed omega (96-point grid) and the instance-optimal
  choice as the authors compute them (continuous: Young's omega from the exact Jacobi radius for SOR, a
  golden-section search for the heat problem), the 20-arm versions beside them, and next to a re-run of
  the authors' learners, every row outside 5% of it flagged.
- **tuning-loops**: tuning whole solver configurations (and when to rebuild the preconditioner) in the
  drifting diffusion loop, from wall-clock costs: the tuner (over the preconditioner families, each with a
  reuse rule that decides per step) against every fixed configuration (reuse schedules included) run
  through the same loop, the default (CG + SA-AMG rebuilt every step), a tuner with every fixed
  configuration as an arm, and a warm-started second job; the tuner's and
  the warm start's goals judged on the medians over that run and rounds of the best fixed configuration
  again, a tuner of another seed and its warm-started job.
- **tuning-petsc**: the same loop inside PETSc under `mpiexec -n 2` (`examples/petsc/config_tuner_loop.py
  --compare`): `KSPTuner` over the PETSc preconditioner families (each kept until amortized), and beside it
  one over every configuration, against every configuration fixed (reuse schedules included).
- **gp**: the Gaussian-process PDE solver (ours, plain Adam on our loss, and the authors' method) against an SE-kernel GP, finite
  differences and Chebyshev collocation: relative L2 error on a 300 (300 x 300) test grid and wall time.
- **dcdm**: the deep conjugate-direction solver (the paper's and our FCG variant, with a symmetric
  Gauss-Seidel smoother and the identity in the network's slot as ablations) against CG, IC-PCG and
  AMG-PCG on fluid pressure problems, to a true residual of 1e-4 (the authors') and 1e-6 of ||r0||, with
  the work per iteration in matrix-vector products and network FLOPs; stagnation shown as such.
- **amg**: our smoothed-aggregation AMG (`implementation="solverkit"`) against PyAMG's, set-up, CG
  iterations to 1e-8, set-up + solve and peak traced memory on the same matrices in one run.
- **scaling**: set-up plus solve time and peak traced memory (tracemalloc) against the number of unknowns,
  with the fitted exponent.

The Machine line under each table gives how long the suite took in that run (seconds, in parentheses).

## The bandwidth floor, and why a ratio to SciPy depends on the machine

A sparse iteration does about one multiply-add for every 12 bytes it loads (an 8-byte value and a 4-byte
column index per stored entry), far below what a core can compute: its speed is set by how many bytes it
must move through memory. `benchmarks.compare core` therefore measures, in the same process and run:

- the **bandwidth**: a STREAM triad `a = b + s c` in a threaded numba kernel, on three arrays that
  together take 4 times the last-level cache (at least 256 MiB), best of 10, before and after the timings (the better counts; both are printed with the
  load average, as other work on the machine lowers them). Threaded, because our kernels are threaded numba
  loops and one NumPy thread does not draw a multi-core machine's full bandwidth (`benchmarks/bandwidth.py`);
- the **bytes per iteration** (`MB/it`) each kernel must move, counted pass by pass as our kernels make them,
  with the matrices' real index size (int32 or int64) and value type (`benchmarks/traffic.py`): for CG the
  CSR mat-vec (row pointers, column indices, values, `p` read, `Ap` written) plus the fused vector updates;
  for SOR the true-residual pass over A, the lower-triangular sweep and `x += z`; for AMG-PCG an estimate
  from the hierarchy's levels (smoothing sweeps, residual, restriction, prolongation).

`floor [ms/it]` = bytes / bandwidth is the time no implementation of these passes can beat once the data
no longer fits in cache; `ours / floor` and `peer / floor` say how far each contender is from it. Near 1
means memory-bound at this machine's limit; a kernel whose working set fits in the last-level cache can
come in below 1 (the notes give the working set and the cache size); a sequential sweep (SOR) runs at one
core's bandwidth, so it sits above 1 on a machine where one core cannot draw the whole bandwidth.

**Compare `ours / floor` across machines, not `ratio`.** A ratio to SciPy or PyAMG is measured on one
machine, and how much our fewer, fused and threaded passes over memory save depends on that machine: its
bandwidth, its caches and how much of the bandwidth one core can draw. On another 2-core machine,
`compare core` gave CG 9.8 ms per iteration against SciPy's 10.7 (ratio 0.92), where the run on the
development machine that this page showed before gave 4.08 against 7.97 (ratio 0.51). Both sat at that
machine's bandwidth floor, where the ratio says little about either implementation. The floor columns
say what each would do anywhere: how close to the memory limit of the machine it ran on.
"""


def write_docs(out: Path, docs: Path = DOCS) -> Path:
    """Collect the suite reports into ``docs/performance.md`` (image links rewritten to the results folder)."""
    rel = Path("..") / out.resolve().relative_to(docs.parent.parent.resolve()) if out.resolve().is_relative_to(
        docs.parent.parent.resolve()) else out.resolve()
    parts = [PREAMBLE]
    for suite in SUITES:
        report = out / f"{suite}.md"
        if report.exists():
            text = report.read_text().replace("](", f"]({rel.as_posix()}/").replace("# ", "## ", 1)
            parts.append(text)
    _write_atomic(docs, "\n".join(parts))
    return docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=(*SUITES, "all"), nargs="?", default="all")
    parser.add_argument("--quick", action="store_true", help="smaller problems, a few minutes in all")
    parser.add_argument("--repeats", type=int, default=None, help="alternated repeats (default 3, quick 2)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 3)
    suites = [s for s in SUITES if s != "gpu"] if args.suite == "all" else [args.suite]  # gpu: on a GPU machine
    for suite in suites:
        print(run_suite(suite, args.quick, repeats, args.out))
    if args.out.resolve() == RESULTS.resolve():
        print(f"docs: {write_docs(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
