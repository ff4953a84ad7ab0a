"""The ``solverkit`` command line: ``list``, ``solve`` and ``demo``; other sub-commands are plug-ins
(entry-point group ``solverkit.commands``: a function ``register(subparsers)`` that adds a parser whose
``func`` default runs it)."""
from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points
from typing import Any

from . import registry
from .errors import SolverError
from .table import markdown_table

__all__ = ["main", "build_parser"]

log = logging.getLogger("solverkit")


def _cmd_list(args: argparse.Namespace) -> int:
    rows = registry.available(args.kind, options=args.options)
    for row in rows:
        row["backends"] = ", ".join(row["backends"]) or "-"
    print(markdown_table(rows, ["name", "kind", "backends", "status"]))
    if args.options:
        for row in rows:
            if row["options"]:
                print(f"\n{row['kind']} {row['name']}:\n")
                print(markdown_table(row["options"], ["name", "type", "default", "allowed", "doc"]))
    return 0


def _add_list(sub: Any) -> None:
    p = sub.add_parser("list", help="show every registered component and whether it is ready")
    p.add_argument("--kind", choices=list(registry.KINDS), help="only this kind")
    p.add_argument("-v", "--options", action="store_true",
                   help="also print each component's options: type, default, allowed values")
    p.set_defaults(func=_cmd_list)


def _add_solve(sub: Any) -> None:
    from .commands.solve_file import add_arguments, run

    p = sub.add_parser("solve", help="solve a Matrix Market system and report how it went")
    add_arguments(p)
    p.set_defaults(func=run)


def _add_demo(sub: Any) -> None:
    from .commands.demo import add_arguments, run

    p = sub.add_parser("demo", help="compare every applicable method on a 2-D variable-coefficient diffusion problem")
    add_arguments(p)
    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    """The ``solverkit`` argument parser: the core's ``list``, ``solve`` and ``demo`` and every sub-command
    registered under the entry-point group ``solverkit.commands``."""
    parser = argparse.ArgumentParser(prog="solverkit", description="Linear and PDE solvers behind one solve().")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_list(sub)
    _add_solve(sub)
    _add_demo(sub)
    for ep in entry_points(group="solverkit.commands"):
        try:
            ep.load()(sub)
        except ImportError as exc:  # a plug-in whose dependencies are missing still shows why
            msg = f"unavailable: {exc}"
            p = sub.add_parser(ep.name, help=msg)
            p.set_defaults(func=lambda args, _m=msg: _unavailable(_m))
    return parser


def _unavailable(msg: str) -> int:
    print(f"solverkit: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run ``solverkit`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (SolverError, OSError) as exc:
        print(f"solverkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
