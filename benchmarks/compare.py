"""Side-by-side comparison reports: ``python -m benchmarks.compare [core|all] [--quick]``.

Each table row names the problem, size, tolerance, the peer and the goal; the numbers are medians of
alternated repeats in one run, and ratios are ours / peer (below 1 means we are faster). Tables are
written as Markdown to ``benchmarks/results/<suite>.md`` with PNG plots beside them.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from solvers.table import markdown_table

from .timing import machine_description

RESULTS = Path(__file__).parent / "results"
SUITES = ("core", "tuning")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def run_suite(name: str, quick: bool, repeats: int, out: Path) -> str:
    command = f"python -m benchmarks.compare {name}" + (" --quick" if quick else "") + f" --repeats {repeats}"
    if name == "core":
        from .compare_core import run_core

        rows, histories = run_core(quick=quick, repeats=repeats)
        columns = ["case", "problem", "rtol", "ours its", "peer its", "ours [ms/it]", "peer [ms/it]", "ours [s]",
                   "peer [s]", "ratio", "goal", "peer"]
    elif name == "tuning":
        from .compare_tuning import run_tuning

        rows, notes = run_tuning(quick=quick, out=out)
        histories = {}
        columns = ["experiment", "policy", "T", "seeds", "mean total", "std", "/ omega=1", "/ best fixed",
                   "/ instance-opt", "paper", "ours / paper", "seconds"]
        command = command.replace(f" --repeats {repeats}", "")
    else:  # pragma: no cover - argparse restricts the choices
        raise ValueError(name)
    extra = ""
    if name == "tuning":
        extra = ("\n\nTotals are iterations over all instances (means over seeds); omega = 1, best fixed and "
                 "instance-optimal come from the full-information table of the 20 omegas on linspace(1, 1.95, 20). "
                 "'paper' is the re-run of the authors' learners quoted in issue #3. seconds: one pass of the "
                 "policy (tuner overhead and solves included).\n\n" + "\n".join(f"- {n}" for n in notes)
                 + "".join(f"\n\n![{e}](tuning_{e}_iterations.png)" for e in ("sor-high", "sor-low", "heat")))
    how = "" if name == "tuning" else f"; medians of {repeats} alternated runs; ratio = ours / peer"
    text = (f"# {name}\n\n{markdown_table(rows, columns)}{extra}\n\nMachine: {machine_description()}. "
            f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with `{command}`{how}.\n")
    _write_atomic(out / f"{name}.md", text)
    if histories:
        try:
            from solvers.plotting import plot_residuals

            plot_residuals(histories, out / f"{name}_residuals.png", title=f"{name}: residual histories")
        except ImportError:
            pass
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=(*SUITES, "all"), nargs="?", default="all")
    parser.add_argument("--quick", action="store_true", help="smaller problems, a few minutes in all")
    parser.add_argument("--repeats", type=int, default=None, help="alternated repeats (default 3, quick 2)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 3)
    for suite in SUITES if args.suite == "all" else (args.suite,):
        print(run_suite(suite, args.quick, repeats, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
