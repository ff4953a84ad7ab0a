"""Exception classes of solverkit.

A failure to converge is never an exception: it is a :class:`solvers.Reason` on the result. Exceptions
are for input that cannot be solved as given, components that do not exist, and missing extras.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["SolverError", "InvalidInputError", "UnknownComponentError", "MissingDependencyError"]


class SolverError(Exception):
    """Base class of every error solverkit raises on purpose."""


class InvalidInputError(SolverError, ValueError):
    """Shapes, dtypes, NaN/Inf, empty systems, out-of-range options: input that cannot be solved as given."""


class UnknownComponentError(SolverError, KeyError):
    """A name that is not in the registry; the message suggests the closest registered names.

    Examples
    --------
    >>> err = UnknownComponentError("method", "gmers", ["cg", "gmres", "sor"])
    >>> "gmres" in str(err)
    True
    >>> "Did you mean 'cg'" in str(UnknownComponentError("method", "CG", ["cg", "gmres", "sor"]))
    True
    """

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        # case-blind: "CG" or "ILU" suggest "cg" and "ilu" (names are registered in lower case)
        lower = {k.lower(): k for k in known}
        close = [lower[c] for c in difflib.get_close_matches(str(name).lower(), list(lower), n=3, cutoff=0.5)]
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        self.kind, self.name, self.known = kind, name, known
        msg = f"unknown {kind} {name!r}.{hint} Known: {', '.join(known) or '(none)'}."
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


class MissingDependencyError(SolverError, ImportError):
    """A component whose optional dependency is not installed; the message names the extra to install."""

    def __init__(self, component: str, extra: str, missing: str):
        self.component, self.extra, self.missing = component, extra, missing
        super().__init__(
            f"{component!r} needs the Python package {missing!r}, which is not installed. "
            f"Install it with: pip install 'solverkit[{extra}]'"
        )
